// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { publicUrl } from '../../../collector/config/public-url.ts';
import { leadPageUrl } from '../../../scoring/alerts/config.ts';

// The address hearth start prints (dashboard, login, snippet) and alerts link to, whether the collector sends them or
// `hearth score` records them.
describe('publicUrl', () => {
  it('is where a browser on this machine opens a collector listening on every address', () => {
    expect(publicUrl({}, 'http://[::]:8787')).toBe('http://localhost:8787');
    expect(publicUrl({}, 'http://0.0.0.0:8787')).toBe('http://localhost:8787');
    expect(publicUrl({}, 'http://[::1]:8787')).toBe('http://localhost:8787');
    expect(leadPageUrl(publicUrl({}, 'http://[::]:8787'), 'acme', 'l_1')).toBe('http://localhost:8787/dashboard/leads/l_1?site=acme');
  });

  it('is the listen address itself otherwise', () => {
    expect(publicUrl({}, 'http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787');
    expect(publicUrl({}, 'http://[2001:db8::1]:8787')).toBe('http://[2001:db8::1]:8787');
    expect(publicUrl({}, 'http://10.0.0.5:9000')).toBe('http://10.0.0.5:9000');
  });

  it("is the dashboardUrl a reverse proxy answers at, with or without its root's slash", () => {
    expect(publicUrl({ dashboardUrl: 'https://hearth.acme.com' }, 'http://127.0.0.1:8787')).toBe('https://hearth.acme.com');
    expect(publicUrl({ dashboardUrl: 'https://hearth.acme.com/' }, 'http://[::]:8787')).toBe('https://hearth.acme.com');
  });
});
