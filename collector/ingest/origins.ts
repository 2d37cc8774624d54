/** Compiles configured origins ("https://www.acme.com", "http://localhost:*", "https://*.acme.com") into one matcher. */
export function originMatcher(patterns: readonly string[]): (origin: string) => boolean {
  const regexes = patterns.map((pattern) => {
    const [, scheme, host, port] = /^(https?):\/\/([^:]+)(?::(\d+|\*))?$/i.exec(pattern) ?? [];
    const hostRe = escape(host ?? '').replace(/^\\\*\\\./, '(?:[a-z0-9-]+\\.)+');
    const portRe = port === '*' ? '(?::\\d+)?' : port ? `:${port}` : '';
    return new RegExp(`^${scheme}://${hostRe}${portRe}$`, 'i');
  });
  return (origin) => regexes.some((re) => re.test(origin));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
