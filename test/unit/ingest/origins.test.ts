import { describe, expect, it } from 'vitest';
import { originMatcher, sharedOrigins } from '../../../collector/ingest/origins.ts';

// What /collect compares a browser's Origin header with: a configured origin matches the header as browsers send it.
describe('a configured origin', () => {
  it('matches its own scheme, host and port, in any case, and nothing else', () => {
    const allowed = originMatcher(['https://www.acme.com', 'http://localhost:*', 'https://*.acme.io:8443']);
    expect(['https://www.acme.com', 'https://WWW.acme.com', 'http://localhost', 'http://localhost:3000', 'https://app.eu.acme.io:8443'].filter(allowed)).toHaveLength(5);
    expect(['http://www.acme.com', 'https://acme.com', 'https://www.acme.com.evil.test', 'https://acme.io:8443', 'https://app.acme.io', 'null'].filter(allowed)).toEqual([]);
  });

  it('written with its default port matches the header, which never has it', () => {
    const allowed = originMatcher(['https://acme.com:443', 'http://www.acme.com:80', 'https://eu.acme.com:80']);
    expect(['https://acme.com', 'http://www.acme.com', 'https://eu.acme.com:80'].filter(allowed)).toHaveLength(3);
    expect(['https://acme.com:443', 'https://eu.acme.com'].filter(allowed)).toEqual([]);
  });

  it('with an internationalised domain matches the ASCII form browsers send, however it was written', () => {
    for (const configured of ['https://bücher.de', 'https://BÜCHER.de', 'https://xn--bcher-kva.de', 'https://*.bücher.de']) {
      const allowed = originMatcher([configured]);
      const header = configured.includes('*') ? 'https://shop.xn--bcher-kva.de' : 'https://xn--bcher-kva.de';
      expect(allowed(header), configured).toBe(true);
    }
  });

  it('with an IPv6 address matches the header, which writes the address shortest and in lower case', () => {
    const allowed = originMatcher(['http://[::1]:8080', 'https://[2001:DB8:0:0::1]', 'http://[fd00::a]:*']);
    expect(['http://[::1]:8080', 'https://[2001:db8::1]', 'http://[fd00::a]', 'http://[fd00::a]:3000'].filter(allowed)).toHaveLength(4);
    expect(['http://[::1]', 'http://[::1]:9', 'http://[::2]:8080', 'https://[2001:db8::1]:8443', 'http://[fd00::a0]'].filter(allowed)).toEqual([]);
  });
});

describe('origins two sites both allow', () => {
  it('names each with its sites: one listed twice, one another site takes by a wildcard, the same wildcard twice', () => {
    const sites = [
      { id: 'client00', origins: ['https://www.client00.example'] },
      // A copy-paste of client00's origin.
      { id: 'client01', origins: ['https://www.client01.example', 'https://www.client00.example'] },
      { id: 'client20', origins: ['https://*.agency.example'] },
      { id: 'client21', origins: ['https://*.agency.example'] },
      { id: 'client22', origins: ['https://shop.agency.example'] },
      { id: 'client23', origins: ['http://localhost:*'] },
    ];
    expect(sharedOrigins(sites)).toEqual([
      { origin: 'https://www.client00.example', sites: ['client00', 'client01'] },
      { origin: 'https://*.agency.example', sites: ['client20', 'client21'] },
      { origin: 'https://shop.agency.example', sites: ['client20', 'client21', 'client22'] },
    ]);
    expect(sharedOrigins(sites.slice(0, 1))).toEqual([]);
  });
});
