/**
 * Maps a form field to the declarative key Hearth knows it by. The snippet sends each field it read under
 * `data-hearth-field`'s value, or under "name id autocomplete" (so always with spaces); its own filter
 * (sdk/src/forms.ts, DECLARATIVE) is deliberately loose to stay small, and this is where precision lives.
 * Order matters: "company_size" is a size before it is a company; "organization-title" a title.
 */
export const FORM_FIELDS: ReadonlyArray<readonly [key: string, pattern: RegExp]> = [
  ['email', /e-?mail|courriel/],
  ['company_size', /size|employee|headcount|effectif|staff|taille/],
  ['first_name', /first.?name|given|fname|pr[eé]nom/],
  ['last_name', /last.?name|family|surname|lname|\bnom\b/],
  ['job_title', /job|title|position|role|fonction|poste/],
  ['company', /compan|organi[sz]ation|soci[eé]t[eé]|entreprise|employer/],
  ['full_name', /\bname\b|full.?name/],
  ['industry', /industr|sector|secteur/],
  ['country', /countr|pays/],
  ['phone', /phone|\btel\b|mobile/],
];

/**
 * Fields never kept, whatever else their name says: secrets, payment and bank details, identity and tax numbers,
 * one-time codes ("employee_ssn" is not a company size, "company_bank_account" not a company). The snippet skips
 * the obvious ones itself; this holds for any sender.
 */
const SECRET = /pass|secret|token|card|cc-|cvv|cvc|iban|\bbic\b|swift|bank|account.?n(?:o|um)|routing|ssn|social.?sec|s[eé]cu|tax|\bnif\b|passport|one.?time|otp|verif|\bpin\b/;

/** The declarative key of a field the snippet sent, or undefined when it is none (the value is then dropped). */
export function declarativeKey(sentKey: string): string | undefined {
  const key = sentKey.trim().toLowerCase();
  if (SECRET.test(key)) return undefined;
  const known = FORM_FIELDS.find(([, pattern]) => pattern.test(key));
  if (known) return known[0];
  // A key without spaces came from data-hearth-field: the site named it on purpose ("budget", "timeline").
  if (!/\s/.test(sentKey) && /^[a-z0-9_-]{1,64}$/.test(key)) return key;
}
