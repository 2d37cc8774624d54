// What the embedding page told the snippet, read once from its own script tag by readConfig(), before anything else
// runs. Module-level bindings rather than an object: bundled into one scope, they minify to single letters (the
// snippet has a size budget).

/** `data-site`: the site id from the collector's config. */
export let site: string | null | undefined;
/** Where batches are posted: `/collect` on the origin of `data-api`, else of the script's own URL (fetch and sendBeacon
 * take a URL as it is). */
export let endpoint: URL;
/** `data-hash`: the app routes by `#/path`, so the hash is part of the page. */
export let hashRouting: boolean;
/** `data-consent="required"`: send nothing (and store nothing) until `hearth('consent', 'granted')`. */
export let consentRequired: boolean;
/** Global Privacy Control and Do-Not-Track are honoured unless `data-respect-dnt="false"`. */
export let respectDnt: boolean;
/** `data-cookie-domain`: share the visitor id across subdomains, e.g. ".acme.com". */
export let cookieDomain: string | null | undefined;

/** Reads the snippet's script tag; returns the site id, none when no tag has a `data-site`. */
export function readConfig(): string | null | undefined {
  const script = (document.currentScript || document.querySelector('script[data-site]')) as HTMLScriptElement | null;
  const attr = (name: string) => script?.getAttribute('data-' + name);
  site = attr('site');
  if (site) {
    endpoint = new URL('/collect', attr('api') || script!.src);
    hashRouting = attr('hash') != null;
    consentRequired = attr('consent') == 'required';
    respectDnt = attr('respect-dnt') != 'false';
    cookieDomain = attr('cookie-domain');
  }
  return site;
}
