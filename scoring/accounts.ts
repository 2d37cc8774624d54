import { createRequire } from 'node:module';
import { ACCOUNT_WEIGHTS, POINTS_PER_EXTRA_ROLE } from './account-weights.ts';
import type { LeadScore, Temperature } from './compile.ts';
import { companyKey, saysNothing } from './normalize.ts';
import { FREE_MAIL_DOMAINS, type Rules } from './rules.ts';

/**
 * Accounts: the companies behind the leads. A lead belongs to the company of its work email's domain; with a
 * free-mail address, to the company it declared (compared without case, accents, punctuation or legal form: "Acmé
 * SAS" and "ACME, Inc." are one); else to none.
 *
 * An account's score weighs its best leads and the breadth of who is looking: 60 % of the best lead, 50 % of the
 * second, 20 % of the third, each counted up to the hot threshold, plus 10 points for each further kind of role
 * (seniority) among its leads that are looking (warm or hot). One lead alone, however keen (lead scores have no
 * ceiling), brings at most 60 % of the hot mark, so one enthusiastic intern cannot make an account hot, nor can
 * colleagues who only left their job title add their roles to it; a CEO and a manager of the same company reading
 * the pricing page can. Students are no buyers: without a lead of another role looking, the account's score stops
 * at the hot mark (two keen interns made a hot account). Accounts come best first; those of equal scores (at the
 * default hot mark, any three hot leads with four roles looking score 108) by their best leads' scores, weighed alike
 * but not stopped at the hot mark. A lead sales disqualified (a competitor's analyst, a job seeker, a student doing
 * research) still belongs to its account, and is counted among its leads, but adds nothing to its score, roles or best
 * leads: disqualifying the keen competitor who made an account hot cools it. A person weighs once, by their best
 * lead: addresses with a "+tag" (jane+webinar@acme.com) are their mailbox's.
 */
export interface AccountScore {
  /** The email domain, or `company:<declared name>` for leads on free mail. */
  id: string;
  name: string;
  score: number;
  temperature: Temperature;
  leads: number;
  /** The kinds of role among the leads (c_level, vp_director, manager, individual, student), those disqualified left out. */
  personas: string[];
  /** Of those, the roles of its warm and hot leads: the ones its score counts (a cold colleague's title adds nothing). */
  countedPersonas: string[];
  topLeads: { id: string; email: string; score: number; temperature: Temperature }[];
}

// require() rather than a JSON import, as in normalize.ts.
const require = createRequire(import.meta.url);
/**
 * Free-mail providers, for grouping: the grid's list and email-providers' (some 8,700 domains, kept up to date by its
 * maintainer: comcast.net, yandex.ru, qq.com, seznam.cz…, which made strangers one hot account).
 */
const FREE_MAIL = new Set([...FREE_MAIL_DOMAINS, ...(require('email-providers/all.json') as string[])]);

/** Whether an email's domain is a free-mail provider's, for a site's accounts. */
export type FreeMail = (domain: string) => boolean;

/** A domain that is one of `domains` or under one (mail.yahoo.fr), as the grid's free-mail rule reads a domain. */
const under = (domains: ReadonlySet<string>) => (domain: string) => domain.split('.').some((_, i, labels) => domains.has(labels.slice(i).join('.')));
const isFreeMail: FreeMail = under(FREE_MAIL);

/**
 * A site's free mail: the providers above, and the domains its rules' `free-mail` negative rule names (the grid's id),
 * which a site extends with its country's providers: its leads on them lose the rule's points, and are grouped by the
 * company they declared, as on any free mail.
 */
export function freeMailOf(rules: Pick<Rules, 'negative'>): FreeMail {
  // Only the domains the providers above lack: a site on the grid's rule is read by isFreeMail alone.
  const named = rules.negative.flatMap((rule) => (rule.id === 'free-mail' && rule.field === 'email_domain' ? (rule.values ?? []) : []));
  const own = new Set(named.map((domain) => domain.toLowerCase()).filter((domain) => !FREE_MAIL.has(domain)));
  if (own.size === 0) return isFreeMail;
  const isOwn = under(own);
  return (domain) => isFreeMail(domain) || isOwn(domain);
}

/**
 * Answers that are no company, as companyKey renders them, beyond those that say nothing at all ("N/A", "-", "néant":
 * saysNothing, which scoring's merge already leaves out): strangers who typed "Freelance", "Particulier", "Independent
 * consultant" or "My company" are not one company (three keen ones made a hot account), though as a job title or an
 * answer to another question they say something. So is an answer of digits alone, or a phone number ("0", "123",
 * "06 12 34 56 78", "+33 (0)6…"; "1&1" is a company).
 */
const NOT_A_COMPANY = new Set([
  'no', 'none', 'null', 'undefined', 'nil', 'not applicable', 'not employed', 'test', 'confidential', 'confidentiel', 'stealth', 'stealth startup', 'stealth mode',
  'personal', 'personnel', 'perso', 'private', 'prive', 'privat', 'privado', 'particulier', 'particular', 'individual', 'home', 'household',
  'me', 'myself', 'moi', 'moi meme', 'self', 'my', 'my own', 'own', 'mine',
  'freelance', 'freelancer', 'freelance consultant', 'consultant', 'independent consultant', 'independent', 'independant', 'independante',
  'self employed', 'selfemployed', 'auto entrepreneur', 'autoentrepreneur', 'micro entrepreneur', 'microentrepreneur', 'entrepreneur',
  'selbststandig', 'selbstandig', 'freiberufler', 'freiberuflich', 'autonomo', 'autonoma', 'libero professionista',
  'student', 'etudiant', 'etudiante', 'unemployed', 'sans emploi', 'demandeur d emploi', 'job seeker', 'jobseeker', 'retired', 'retraite',
]);

/** Whether a declared company's key (companyKey) names a company. */
const namesACompany = (given: string, key: string) => !/^[\p{N}\s+\-.()/]+$/u.test(given) && !NOT_A_COMPANY.has(key);

/** The account a lead belongs to, if any: its work email's domain, else the company it declared. */
export function accountKeyOf(lead: Pick<LeadScore, 'email' | 'profile'>, freeMail: FreeMail = isFreeMail): { id: string; name: string } | undefined {
  const domain = lead.email.split('@')[1]?.toLowerCase();
  // A stored score from before the merge left such answers out may still hold one.
  const given = lead.profile.company ?? '';
  const company = saysNothing(given) ? '' : given.trim();
  if (domain && !freeMail(domain)) return { id: domain, name: company || domain };
  const key = company && companyKey(company);
  if (key && namesACompany(company, key)) return { id: `company:${key}`, name: company };
}

/** Leads by the account they belong to (accountKeyOf), those of none left out. */
export function byAccount<Lead extends Pick<LeadScore, 'email' | 'profile'>>(leads: Iterable<Lead>, freeMail: FreeMail = isFreeMail): Map<string, Lead[]> {
  const accounts = new Map<string, Lead[]>();
  for (const lead of leads) {
    const key = accountKeyOf(lead, freeMail)?.id;
    if (key === undefined) continue;
    const members = accounts.get(key);
    if (members) members.push(lead);
    else accounts.set(key, [lead]);
  }
  return accounts;
}

/** What an account's score needs of each lead: a freshly scored lead, or a stored one read with only these columns. */
export type AccountMember = Pick<LeadScore, 'lead_id' | 'kind' | 'email' | 'score' | 'temperature' | 'seniority' | 'profile'>;

/** `disqualified`: the ids of the leads sales disqualified, which weigh nothing in their accounts. */
export function scoreAccounts<Lead extends AccountMember>(
  leads: Lead[],
  thresholds: Rules['thresholds'],
  disqualified: ReadonlySet<string> = new Set(),
  freeMail: FreeMail = isFreeMail,
): AccountScore[] {
  const groups = new Map<string, { leads: Lead[]; names: Map<Lead, string> }>();
  for (const lead of leads) {
    const account = lead.kind === 'lead' ? accountKeyOf(lead, freeMail) : undefined;
    if (!account) continue;
    const group = groups.get(account.id) ?? { leads: [], names: new Map<Lead, string>() };
    group.leads.push(lead);
    group.names.set(lead, account.name);
    groups.set(account.id, group);
  }
  return [...groups]
    .map(([id, { leads: members, names }]) => {
      const everyone = [...members].sort((a, b) => b.score - a.score || (a.lead_id < b.lead_id ? -1 : 1));
      const name = accountName(id, everyone.map((lead) => names.get(lead)!));
      // One person weighs once, by their best lead: a mailbox's "+tag" addresses are its own (three forms sent as
      // intern@, intern+1@ and intern+2@ made one intern's account hot).
      const people = new Set<string>();
      const ranked = everyone.filter((lead) => {
        const mailbox = mailboxOf(lead.email);
        if (disqualified.has(lead.lead_id) || people.has(mailbox)) return false;
        people.add(mailbox);
        return true;
      });
      const rolesOf = (some: Lead[]) => [...new Set(some.map((lead) => lead.seniority).filter(Boolean))].sort();
      const personas = rolesOf(ranked);
      // Breadth counts the roles of the leads that are looking: a cold colleague's title adds nothing.
      const looking = rolesOf(ranked.filter((lead) => lead.score >= thresholds.warm));
      // The best leads' points, each as `points` counts its score, weighed by rank.
      const weigh = (points: (score: number) => number) => ranked.slice(0, ACCOUNT_WEIGHTS.length).reduce((sum, lead, i) => sum + points(lead.score) * ACCOUNT_WEIGHTS[i]!, 0);
      const weighted = weigh((score) => Math.min(Math.max(0, score), thresholds.hot));
      const raw = Math.round(weighted + POINTS_PER_EXTRA_ROLE * Math.max(0, looking.length - 1));
      const buyerLooking = ranked.some((lead) => lead.score >= thresholds.warm && lead.seniority !== 'student');
      const score = buyerLooking ? raw : Math.min(raw, thresholds.hot);
      const temperature: Temperature = score > thresholds.hot ? 'hot' : score >= thresholds.warm ? 'warm' : 'cold';
      const topLeads = ranked.slice(0, 3).map((lead) => ({ id: lead.lead_id, email: lead.email, score: lead.score, temperature: lead.temperature }));
      // Past the hot mark the score stops telling accounts apart: among equals, the keener best leads come first.
      const keenness = weigh((score) => score);
      return { account: { id, name, score, temperature, leads: members.length, personas, countedPersonas: looking, topLeads }, keenness };
    })
    .sort((a, b) => b.account.score - a.account.score || b.keenness - a.keenness || a.account.id.localeCompare(b.account.id))
    .map(({ account }) => account);
}

/** The mailbox an address delivers to, "+tag" left out: jane+webinar@acme.com is jane@acme.com. */
const mailboxOf = (email: string) => email.toLowerCase().replace(/^([^+@]+)\+[^@]*@/, '$1@');

/**
 * An account's name: the company its leads declared most often, spelt as most of them did, that of the best lead among
 * equals; the domain when none declared one. It was the first lead's in the order leads were read (their ids' hashes),
 * so a colleague who left the company field empty renamed "AcmeSoft" to acmesoft.com.
 */
function accountName(id: string, bestFirst: string[]): string {
  const declared = bestFirst.filter((name) => name !== id);
  if (declared.length === 0) return bestFirst[0] ?? id;
  const counts = new Map<string, number>();
  for (const name of declared) counts.set(name, (counts.get(name) ?? 0) + 1);
  // Among the most frequent, the first met: the best lead's.
  return declared.reduce((best, name) => (counts.get(name)! > counts.get(best)! ? name : best));
}
