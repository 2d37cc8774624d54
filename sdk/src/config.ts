/** What the embedding page told the snippet, read once from its own script tag. */
export interface SnippetConfig {
  site: string;
  /** Where batches are posted: `data-api`, else the origin the script was loaded from. */
  endpoint: string;
}

export function readConfig(doc: Document): SnippetConfig | undefined {
  const script = (doc.currentScript || doc.querySelector('script[data-site]')) as HTMLScriptElement | null;
  const site = script && script.getAttribute('data-site');
  if (!script || !site) return;
  const api = script.getAttribute('data-api') || new URL(script.src, location.href).origin;
  return { site, endpoint: api.replace(/\/$/, '') + '/collect' };
}
