import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseBatch } from '../../../collector/ingest/wire.ts';
import { withoutEmails } from '../../../scoring/alerts/dispatcher.ts';

// A receiver's answer is logged with its addresses masked (a CRM's "contact X already exists"): every address the
// collector takes, however odd its characters, is masked whole.
describe('the addresses of a logged delivery error', () => {
  const odd = ["pat.o'@acme-corp.example", 'jane.doe{crm}@acme-corp.example', "o'brien+crm@acme-corp.example", 'a`b|c~d#e$f%g&h*i/j=k?l^m!@acme.example', 'josé.müller@exämple.de'];

  it('are the ones /collect takes', () => {
    const parsed = parseBatch({ s: 'acme', v: 'visitor-0001', e: odd.map((em) => ({ i: randomUUID(), n: 'i', t: 1_780_000_000_000, u: 'https://www.acme.test/', em })) });
    expect(parsed.ok && parsed.batch.e.map((e) => e.em)).toEqual(odd);
  });

  it('are masked whole, in plain text and in a JSON answer', () => {
    for (const email of odd) {
      expect(withoutEmails(`contact ${email} already exists`)).toBe('contact [email] already exists');
      expect(withoutEmails(JSON.stringify({ message: `contact ${email} already exists`, upper: email.toUpperCase() }))).toBe('{"message":"contact [email] already exists","upper":"[email]"}');
      expect(withoutEmails(`550 <${email}>: no such user`)).toBe('550 <[email]>: no such user');
    }
  });
});
