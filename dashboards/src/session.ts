import { useEffect } from 'preact/hooks';
import type { SiteInfo } from '../../collector/api/dashboard-types.ts';
import type { Location } from './router.ts';

export interface Session {
  /** Who is logged in; null when the API is used with a token that names no person. */
  /** `allSites`: false for a user limited to some sites (those the session lists). */
  user: { name: string; role: 'admin' | 'marketing' | 'sales'; allSites: boolean } | null;
  sites: SiteInfo[];
  frameworks: Record<string, readonly string[]>;
  /** Who may own a lead (the sales and admins who log in): the owner fields suggest them (OWNERS_LIST). */
  owners: string[];
}

/** The id of the list of owners the owner fields suggest, drawn once by the app. */
export const OWNERS_LIST = 'hearth-owners';

/** What every page gets: who is looking, the chosen site, and the URL's parameters. */
export interface PageProps {
  session: Session;
  site: SiteInfo;
  location: Location;
}

// The same rules as the API's (docs/access.md): everyone reads and exports; sales and admins qualify and see alerts.
export const canQualify = (session: Session) => session.user?.role !== 'marketing';
export const canSeeAlerts = canQualify;
/** What a role that may not see alerts is told where they would be. */
export const ALERTS_NOT_SHOWN = 'Alerts are shown to sales and admins.';

/** Sets the document title, which is what a screen reader announces after a page change. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Hearth`;
  }, [title]);
}
