import type { Alert } from './alert.ts';
import type { AlertRoute, AlertsConfig, Destination, EmailDestination } from './config.ts';
import { sameOwner } from '../labels.ts';

/**
 * Which destinations of a site get an alert. No routes: every destination. Otherwise every route whose conditions
 * all hold (signal, owner, country) adds its destinations; fallback routes are the catch-all for leads outside every
 * territory and owner: they count only when no route naming countries or owners matched. A route for every lead
 * (a CRM's) or for some signals says nothing of who handles the lead, so it does not take the fallback's place.
 */
export function routeAlert(alert: Alert, alerts: AlertsConfig): Destination[] {
  if (alerts.routes.length === 0) return alerts.destinations;
  const matching = alerts.routes.filter((route) => !route.fallback && routeMatches(route, alert));
  const handled = matching.some((route) => route.countries !== undefined || route.owners !== undefined);
  const chosen = handled ? matching : [...matching, ...alerts.routes.filter((route) => route.fallback && routeMatches(route, alert))];
  const ids = new Set(chosen.flatMap((route) => route.destinations));
  return alerts.destinations.filter((destination) => ids.has(destination.id));
}

function routeMatches(route: AlertRoute, alert: Alert): boolean {
  const owner = alert.lead.owner;
  return (
    (!route.signals || route.signals.includes(alert.signal)) &&
    (!route.owners || (owner.trim() !== '' && route.owners.some((candidate) => sameOwner(candidate, owner)))) &&
    (!route.countries || route.countries.includes(alert.lead.country.toUpperCase()))
  );
}

const EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;

/** An email destination's recipients: the lead's owner when "owner" is listed and the owner is an address, else the listed addresses. */
export function emailRecipients(destination: EmailDestination, alert: Alert): string[] {
  const owner = alert.lead.owner.trim();
  if (destination.to.includes('owner') && EMAIL.test(owner)) return [owner];
  return destination.to.filter((to) => to !== 'owner');
}
