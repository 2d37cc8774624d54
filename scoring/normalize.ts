import { createRequire } from 'node:module';
import countries, { type LocaleData } from 'i18n-iso-countries/index.js';
import { letSql, type SqlParams } from './sql.ts';

/** A text's length in characters, as the wire schema's string checks count them (code points: an emoji is one, not two). */
export const charactersIn = (text: string) => [...text].length;
/** Whether a text has at most `max` characters (charactersIn), without counting those of a short one. */
export const fitsCharacters = (text: string, max: number) => text.length <= max || charactersIn(text) <= max;
/** A text cut to `max` characters (charactersIn), so never inside a surrogate pair, whose half ClickHouse would refuse. */
export const cutToCharacters = (text: string, max: number) => (fitsCharacters(text, max) ? text : [...text].slice(0, max).join(''));

// require() rather than a JSON import: the bundled server keeps packages external, and Node 20 wants an import
// attribute on JSON modules that the bundler does not keep for this target.
const require = createRequire(import.meta.url);
const english = require('i18n-iso-countries/langs/en.json') as LocaleData;
const french = require('i18n-iso-countries/langs/fr.json') as LocaleData;

/**
 * What people type in forms (job titles, company sizes, countries; French and English) → comparable values.
 * Each normaliser exists twice, in TypeScript (rule validation, tests, the API) and as a ClickHouse
 * expression (scoring reads raw form answers from events), both built from the tables below. The patterns
 * stay in the syntax JavaScript and RE2 (ClickHouse's regex engine) read alike: no lookaround, no \b, and
 * text is folded first (lowercase ASCII, no accents) so that classes such as [a-z] mean the same to both.
 */

/**
 * Spaces, punctuation and symbols, as a regex class's contents: ASCII's, Latin-1's (¡ to ¿, × ÷, the no-break space),
 * the General Punctuation block's (dashes, quotes, "…", thin spaces), letterlike symbols ("™", "№"), arrows, dingbats and emoji ("✓", "👍"). Named,
 * not "neither a letter nor a digit" (\p{L}, \p{N}): ClickHouse's RE2 runs a pattern with whole-Unicode classes several
 * times slower, which was +50 % on a full rescoring. Letters and digits of any script fall outside it.
 */
const PUNCTUATION = '\\t\\n\\v\\f\\r !-/:-@\\[-`{-~\u00a0-\u00bf\u00d7\u00f7\u2000-\u206f\u2100-\u214f\u2190-\u2bff\ufe0f\u{1f000}-\u{1faff}';

/** Characters folded to one ASCII character each; ClickHouse's translateUTF8 needs equal-length tables. */
// Latin-1 and Latin Extended-A's lowercase letters (Czech, Polish, Turkish, Romanian, Hungarian, Baltic, Nordic…):
// one left out was a word break, so "Česká spořitelna" was "ceska spo itelna", another account than "Ceska Sporitelna";
// and Vietnamese's (ơ, ư and the toned vowels of Latin Extended Additional), so "Việt Soft" is "Viet Soft".
const FOLDS: ReadonlyArray<readonly [from: string, to: string]> = [
  ['àáâãäåāăąạảấầẩẫậắằẳẵặ', 'a'],
  ['çćčĉċ', 'c'],
  ['ďđð', 'd'],
  ['èéêëēėęěĕẹẻẽếềểễệ', 'e'],
  ['ğĝġģ', 'g'],
  ['ĥħ', 'h'],
  ['ìíîïīıĩĭįỉị', 'i'],
  ['ĵ', 'j'],
  ['ķ', 'k'],
  ['łľĺļŀ', 'l'],
  ['ñńňņ', 'n'],
  ['òóôõöøōőŏơọỏốồổỗộớờởỡợ', 'o'],
  ['řŕŗ', 'r'],
  ['ùúûüūůűųũŭưụủứừửữự', 'u'],
  ['ŵ', 'w'],
  ['ýÿŷỳỵỷỹ', 'y'],
  ['šśşșŝ', 's'],
  ['ťțţŧ', 't'],
  ['žźż', 'z'],
  // Spaces, dashes and apostrophes that keyboards and word processors substitute for the plain ones.
  ['\u00a0\u2007\u2009\u202f', ' '],
  ['\u2010\u2011\u2012\u2013\u2014\u2212', '-'],
  ['\u2018\u2019\u02bc\u00b4', "'"],
];
const FOLD_FROM = FOLDS.map(([from]) => from).join('');
const FOLD_TO = FOLDS.map(([from, to]) => to.repeat([...from].length)).join('');
const FOLD_MAP = new Map([...FOLD_FROM].map((char, i) => [char, FOLD_TO[i]!]));
const LIGATURES: ReadonlyArray<readonly [string, string]> = [
  ['œ', 'oe'],
  ['æ', 'ae'],
  // "Straße" is written "Strasse" where the letter is missing (Switzerland, most keyboards).
  ['ß', 'ss'],
];
/**
 * What separates words: spaces, punctuation and symbols (SEPARATORS, below), so that letters of every script make
 * words ("Яндекс Cloud" and "Газпром Cloud" are two companies, "株式会社トヨタ" one; they were "cloud" and nothing).
 */
const NON_WORD = `[${PUNCTUATION}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+`;

/** Lowercase, accents and typographic punctuation folded to ASCII (accents typed as combining marks too: NFC first). */
export function fold(text: string): string {
  let folded = [...text.normalize('NFC').toLowerCase()].map((char) => FOLD_MAP.get(char) ?? char).join('');
  for (const [from, to] of LIGATURES) folded = folded.replaceAll(from, to);
  return folded;
}

const NON_WORDS = new RegExp(NON_WORD, 'gu');

/** Folded words separated by single spaces: "Directeur Général (DG)" → "directeur general dg". */
export function words(text: string): string {
  return wordsOfFolded(fold(text));
}

/** words() of a text already folded. */
const wordsOfFolded = (folded: string) => folded.replace(NON_WORDS, ' ').trim();

/** fold() as a ClickHouse expression. */
export function foldSql(expr: string, p: SqlParams): string {
  let sql = `translateUTF8(lowerUTF8(normalizeUTF8NFC(${expr})), ${p.bind('fold_from', FOLD_FROM)}, ${p.bind('fold_to', FOLD_TO)})`;
  LIGATURES.forEach(([from, to], i) => (sql = `replaceAll(${sql}, ${p.bind(`fold_lig${i}_from`, from)}, ${p.bind(`fold_lig${i}_to`, to)})`));
  return sql;
}

export function wordsSql(expr: string, p: SqlParams): string {
  return wordsOfFoldedSql(foldSql(expr, p), p);
}

const wordsOfFoldedSql = (folded: string, p: SqlParams) => `trimBoth(replaceRegexpAll(${folded}, ${p.bind('non_word', NON_WORD)}, ' '))`;

// ---- Answers that say nothing ----------------------------------------------------------------------------------

/** Nothing but spaces, punctuation and symbols (PUNCTUATION): "日本" and "Москва" say something. */
const NO_LETTERS = `[${PUNCTUATION}]*`;

/**
 * What people type in a required field they will not fill, as the whole answer, in any case, with any punctuation
 * around it: nothing but punctuation ("-", ".", "?", "..."), or one of the few words that mean "no answer" in English
 * and French: n/a (N.A.), NC (N.C., non communiqué), none, nothing, unknown, aucun(e), néant, rien, inconnu(e), and
 * x's ("xxx"). Kept short: "No", "Test" or "Freelance" may be a real answer to some question (a yes/no field of a
 * site's own, a job title); accounts add to this list what is no company (scoring/accounts.ts).
 */
const PLACEHOLDER_WORDS = [
  `n${NO_LETTERS}a`, `n${NO_LETTERS}c`, 'none', 'nothing', 'unknown', 'aucune?', 'n[eé]\u0301?ant', 'rien', 'inconnue?',
  `non${NO_LETTERS}communiqu[eé]\u0301?e?`, 'x+',
];
/** RE2 and JavaScript (with the u flag) read it alike; an é typed as e and a combining accent is allowed for. */
const SAYS_NOTHING = `^${NO_LETTERS}(?:${PLACEHOLDER_WORDS.join('|')})?${NO_LETTERS}$`;
const SAYS_NOTHING_JS = new RegExp(SAYS_NOTHING, 'iu');

/**
 * Whether an answer says nothing: blank, punctuation, or a placeholder such as "N/A" or "néant". The merge of a
 * lead's answers skips such answers, so one never replaces a real answer given before, and a field answered only so
 * is not given.
 */
export function saysNothing(answer: string): boolean {
  return SAYS_NOTHING_JS.test(answer);
}

/** The same in SQL: one match() (scoring's merge runs it on every answer, and planning pays per function). */
export function saysNothingSql(expr: string, p: SqlParams): string {
  return `match(${expr}, ${p.bind('says_nothing', `(?i)${SAYS_NOTHING}`)})`;
}

// ---- Company names ---------------------------------------------------------------------------------------------

/** Legal forms that end a company's name, in the words() rendering: "Acme SAS", "ACME, Inc.", "Acme Co., Ltd.". */
// Written with dots too ("S.A.", "S.p.A.", "B.V."), which words() renders as single letters: "s a", "s p a", "b v".
const LEGAL_FORMS =
  '(?: (?:sas|sasu|sarl|eurl|sa|sca|snc|gmbh|ag|kg|kgaa|inc|incorporated|llc|llp|pllc|lp|ltd|ltda|limited|plc|corp|corporation|co|company' +
  '|bv|nv|spa|srl|sl|slu|oy|ab|as|asa|aps|se|pty|pte|pvt|kk|kft|sro' +
  '|s a s u|s a s|s a r l|e u r l|s a|s c a|s n c|g m b h|a g|k g|l l c|l l p|l p|p l c|b v|n v|s p a|s r l|s l u|s l|k k|a s|s r o|e v|sp z o o|de c v))+$';

/** A declared company as accounts compare it: its words without case, accents, punctuation or legal form ("Acmé SAS" = "ACME"). */
export function companyKey(text: string): string {
  return words(text).replace(new RegExp(LEGAL_FORMS), '');
}

export function companyKeySql(expr: string, p: SqlParams): string {
  return `replaceRegexpOne(${wordsSql(expr, p)}, ${p.bind('legal_forms', LEGAL_FORMS)}, '')`;
}

// ---- Seniority -------------------------------------------------------------------------------------------------

export const SENIORITY_LEVELS = ['c_level', 'vp_director', 'manager', 'individual', 'student'] as const;
export type Seniority = (typeof SENIORITY_LEVELS)[number];

/** Whole words or phrases of a job title, as `words()` renders them. */
const anyOf = (...phrases: string[]) => ` (?:${phrases.join('|')}) `;

/**
 * What stands for the job title of a lead who never gave one, best first (a grade says most of a seniority): the
 * answers a form's job level, role or function field is filed under (collector/ingest/form-fields.ts).
 */
export const TITLE_STAND_INS = ['job_level', 'job_role', 'job_function'] as const;

/**
 * A profile (latest answer per field, in name order) as scoring merges it: a lead who never gave a job title has the
 * first of their TITLE_STAND_INS for one. For the profiles read outside scoring (an export, an unscored lead's page).
 */
export function withTitleStandIn(profile: Record<string, string>): Record<string, string> {
  const standIn = TITLE_STAND_INS.find((field) => profile[field] !== undefined);
  if (profile.job_title !== undefined || standIn === undefined) return profile;
  return Object.fromEntries(Object.entries({ ...profile, job_title: profile[standIn]! }).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Tried in order on " <words of the title> "; the first that matches wins, and a title that matches none is an
 * individual contributor. Order carries meaning: an intern or an assistant to the CEO is not a CEO, a
 * vice-president is not a president, a "chef d'entreprise" owns the company while a "chef de projet" manages.
 * The levels a sales team expects of real titles, and why for the debatable ones, are in test/support/job-titles.ts.
 */
const SENIORITY_PATTERNS: ReadonlyArray<readonly [Seniority, string]> = [
  // A job level as a form lists it, the whole answer: "C-Level", "C-Suite", LinkedIn's "CXO", "C-Level / VP" (the
  // highest it names). In a title, it says whom the job serves: a "C-Suite Recruiter", "Sales to C-level".
  ['c_level', '^ (?:executive |exec )?(?:c level|c suite|cxo)(?: (?:executive|executives|exec|execs|officer|officers|leadership|level|and|or|above|vp|vice|president|svp|evp))* $'],
  ['student', anyOf('stagiaire', 'stage', 'etudiant', 'etudiante', 'intern', 'internship', 'student', 'alternant', 'alternante', 'alternance', 'apprenti', 'apprentie', 'apprentice', 'trainee', 'doctorant', 'doctorante', 'phd candidate',
    // The same in the languages of the covered countries' neighbours: German, Spanish, Portuguese, Italian.
    'praktikant', 'praktikantin', 'werkstudent', 'werkstudentin', 'auszubildender', 'auszubildende', 'azubi', 'becario', 'becaria', 'estudiante',
    'estagiario', 'estagiaria', 'tirocinante', 'stagista', 'studente', 'studentessa')],
  // An assistant account (community, office) manager is a junior one of these "manager" titles that manage no one
  // (below), not a deputy manager: before the assistant managers.
  ['individual', anyOf('(?:assistant|asst) (?:account|community|office) (?:manager|mgr)', 'non manager', 'non managerial', 'not a manager', 'individual contributor')],
  // Before the assistants: in English an assistant manager (director) is the manager's deputy and manages too, as an
  // "Assistant Store Manager" does. One word may come between, but not "to the": the assistant to a manager assists.
  ['manager', anyOf('(?:assistant|asst) (?:[a-z]{3,} |hr |it |pr )?(?:manager|mgr|director|dir)')],
  // Also before the assistants and secretaries: a secrétaire général heads a company's legal and administrative side,
  // and an assistant vice-president (a bank's AVP) is on the VP level, as "AVP" below is.
  ['vp_director', anyOf('secretaire general', 'secretaire generale', 'secretary general', 'general secretary', '(?:assistant|asst) (?:vice president|vp)')],
  [
    'individual',
    anyOf(
      'assistant', 'assistante', 'asst', 'secretaire', 'secretary', 'office manager', 'product owner', 'process owner',
      // PA and EA also stand for public affairs and enterprise architecture ("Head of PA", "VP EA"): a personal or
      // executive assistant is one who says whom they assist ("PA to the CEO", "EA auprès du PDG", "Chairman's PA").
      '(?:pa|ea) (?:to|aupres)', 's (?:pa|ea)',
      // "Manager" titles that manage no one (a community, client accounts), and "chief" or "head" titles that lead nothing.
      'community manager', 'social media manager', 'account manager', 'responsable grands comptes', 'responsable comptes cles',
      'chief happiness officer', 'head hunter', 'head hunting', 'auto entrepreneur', 'auto entrepreneuse', 'micro entrepreneur',
      // A founder's (or CEO's) associate is a generalist at their side, not a founder.
      '(?:founder|founders|ceo) s associate', 'founders associate', 'associate to the (?:founder|founders|ceo)',
    ),
  ],
  // Abbreviations written with dots ("V.P.", "P.D.G.", "C.E.O.") come out of words() as spaced letters. A chief of
  // staff (below) is still no CEO when the title names whose office it runs ("Chief of Staff to the CEO", "Directeur
  // de cabinet du Président"); after the assistants, as an "Assistant to the Chief of Staff" assists.
  [
    'vp_director',
    anyOf(
      'vp', 'v p', 'svp', 'evp', 'avp', 'vice president', 'vice presidente', 'vice chairman', 'vice chairwoman', 'vice chair',
      'chief of staff (?:to|for|of|office|du|de|des|au|aupres)', '(?:chef|cheffe|directeur|directrice) de cabinet (?:du|de|des|au|aupres)',
    ),
  ],
  // A gérant runs a company, but a "gérant de portefeuille" manages funds and a "gérant de magasin" a shop: before C-level.
  ['individual', anyOf('(?:gerant|gerante) (?:de |d |du |des )?(?:portefeuille|portefeuilles|fonds|patrimoine|patrimoines|actifs|fortune|fortunes)')],
  ['manager', anyOf('(?:gerant|gerante) (?:de |d |du )?(?:magasin|boutique|restaurant|rayon|agence|station|supermarche|hypermarche|hotel|point de vente|succursale)')],
  [
    'c_level',
    anyOf(
      'ceo', 'c e o', 'pdg', 'p d g', 'dg', 'dga', 'dgd', 'cto', 'cfo', 'coo', 'cmo', 'cio', 'ciso', 'cpo', 'cro', 'cdo', 'chro', 'cso', 'cco',
      'chief [a-z ]*officer', 'chief executive', 'president', 'presidente', 'chairman', 'chairwoman', 'chairperson',
      'founder', 'cofounder', 'co founder', 'fondateur', 'fondatrice', 'cofondateur', 'cofondatrice', 'co fondateur', 'co fondatrice',
      'proprietaire', 'gerant', 'gerante', 'dirigeant', 'dirigeante', 'chef d entreprise', 'cheffe d entreprise',
      'entrepreneur', 'entrepreneuse',
      'managing director', 'general manager', 'managing partner', 'directeur general', 'directrice generale', 'directeur generale',
      // A job level as French forms list it ("Niveau hiérarchique : Direction générale"), or a seat in it.
      'direction generale', 'comite executif', 'comex',
      'administrateur delegue', 'administratrice deleguee',
      // The owner of a business, not of an account, a service, a product or a risk ("Account Owner", "Data Owner"):
      // a title that starts with it ("Owner", "Owner/Operator") or says what is owned as a business.
      '(?:business|company|shop|store|agency|firm|restaurant|franchise|practice|salon|studio|boutique|sole|partner|principal|co) owner',
    ),
  ],
  ['c_level', '^ owner '],
  // LinkedIn's highest job level, and a firm's owner: "Partner" alone (a "Partner Manager" manages partners).
  ['c_level', '^ partner $'],
  [
    'vp_director',
    anyOf(
      'director', 'directeur', 'directrice', 'direction', 'dir', 'head', 'dsi', 'daf', 'drh', 'dircom', 'rssi',
      // A chief of staff runs the CEO's office: no officer, but no mere manager either.
      'chief of staff', 'chef de cabinet', 'cheffe de cabinet',
    ),
  ],
  // "Responsable X" is the French for "X manager" (responsable de magasin, store manager).
  [
    'manager',
    anyOf(
      'manager', 'mgr', 'responsable', 'resp', 'chef', 'cheffe', 'team lead', 'tech lead', 'project lead', 'leader', 'supervisor', 'superviseur',
      'superviseure', 'superviseuse', 'coordinator', 'coordinateur', 'coordinatrice', 'encadrant', 'encadrante',
    ),
  ],
];

/** Words that make a title a student's: "Stagiaire", "PhD Student", "Alternante chargée de marketing". */
const STUDENT_WORDS =
  '(?:stagiaire|stagiaires|stage|stages|etudiant|etudiante|etudiants|etudiantes|intern|interns|internship|internships|student|students|alternant|alternante|alternants|alternantes|alternance|apprenti|apprentie|apprentis|apprenties|apprentice|apprentices|apprenticeship|apprentissage|trainee|trainees' +
  '|praktikant|praktikanten|praktikantin|praktikantinnen|werkstudent|werkstudenten|werkstudentin|werkstudentinnen|auszubildende|auszubildender|auszubildenden|azubi|azubis' +
  '|becario|becarios|becaria|becarias|estudiante|estudiantes|estagiario|estagiarios|estagiaria|estagiarias|tirocinante|tirocinanti|stagista|stagisti|stagiste|studente|studenti|studentessa|studentesse)';

/** The one who runs the company, as a title names whom it serves: "Advisor to the CEO", "Chargé de mission auprès du DG". */
const EXECUTIVES =
  '(?:ceo|c e o|pdg|p d g|dg|president|presidente|chairman|chairwoman|founder|founders|fondateur|fondatrice|fondateurs|managing director|directeur general|directrice generale|direction generale)';

/**
 * Rewrites of a title's padded words, in order, before the levels are tried:
 * - Student words that name what a job deals with, not who holds it, are taken out: the object of "of", "des"…
 *   ("Head of Student Success", "Directeur de stage", "Responsable des stages et alternance") and a student word
 *   before a program or a role ("Intern Program Manager", "Internship Coordinator", "International Student Advisor").
 * - So is the executive a job serves or reports to, and their office: "Advisor to the CEO", "Conseiller du
 *   président", "Project Manager, Office of the CEO", "Analyst, CEO Office", "Head of Sales reporting to the CEO" are
 *   on the level of the rest of the title. An assistant to the CEO stays an assistant, a chief of staff to the CEO a
 *   chief of staff.
 * - "co" written against a title is split from it, as a hyphen would: "Cogérant", "Coprésidente", "Codirecteur".
 */
const ROLE_REWRITES: ReadonlyArray<readonly [pattern: string, replacement: string]> = [
  [` (?:of|for|des|de|du|aux|au|d) (?:the |l )?${STUDENT_WORDS}(?: (?:et|and|ou|or) (?:des |de |d |l )?${STUDENT_WORDS})* `, ' '],
  [
    ` ${STUDENT_WORDS} (program|programs|programme|programmes|relations|success|affairs|services|experience|recruitment|recruiting|recruiter|coordinator|coordinateur|coordinatrice|manager|management|advisor|adviser|counselor|counsellor|ausbilder|ausbilderin|ausbildung|betreuer|betreuerin) `,
    ' $1 ',
  ],
  // A member of the direction générale sits in it (the executive committee), where one "de la direction générale"
  // otherwise works for it (below).
  [' (?:membre|membres) (?:de la |de l |du |d )?(direction generale|comite executif|comex) ', ' $1 '],
  [` (?:(?:reporting|reports) )?(?:to|for|of|du|de|au|a|aupres|aupres du|aupres de|rattache au|rattachee au|rattache a|rattachee a)(?: the| la| l)? ${EXECUTIVES}(?: s)?(?: (?:office|bureau|cabinet))? `, ' '],
  [` ${EXECUTIVES}(?: s)? office `, ' '],
  [' co(gerant|gerante|president|presidente|dirigeant|dirigeante|directeur|directrice|ceo|owner|proprietaire|chairman|chairwoman) ', ' co $1 '],
];

/** The seniority a job title says, or null for an empty title. */
export function seniorityOf(jobTitle: string): Seniority | null {
  const titleWords = words(jobTitle);
  if (titleWords === '') return null;
  const padded = ROLE_REWRITES.reduce((title, [pattern, replacement]) => title.replace(new RegExp(pattern, 'g'), replacement), ` ${titleWords} `);
  return SENIORITY_PATTERNS.find(([, pattern]) => new RegExp(pattern).test(padded))?.[0] ?? 'individual';
}

/** The same, in SQL, over an expression of the title; '' for an empty title. */
export function senioritySql(expr: string, p: SqlParams): string {
  return seniorityOfPaddedSql(roleWordsSql(paddedWordsSql(expr, p), p), p);
}

/** " <words of the title> ", which seniorityOfPaddedSql tests: a query can compute it once as a column of its own. */
export const paddedWordsSql = (expr: string, p: SqlParams) => `concat(' ', ${wordsSql(expr, p)}, ' ')`;

/** The padded words of a title rewritten (ROLE_REWRITES), as seniorityOfPaddedSql reads them. */
export function roleWordsSql(padded: string, p: SqlParams): string {
  // RE2 writes a group in a replacement as \1 where JavaScript writes $1.
  return ROLE_REWRITES.reduce(
    (title, [pattern, replacement], i) => `replaceRegexpAll(${title}, ${p.bind(`role_rewrite_${i}`, pattern)}, ${p.bind(`role_rewrite_by_${i}`, replacement.replace('$1', '\\1'))})`,
    padded,
  );
}

/** Seniority from a title's role words (roleWordsSql: an expression used several times, so best a plain column). */
export function seniorityOfPaddedSql(padded: string, p: SqlParams): string {
  const branches = SENIORITY_PATTERNS.map(([level, pattern], i) => `match(${padded}, ${p.bind(`seniority_${i}`, pattern)}), '${level}'`);
  return `multiIf(${padded} = '  ', '', ${branches.join(', ')}, 'individual')`;
}

// ---- Company size ----------------------------------------------------------------------------------------------

export interface SizeRange {
  min: number;
  /** null when open-ended ("1000+", "plus de 250"). */
  max: number | null;
}

/** A pattern and its replacement, in JavaScript's and in ClickHouse's (RE2) syntax, applied to folded text. */
interface Rewrite {
  pattern: string;
  js: string;
  sql: string;
}

/** Folded text with `rewrites` applied, in order. */
const rewrite = (text: string, rewrites: readonly Rewrite[]) => rewrites.reduce((s, { pattern, js }) => s.replace(new RegExp(pattern, 'g'), js), fold(text));

/** rewrite in SQL, each pattern bound as `<name><i>`. */
const rewriteSql = (expr: string, rewrites: readonly Rewrite[], name: string, p: SqlParams) =>
  rewrites.reduce((sql, { pattern, sql: by }, i) => `replaceRegexpAll(${sql}, ${p.bind(`${name}${i}`, pattern)}, ${p.bind(`${name}${i}_by`, by)})`, foldSql(expr, p));

/** An answer without a digit that names one of these categories (words, ORed) reads as the range `size`. */
function sizeCategory(names: string, size: string): Rewrite[] {
  return [{ pattern: `^[^0-9]*\\b(?:${names})\\b[^0-9]*$`, js: size, sql: size }];
}

/** A digit-group separator goes ("1 000", "1,000", "1.000"); applied twice, for millions. */
const DIGIT_GROUPS: Rewrite = { pattern: "(\\d)[ .,'](\\d\\d\\d)", js: '$1$2', sql: '\\1\\2' };

/**
 * Applied to folded text, in order: digit-group separators go ("1 000", "1,000", "1.000"), twice for millions;
 * comparison signs become words ("≤ 500", "<= 500" → "up to 500"; "≥ 250", ">=", "=>" → "at least 250"); a range's
 * "k" is given to a small lower bound too ("5-10k" → "5k-10k", where "500-1k" keeps its 500); then "2.5k" → 2500
 * and "10k" → 10000.
 */
const SIZE_REWRITES: readonly Rewrite[] = [
  // A category with no number in it, as French forms offer INSEE's (and English ones their like): a TPE has up to 9
  // employees, a PME up to 249, an ETI 250 to 4,999, a grande entreprise more.
  ...sizeCategory('tpe|tres petites? entreprises?|micro ?entreprises?', '1 to 9'),
  ...sizeCategory('pme|petites? et moyennes? entreprises?|sme|smb', '10 to 249'),
  ...sizeCategory('eti|entreprises? de taille intermediaire', '250 to 4999'),
  ...sizeCategory('grandes? entreprises?|grands? groupes?|large (?:enterprises?|compan(?:y|ies)|corporations?)', '5000+'),
  DIGIT_GROUPS,
  DIGIT_GROUPS,
  { pattern: '(?:≤|<=|=<) ?', js: 'up to ', sql: 'up to ' },
  { pattern: '(?:≥|>=|=>) ?', js: 'at least ', sql: 'at least ' },
  { pattern: '(^|[^\\d.,])(\\d\\d?)( ?(?:-|to|a) ?)(\\d+(?:[.,]\\d)? ?k(?:[^a-z]|$))', js: '$1$2k$3$4', sql: '\\1\\2k\\3\\4' },
  // JavaScript reads "$1000" as group 1 then "000" because there is no group 10 (and "$200" as group 2 then "00").
  { pattern: '(\\d+)[.,](\\d) ?k([^a-z]|$)', js: '$1$200$3', sql: '\\1\\200\\3' },
  { pattern: '(\\d+) ?k([^a-z]|$)', js: '$1000$2', sql: '\\1000\\2' },
];

const SIZE = {
  /** "less than 10", "moins de 10", "- de 10", "< 10": up to N - 1. */
  below: '(?:less than|fewer than|under|below|moins de|- ?de|inferieur a|<) ?(\\d+)',
  /** "up to 10", "jusqu'à 10": up to N. */
  up_to: "(?:up to|jusqu.a|max|maximum) ?(\\d+)",
  /** "more than 250", "plus de 250", "+ de 250", "> 250": from N + 1. */
  above: '(?:more than|over|above|plus de|\\+ ?de|au.dela de|superieur a|>) ?(\\d+)',
  /** "1000+", "500 or more", "500 et plus", "at least 500": from N, open-ended. */
  at_least: '(\\d+) ?(?:\\+|or more|and more|and above|ou plus|et plus)|(?:at least|au moins|minimum) ?(\\d+)',
  /** "251-500", "11 to 50", "11 à 50": from N to M. */
  between: '(\\d+) ?(?:-|to|a|/|et) ?(\\d+)',
  first: '(\\d+)',
} as const;

/** A company size as typed in a form → the range of employees it states, or null when it states none. */
export function companySizeOf(text: string): SizeRange | null {
  const s = rewrite(text, SIZE_REWRITES);
  const numbers = (pattern: string) => s.match(new RegExp(pattern))?.slice(1).filter((group) => group !== undefined).map(Number);
  let n: number[] | undefined;
  if ((n = numbers(SIZE.below))) return { min: Math.min(1, n[0]!), max: Math.max(n[0]! - 1, 0) };
  if ((n = numbers(SIZE.up_to))) return { min: Math.min(1, n[0]!), max: n[0]! };
  if ((n = numbers(SIZE.above))) return { min: n[0]! + 1, max: null };
  if ((n = numbers(SIZE.at_least))) return { min: n[0]!, max: null };
  if ((n = numbers(SIZE.between))) return { min: n[0]!, max: n[1]! };
  if ((n = numbers(SIZE.first))) return { min: n[0]!, max: n[0]! };
  return null;
}

/** A company size's lower bound, the same as companySizeOf(...).min: what a range rule on company_size reads. */
export function numberOf(text: string): number | null {
  return companySizeOf(text)?.min ?? null;
}

/** The folded, rewritten text numberOfSizeTextSql reads: a query can compute it once as a column of its own. */
export function sizeTextSql(expr: string, p: SqlParams): string {
  return rewriteSql(expr, SIZE_REWRITES, 'size_rewrite', p);
}

/**
 * numberOf in SQL, from sizeTextSql's text (an expression used several times, so best a plain column): Nullable(Float64),
 * the branches of companySizeOf in its order (a range need not come first: "Team of 5, 251-500").
 */
export function numberOfSizeTextSql(rewritten: string, p: SqlParams): string {
  // The first number the pattern's first match holds (at_least has it in one of two groups).
  const number = (name: keyof typeof SIZE) => `toFloat64OrNull(arrayFirst(x -> x != '', extractGroups(${rewritten}, ${p.bind(`size_${name}`, SIZE[name])})))`;
  const matches = (name: keyof typeof SIZE) => `match(${rewritten}, ${p.bind(`size_${name}`, SIZE[name])})`;
  return (
    `multiIf(${matches('below')} OR ${matches('up_to')}, least(toNullable(1.), coalesce(${number('below')}, ${number('up_to')})), ` +
    `${matches('above')}, ${number('above')} + 1, ${matches('at_least')}, ${number('at_least')}, ${matches('between')}, ${number('between')}, ${number('first')})`
  );
}

// ---- Amounts ---------------------------------------------------------------------------------------------------

/**
 * Applied to folded text, in order, before AMOUNT reads it: digit-group separators go, twice for millions ("1 500 000",
 * "1,500,000", "1.500.000"), as for sizes; a decimal comma becomes a point ("2,9"); a hyphen after a letter joins
 * words ("covid-19", "series-b") and is no minus sign.
 */
const AMOUNT_REWRITES: readonly Rewrite[] = [
  DIGIT_GROUPS,
  DIGIT_GROUPS,
  { pattern: '(\\d),(\\d)', js: '$1.$2', sql: '\\1.\\2' },
  { pattern: '([a-z])-', js: '$1 ', sql: '\\1 ' },
];

/** The first number of the rewritten text: its sign, digits and a magnitude word ("k", "M", "million", "Md"…). */
const AMOUNT = '(?:^|[^0-9.])(-?)(\\d+(?:\\.\\d+)?) ?(k|mn|mio|millions?|m|bn|mds?|milliards?|billions?|b)?(?:[^a-z]|$)';
const MILLIONS = ['m', 'mn', 'mio', 'million', 'millions'];
const BILLIONS = ['b', 'bn', 'md', 'mds', 'milliard', 'milliards', 'billion', 'billions'];

/**
 * The number a value states, for range rules on any field but company_size (whose rules read the size's lower bound,
 * numberOf): the first number in it, with its sign, decimals and magnitude, so "-5" is −5, "2,9" 2.9, "12.75%" 12.75,
 * "€25k" 25,000 and "$1M - $5M" 1,000,000 (a range's lower bound); null when it states none.
 */
export function amountOf(text: string): number | null {
  const match = new RegExp(AMOUNT).exec(rewrite(text, AMOUNT_REWRITES));
  if (!match) return null;
  const [, sign, digits, magnitude = ''] = match;
  const scale = magnitude === 'k' ? 1e3 : MILLIONS.includes(magnitude) ? 1e6 : BILLIONS.includes(magnitude) ? 1e9 : 1;
  return (sign ? -1 : 1) * Number(digits) * scale;
}

/** amountOf in SQL: Nullable(Float64). */
export function amountSql(expr: string, p: SqlParams): string {
  const groups = `extractGroups(${rewriteSql(expr, AMOUNT_REWRITES, 'amount_rewrite', p)}, ${p.bind('amount', AMOUNT)})`;
  return letSql(
    'amount_groups',
    groups,
    `if(empty(amount_groups), NULL, if(amount_groups[1] = '-', -1., 1.) * toFloat64(amount_groups[2])
      * multiIf(amount_groups[3] = 'k', 1e3, has(${p.bind('amount_millions', MILLIONS, 'Array(String)')}, amount_groups[3]), 1e6,
        has(${p.bind('amount_billions', BILLIONS, 'Array(String)')}, amount_groups[3]), 1e9, 1.))`,
  );
}

// ---- Country ---------------------------------------------------------------------------------------------------

countries.registerLocale(english);
countries.registerLocale(french);

/** Names people use that the ISO lists (i18n-iso-countries, English and French) spell otherwise. */
const COUNTRY_ALIASES: Record<string, string> = {
  'etats unis': 'US',
  'etats unis d amerique': 'US',
  'u s a': 'US',
  america: 'US',
  amerique: 'US',
  uk: 'GB',
  'u k': 'GB',
  'grande bretagne': 'GB',
  england: 'GB',
  angleterre: 'GB',
  scotland: 'GB',
  ecosse: 'GB',
  wales: 'GB',
  'pays de galles': 'GB',
  'northern ireland': 'GB',
  'irlande du nord': 'GB',
  holland: 'NL',
  hollande: 'NL',
  'pays bas': 'NL',
  'coree du sud': 'KR',
  korea: 'KR',
  russie: 'RU',
  tchequie: 'CZ',
  'republique tcheque': 'CZ',
  suisse: 'CH',
  schweiz: 'CH',
  // The covered countries of the default grid (and neighbours) in their own other languages: a Fleming writes België.
  svizzera: 'CH',
  svizra: 'CH',
  belgie: 'BE',
  belgien: 'BE',
  luxemburg: 'LU',
  letzebuerg: 'LU',
  nederland: 'NL',
  osterreich: 'AT',
  deutschland: 'DE',
  espana: 'ES',
  italia: 'IT',
  'viet nam': 'VN',
  'la reunion': 'RE',
  // Official and regional names a French-speaking form gets.
  quebec: 'CA',
  'canada quebec': 'CA',
  'france metropolitaine': 'FR',
  'grand duche de luxembourg': 'LU',
  'confederation suisse': 'CH',
  'swiss confederation': 'CH',
  'republique francaise': 'FR',
  'royaume de belgique': 'BE',
  'kingdom of belgium': 'BE',
  'confederation helvetique': 'CH',
  'ile maurice': 'MU',
  // Short and common names the ISO lists lack.
  swiss: 'CH',
  'suisse romande': 'CH',
  britain: 'GB',
  'u a e': 'AE',
  eau: 'AE',
  rdc: 'CD',
  drc: 'CD',
  'rd congo': 'CD',
  'congo kinshasa': 'CD',
  'congo brazzaville': 'CG',
  brasil: 'BR',
  bosnia: 'BA',
  macedonia: 'MK',
};

/** words(name) → ISO 3166-1 alpha-2, from both alpha codes and every English and French name. */
const COUNTRY_KEYS: ReadonlyMap<string, string> = (() => {
  const keys = new Map<string, string>();
  const add = (name: string, code: string) => {
    const key = words(name);
    if (key && !keys.has(key)) keys.set(key, code);
  };
  for (const [alpha2, alpha3] of Object.entries(countries.getAlpha2Codes()).map(([a2]) => [a2, countries.alpha2ToAlpha3(a2)] as const)) {
    add(alpha2, alpha2);
    if (alpha3) add(alpha3, alpha2);
  }
  for (const [alias, code] of Object.entries(COUNTRY_ALIASES)) add(alias, code);
  for (const lang of ['en', 'fr']) {
    for (const [code, names] of Object.entries(countries.getNames(lang, { select: 'all' }))) for (const name of names) add(name, code);
  }
  return keys;
})();

/**
 * A longer answer's parts, in the folded answer (fold: typographic dashes and spaces are plain ones there): between
 * commas, slashes, semicolons, bars and dashes set apart by spaces ("Paris, France", "Lyon / France", "Paris – France"),
 * where a name's own hyphen ("Guinée-Bissau") is no separator; and its asides, in parentheses ("Genève (Suisse)").
 */
const COUNTRY_SEPARATOR = '[,/;|]| -+ ';
const COUNTRY_ASIDE = '\\(([^)]*)\\)';
/** An article before a name: "La France", "l'Allemagne", "the Netherlands". */
const COUNTRY_ARTICLE = '^(?:the|la|le|les|l) ';
const [COUNTRY_SEPARATORS, COUNTRY_ASIDES, COUNTRY_ARTICLES] = [new RegExp(COUNTRY_SEPARATOR), new RegExp(COUNTRY_ASIDE, 'g'), new RegExp(COUNTRY_ARTICLE)];

/**
 * The keys (words) a country answer is looked up by, in order: the whole answer ("Korea, Republic of" is a name);
 * then its parts outside parentheses, the last first ("France, Paris", "Paris, France"); then its asides. Each part
 * as written, then without its article.
 */
function countryKeys(text: string): string[] {
  const folded = fold(text);
  const partsOf = (answer: string) =>
    answer
      .split(COUNTRY_SEPARATORS)
      .reverse()
      .map(wordsOfFolded)
      .flatMap((key) => [key, key.replace(COUNTRY_ARTICLES, '')]);
  const asides = [...folded.matchAll(COUNTRY_ASIDES)].map((aside) => aside[1]).join(',');
  return [wordsOfFolded(folded), ...partsOf(folded.replace(COUNTRY_ASIDES, ',')), ...partsOf(asides)];
}

/**
 * A country as typed or picked ("France", "Allemagne", "États-Unis", "UK", "de", "FRA") → ISO alpha-2, or null. A
 * longer answer names it in one of its parts ("Paris - France", "Genève (Suisse)"): the last part outside parentheses
 * that names one, else the last aside; "Paris, Texas" names none.
 */
export function countryCodeOf(text: string): string | null {
  for (const key of countryKeys(text)) {
    const code = COUNTRY_KEYS.get(key);
    if (code) return code;
  }
  return null;
}

/**
 * COUNTRY_KEYS as two texts of its keys and codes, `|` between them (no key holds one: words() keeps letters, digits
 * and spaces), which the query splits into its two constant arrays.
 */
const COUNTRY_TABLE = (() => {
  const [keys, codes] = [[...COUNTRY_KEYS.keys()], [...COUNTRY_KEYS.values()]];
  if ([...keys, ...codes].some((text) => text.includes('|'))) throw new Error('a country key or code holds a |');
  return { keys: keys.join('|'), codes: codes.join('|') };
})();

/**
 * The same in SQL; '' when unknown. The table is written once in the query, as two texts split into arrays, and every
 * key is looked up in it at once: written as two arrays of literals in each lookup, its ~1,000 names were 4 copies and
 * two thirds of the scoring query's tokens, which ClickHouse parses and plans on every run: one lead's scoring 106 →
 * 100 ms, 1,000 leads' 323 → 321 ms (medians of 25, paired), full rescoring as long.
 */
export function countryCodeSql(expr: string, p: SqlParams): string {
  const keys = `splitByChar('|', ${p.bind('country_keys', COUNTRY_TABLE.keys)})`;
  const codes = `splitByChar('|', ${p.bind('country_codes', COUNTRY_TABLE.codes)})`;
  const [separator, aside, article] = [p.bind('country_separator', COUNTRY_SEPARATOR), p.bind('country_aside', COUNTRY_ASIDE), p.bind('country_article', COUNTRY_ARTICLE)];
  // countryKeys, the answer folded once, and the table looked up once over all the keys.
  const partsOf = (answer: string) =>
    `arrayFlatten(arrayMap(key -> [key, replaceRegexpOne(key, ${article}, '')], arrayMap(part -> ${wordsOfFoldedSql('part', p)}, arrayReverse(splitByRegexp(${separator}, ${answer})))))`;
  const keysOf = letSql(
    'folded',
    foldSql(expr, p),
    `arrayConcat([${wordsOfFoldedSql('folded', p)}], ${partsOf(`replaceRegexpAll(folded, ${aside}, ',')`)}, ${partsOf(`arrayStringConcat(extractAll(folded, ${aside}), ',')`)})`,
  );
  return `arrayFirst(code -> code != '', arrayMap(key -> transform(key, ${keys}, ${codes}, ''), ${keysOf}))`;
}
