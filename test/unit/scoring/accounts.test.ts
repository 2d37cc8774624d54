// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { accountKeyOf, freeMailOf, scoreAccounts, type AccountMember } from '../../../scoring/accounts.ts';
import { seniorityOf } from '../../../scoring/normalize.ts';
import { defaultRules } from '../../../scoring/rules.ts';

const THRESHOLDS = { warm: 30, hot: 60 };
const member = (email: string, score: number, seniority: AccountMember['seniority'], company = ''): AccountMember => ({
  lead_id: `l_${email}`,
  kind: 'lead',
  email,
  score,
  temperature: score > 60 ? 'hot' : score >= 30 ? 'warm' : 'cold',
  seniority,
  profile: company ? { company } : {},
});

describe('accounts', () => {
  it('keeps one lead, however keen, from making its account hot: a lead counts up to the hot mark', () => {
    // An intern who read everything: 155 points.
    const [intern] = scoreAccounts([member('intern@initech.test', 155, 'student')], THRESHOLDS);
    expect(intern).toMatchObject({ leads: 1, score: 36, temperature: 'warm' });
    // Nor with a colleague who barely looked.
    const [pair] = scoreAccounts([member('intern@initech.test', 155, 'student'), member('dev@initech.test', 5, 'student')], THRESHOLDS);
    expect(pair).toMatchObject({ leads: 2, score: 39, temperature: 'warm' });
    // Nor with colleagues of other roles who only left their title (cold): their roles are not looking.
    const [crowd] = scoreAccounts(
      [member('intern@initech.test', 155, 'student'), member('dev@initech.test', 0, 'individual'), member('pm@initech.test', 20, 'manager')],
      THRESHOLDS,
    );
    expect(crowd).toMatchObject({ leads: 3, score: 46, temperature: 'warm' });
    // Nor two keen interns: students alone stop at the hot mark.
    const [interns] = scoreAccounts([member('intern@initech.test', 65, 'student'), member('stagiaire@initech.test', 65, 'student')], THRESHOLDS);
    expect(interns).toMatchObject({ leads: 2, score: 60, temperature: 'warm', personas: ['student'] });
    // With a buyer looking as well, the account is hot.
    const [withBuyer] = scoreAccounts([member('intern@initech.test', 65, 'student'), member('cto@initech.test', 65, 'c_level')], THRESHOLDS);
    expect(withBuyer).toMatchObject({ score: 76, temperature: 'hot' });
    // Nor one intern under three addresses of one mailbox, the others with no title (QA: they made the account hot).
    const [tagged] = scoreAccounts(
      [member('intern@initech.test', 65, 'student'), member('intern+1@initech.test', 70, ''), member('Intern+webinar@initech.test', 66, '')],
      THRESHOLDS,
    );
    expect(tagged).toMatchObject({ leads: 3, score: 36, temperature: 'warm' });
    expect(tagged!.topLeads.map((lead) => lead.email)).toEqual(['intern+1@initech.test']);
    // German, Spanish, Portuguese and Italian interns are students too.
    const [praktikanten] = scoreAccounts([member('p1@contoso.test', 65, seniorityOf('Praktikant')!), member('p2@contoso.test', 65, seniorityOf('Werkstudent')!)], THRESHOLDS);
    expect(praktikanten).toMatchObject({ score: 60, temperature: 'warm', personas: ['student'] });
  });

  it('counts a lead sales disqualified among its account\'s leads, but not in its score, roles or best leads', () => {
    const leads = [member('ceo@hooli.test', 70, 'c_level'), member('analyst@hooli.test', 90, 'individual'), member('ops@hooli.test', 10, 'manager')];
    const [before] = scoreAccounts(leads, THRESHOLDS);
    // The cold manager's role is listed, and not counted.
    expect(before).toMatchObject({ leads: 3, score: 78, temperature: 'hot', personas: ['c_level', 'individual', 'manager'], countedPersonas: ['c_level', 'individual'] });
    // The keen analyst works for a competitor: the account is a CEO alone again.
    const [after] = scoreAccounts(leads, THRESHOLDS, new Set(['l_analyst@hooli.test']));
    expect(after).toMatchObject({ leads: 3, score: 41, temperature: 'warm', personas: ['c_level', 'manager'], countedPersonas: ['c_level'] });
    expect(after!.topLeads.map((lead) => lead.email)).toEqual(['ceo@hooli.test', 'ops@hooli.test']);
    // An account of disqualified leads alone is still listed, with nothing to its name.
    const [gone] = scoreAccounts([member('analyst@hooli.test', 90, 'individual')], THRESHOLDS, new Set(['l_analyst@hooli.test']));
    expect(gone).toMatchObject({ id: 'hooli.test', leads: 1, score: 0, temperature: 'cold', personas: [], topLeads: [] });
  });

  it('makes an account hot when two people of it are engaged, more so from different roles', () => {
    // 60 % of 60 (the CEO counts up to the hot mark) + 50 % of 45 + 10 for a second role = 68.5.
    const [roles] = scoreAccounts([member('ceo@hooli.test', 70, 'c_level'), member('ops@hooli.test', 45, 'manager')], THRESHOLDS);
    expect(roles).toMatchObject({ score: 69, temperature: 'hot', personas: ['c_level', 'manager'], countedPersonas: ['c_level', 'manager'] });
    const [peers] = scoreAccounts([member('a@hooli.test', 80, 'individual'), member('b@hooli.test', 65, 'individual')], THRESHOLDS);
    expect(peers).toMatchObject({ score: 66, temperature: 'hot' });
  });

  it('ranks accounts of equal scores by their best leads, however far past the hot mark they are', () => {
    const team = (domain: string, scores: number[]) =>
      scores.map((score, i) => member(`${['ceo', 'vp', 'ops', 'dev'][i]}@${domain}`, score, (['c_level', 'vp_director', 'manager', 'individual'] as const)[i]!));
    // Three hot leads of four roles looking: 60 % + 50 % + 20 % of the hot mark, plus 30, for each.
    const accounts = scoreAccounts([...team('aaa.test', [70, 65, 62, 40]), ...team('zzz.test', [150, 140, 130, 40]), ...team('mmm.test', [90, 85, 80, 40])], THRESHOLDS);
    expect(accounts.map((account) => [account.id, account.score])).toEqual([
      ['zzz.test', 108],
      ['mmm.test', 108],
      ['aaa.test', 108],
    ]);
  });

  it('groups free-mail leads by the company they declared, whatever its case, accents, punctuation or legal form', () => {
    const leads = ['Acme SAS', 'ACME', 'Acmé', 'Acme, Inc.', 'Acme Co., Ltd.'].map((company, i) => member(`p${i}@gmail.com`, 10, 'individual', company));
    const accounts = scoreAccounts(leads, THRESHOLDS);
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({ id: 'company:acme', name: 'Acme SAS', leads: 5 });
    expect(accountKeyOf({ email: 'x@gmail.com', profile: { company: 'Costco' } })).toEqual({ id: 'company:costco', name: 'Costco' });
    // Under a free-mail domain too, as the grid's free-mail rule takes it: no account of its own.
    expect(accountKeyOf({ email: 'x@mail.yahoo.fr', profile: { company: 'Costco' } })).toEqual({ id: 'company:costco', name: 'Costco' });
  });

  it('makes no account of strangers who share a personal mail provider or a placeholder for a company', () => {
    // Three keen people who do not know each other: Belgian, Swiss and Luxembourgish providers, and British Yahoo.
    // Privacy relays too: duck.com, Firefox Relay, Hide My Email, Proton Pass, SimpleLogin, addy.io.
    for (const domain of ['skynet.be', 'telenet.be', 'bluewin.ch', 'pt.lu', 'yahoo.co.uk', 'hotmail.be', 'gmx.net', 'duck.com', 'mozmail.com', 'privaterelay.appleid.com', 'passmail.net', 'simplelogin.com', 'anonaddy.me']) {
      const strangers = ['a', 'b', 'c'].map((name) => member(`${name}@${domain}`, 70, 'individual'));
      expect(scoreAccounts(strangers, THRESHOLDS), domain).toEqual([]);
    }
    // Free-mail leads who typed no company name, only "N/A", "Freelance" or "Particulier", are not one company.
    for (const company of [
      'N/A', 'n.a.', 'None', 'Aucune', 'Freelance', 'Indépendant', 'Particulier', 'Self-employed', 'Étudiant', 'Student',
      // From a QA pass: three keen consultants on Gmail were one hot account.
      'Independent consultant', 'Consultant', 'My company', 'null', 'Not applicable', 'Self', 'Stealth', 'Selbstständig', 'Autónomo', '0', '123',
      '06 12 34 56 78', '+33 (0)6 12 34 56 78', '00-00', '١٢٣',
    ]) {
      const strangers = ['a', 'b', 'c'].map((name) => member(`${name}@gmail.com`, 70, 'individual', company));
      expect(scoreAccounts(strangers, THRESHOLDS), company).toEqual([]);
    }
    expect(accountKeyOf({ email: 'x@skynet.be', profile: { company: 'Bouw NV' } })).toEqual({ id: 'company:bouw', name: 'Bouw NV' });
    // Digits with a sign between them, or words after a company's name, are a company.
    for (const [company, key] of <[string, string][]>[['1&1', '1 1'], ['3M', '3m'], ['Home Depot', 'home depot'], ['My Little Company', 'my little'], ['Smart EV', 'smart ev']]) {
      expect(accountKeyOf({ email: 'x@gmail.com', profile: { company } })?.id, company).toBe(`company:${key}`);
    }
  });

  it('knows the free-mail providers of the world, and those a site adds to its free-mail rule (QA: strangers made hot accounts)', () => {
    for (const domain of ['comcast.net', 'yandex.ru', 'mail.ru', 'qq.com', 'yahoo.ca', 'seznam.cz', 'naver.com']) {
      const strangers = ['Alice Bakery', 'Bob Plumbing', 'Carol Consulting'].map((company, n) => member(`${'abc'[n]}@${domain}`, 70, 'individual', company));
      expect(scoreAccounts(strangers, THRESHOLDS).map((account) => account.id), domain).toEqual(['company:alice bakery', 'company:bob plumbing', 'company:carol consulting']);
    }
    // A site's own provider, named in its free-mail rule: its leads lose the rule's points and are grouped by company.
    const grid = defaultRules();
    const rules = { ...grid, negative: grid.negative.map((rule) => (rule.id === 'free-mail' ? { ...rule, values: [...rule.values!, 'Provider.example'] } : rule)) };
    const strangers = ['a', 'b'].map((name) => member(`${name}@mx.provider.example`, 70, 'individual'));
    expect(scoreAccounts(strangers, THRESHOLDS).map((account) => account.id)).toEqual(['mx.provider.example']);
    expect(scoreAccounts(strangers, THRESHOLDS, new Set(), freeMailOf(rules))).toEqual([]);
    // Another negative rule on domains (a competitor's) leaves its people one account.
    const competitor = { ...grid, negative: [...grid.negative, { id: 'competitor', field: 'email_domain' as const, values: ['rival.example'], points: -50 }] };
    expect(accountKeyOf({ email: 'x@rival.example', profile: {} }, freeMailOf(competitor))).toEqual({ id: 'rival.example', name: 'rival.example' });
    // Work domains are not free mail.
    for (const domain of ['google.com', 'microsoft.com', 'salesforce.com', 'orange-business.com']) expect(accountKeyOf({ email: `x@${domain}`, profile: {} })?.id).toBe(domain);
  });

  it('names a work-email account by its domain when the company given says nothing, as scoring reads such answers', () => {
    // Stored scores from before answers that say nothing were left out of the profile still hold them.
    for (const company of ['N/A', '-', 'néant', 'xxx', 'Non communiqué']) {
      expect(accountKeyOf({ email: 'ana@initech.test', profile: { company } }), company).toEqual({ id: 'initech.test', name: 'initech.test' });
      expect(accountKeyOf({ email: 'ana@gmail.com', profile: { company } }), company).toBeUndefined();
    }
    expect(accountKeyOf({ email: 'ana@initech.test', profile: { company: ' Initech ' } })).toEqual({ id: 'initech.test', name: 'Initech' });
  });

  it('names an account as most of its leads spelt their company, whatever order the leads come in', () => {
    const leads = [member('alice@acmesoft.test', 80, 'c_level', 'AcmeSoft'), member('judy@acmesoft.test', 40, 'manager', 'AcmeSoft'), member('quinn@acmesoft.test', 90, 'individual'), member('bob@acmesoft.test', 50, 'manager', 'Acmesoft Inc.')];
    for (const order of [leads, [...leads].reverse(), [leads[2]!, leads[3]!, leads[0]!, leads[1]!]]) {
      expect(scoreAccounts(order, THRESHOLDS).map((account) => account.name)).toEqual(['AcmeSoft']);
    }
    // Among spellings given as often, the best lead's; none given, the domain.
    expect(scoreAccounts([member('a@hooli.test', 30, 'manager', 'hooli'), member('b@hooli.test', 70, 'manager', 'Hooli')], THRESHOLDS)[0]!.name).toBe('Hooli');
    expect(scoreAccounts([member('a@hooli.test', 30, 'manager'), member('b@hooli.test', 70, 'manager')], THRESHOLDS)[0]!.name).toBe('hooli.test');
  });
});
