import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../../sdk/src/config.ts';

function embed(attributes: Record<string, string>) {
  const script = document.createElement('script');
  for (const [name, value] of Object.entries(attributes)) script.setAttribute(name, value);
  document.head.append(script);
}

describe('config from the script tag', () => {
  afterEach(() => document.head.replaceChildren());

  it('posts to the origin the script was loaded from', () => {
    embed({ src: 'https://hearth.acme.com/hearth.js', 'data-site': 'acme' });
    expect(readConfig(document)).toEqual({ site: 'acme', endpoint: 'https://hearth.acme.com/collect' });
  });

  it('posts to data-api when it is set', () => {
    embed({ src: 'https://cdn.acme.com/hearth.js', 'data-site': 'acme', 'data-api': 'https://t.acme.com/' });
    expect(readConfig(document)).toEqual({ site: 'acme', endpoint: 'https://t.acme.com/collect' });
  });

  it('does nothing without data-site', () => {
    embed({ src: 'https://hearth.acme.com/hearth.js' });
    expect(readConfig(document)).toBeUndefined();
  });
});
