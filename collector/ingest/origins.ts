import { domainToASCII } from 'node:url';
import { isIP } from 'node:net';

/**
 * Compiles configured origins ("https://www.acme.com", "http://localhost:*", "https://*.acme.com") into one matcher.
 * Each is compared as browsers send an Origin header: a default port is left out ("https://acme.com:443" is
 * "https://acme.com"), and an internationalised domain is in its ASCII form ("https://bücher.de" is
 * "https://xn--bcher-kva.de").
 */
export function originMatcher(patterns: readonly string[]): (origin: string) => boolean {
  const regexes = patterns.map((pattern) => {
    const [, scheme = '', host = '', port] = ORIGIN.exec(pattern) ?? [];
    const wildcard = host.startsWith('*.');
    const name = hostName(host);
    const hostRe = (wildcard ? '(?:[a-z0-9-]+\\.)+' : '') + escape(name);
    const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
    const portRe = port === '*' ? '(?::\\d+)?' : port && Number(port) !== Number(defaultPort) ? `:${Number(port)}` : '';
    return new RegExp(`^${scheme}://${hostRe}${portRe}$`, 'i');
  });
  return (origin) => regexes.some((re) => re.test(origin));
}

/** An origin as configured: scheme, host (`*.` for any subdomain, or an IPv6 address in brackets), and `:port` or `:*` for any port. */
const ORIGIN = /^(https?):\/\/(\[[0-9a-f:.]+\]|[^:/[\]]+)(?::(\d+|\*))?$/i;

/**
 * A configured host (`*.` aside) as a browser sends it in an Origin header, or '' when it has no such form (an invalid
 * Punycode label, an IPv6 address that is none). An IPv6 address is written as the URL standard serialises it
 * (`[::1]`, not `[0:0:0:0:0:0:0:1]`), as browsers do.
 */
const hostName = (host: string) => (host.startsWith('[') ? ipv6Host(host) : domainToASCII(host.startsWith('*.') ? host.slice(2) : host));

function ipv6Host(host: string): string {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return '';
  }
}

const hostOf = (origin: string) => ORIGIN.exec(origin)?.[2] ?? '';

/** A host of digits and dots: an IPv4 address to a browser, never a domain name. */
const looksIpv4 = (host: string) => /^\d[\d.]*$/.test(host);

/** Whether a configured origin's IPv4 address, when it gives one, is an address (four numbers from 0 to 255). */
export const hasValidIpv4 = (origin: string) => !looksIpv4(hostOf(origin)) || isIP(hostOf(origin)) === 4;

/** Whether a configured origin's domain has the ASCII form a browser would send (hostName). */
export const hasAsciiHost = (origin: string) => hostOf(origin).startsWith('[') || looksIpv4(hostOf(origin)) || hostName(hostOf(origin)) !== '';

/** Whether a configured origin's IPv6 address, when it gives one, is an address. */
export const hasValidIpv6 = (origin: string) => !hostOf(origin).startsWith('[') || hostName(hostOf(origin)) !== '';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether a configured origin's port, when it gives one, is one a browser can send: from 1 to 65535. */
export const hasValidPort = (origin: string) => {
  const port = ORIGIN.exec(origin)?.[3];
  return port === undefined || port === '*' || (Number(port) >= 1 && Number(port) <= 65_535);
};

/** Whether a configured origin's host is made of labels a browser can send: none empty, none with a hyphen at an end. */
export const hasValidLabels = (origin: string) => {
  const host = hostName(hostOf(origin));
  return host.startsWith('[') || host.split('.').every((label) => /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i.test(label));
};

/**
 * The origins two sites both allow: one a site lists as it is (no `*`) that another's patterns take too. A page there
 * may send to either site (the beacon's site id decides), which a config copied from one site to the next does without
 * anyone meaning it. Wildcards that only overlap each other (`https://*.a.test` twice) are said by their own pattern.
 */
export function sharedOrigins(sites: readonly { id: string; origins: readonly string[] }[]): { origin: string; sites: string[] }[] {
  const matchers = sites.map((site) => ({ id: site.id, origins: site.origins, takes: originMatcher(site.origins) }));
  const shared = new Map<string, Set<string>>();
  for (const site of sites) {
    for (const origin of site.origins) {
      const takers = matchers.filter((other) => other.id !== site.id && (other.takes(origin) || other.origins.includes(origin)));
      if (takers.length === 0) continue;
      const key = origin.toLowerCase();
      const named = shared.get(key) ?? new Set([site.id]);
      for (const taker of takers) named.add(taker.id);
      shared.set(key, named);
    }
  }
  return [...shared].map(([origin, named]) => ({ origin, sites: [...named].sort() }));
}
