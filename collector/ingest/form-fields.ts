/** A field about the job (`about`) whose name does not also say it is the title. */
function notTheTitle(about: string, titleWords = ''): RegExp {
  return new RegExp(`^(?!.*(?:title|poste|intitul${titleWords})).*(?:${about})`);
}

/**
 * Maps a form field to the declarative key Hearth knows it by. The snippet sends each field it read under
 * `data-hearth-field`'s value, or under "type name id autocomplete" (so always with spaces); its own filter
 * (sdk/src/forms.ts, the pattern of a declarative field) is deliberately loose to stay small, and this is where precision lives.
 * Order matters: "company_size" is a size before it is a company; "organization-title" a title; "company_industry",
 * "company_country" and "company_phone" an industry, a country and a phone; "nom-entreprise" a company, not a last name.
 */
export const FORM_FIELDS: ReadonlyArray<readonly [key: string, pattern: RegExp]> = [
  // "Votre mail", "e_mail", "adresse_mail": mail as a word of its own (not "mailing", "gmail").
  ['email', /e-?mail|courriel|(?:^|[^a-z])mail(?:$|[^a-z])/],
  // Employees, employés, nb_employes, nombre de salariés (not an employer, which is a company).
  ['company_size', /size|employ[eé](?!r)|salari[eé]|headcount|effectif|staff|taille/],
  // About the job, not its title: a grade ("Job Level": "C-Level"; "seniority"), a department (HubSpot's "job_function":
  // "Marketing"), a part in a purchase or a title ("role", "jobRole", "buyingRole"). Each is kept under its own key, and
  // stands for the title of a lead who never gave one (scoring's TITLE_STAND_INS): filed as the title, the first of
  // them in a form replaced it.
  // "Title", "poste" or a French "fonction" (a job title) named in the field make it the title all the same.
  ['job_level', notTheTitle('(?:job|role|position).?(?:level|grade)|seniority|s[eé]niorit[eé]|niveau.?hi[eé]rarchique')],
  ['job_function', notTheTitle('(?:job|role).?(?:function|area|family|category|department)|department')],
  ['job_role', notTheTitle('(?:^|[^a-z])roles?(?:$|[^a-z])|(?:job|primary|buying|buyer|purchas(?:e|ing)|decision|business|your).?roles?', '|fonction')],
  ['job_title', /job|title|position|role|fonction|poste/],
  // "Secteur d'activité", or "activité" alone: a French form's line of business.
  ['industry', /industr|sector|secteur|activit[eé]/],
  ['country', /countr|pays/],
  // "tel" as a word of its own ("tel_fixe", "num_tel"; not "hotel"), and "portable", a French mobile.
  ['phone', /phone|(?:^|[^a-z])tel(?:$|[^a-z])|mobile|portable/],
  // Before the names: "nom-entreprise", "nom de la société" and "company_name" are a company's name.
  ['company', /compan|organi[sz]ation|soci[eé]t[eé]|raison.?sociale|entreprise|employer/],
  ['first_name', /first.?name|given|fname|pr[eé]nom/],
  // "Nom complet" is a full name; "nom", "nom_famille", "nom-de-famille", "nomFamille" a last name.
  ['full_name', /nom.?complet/],
  ['last_name', /last.?name|family|surname|lname|(?:^|[^a-z])nom(?:$|[^a-z])|nom.?(?:de.?)?famille/],
  ['full_name', /\bname\b|full.?name/],
];

/**
 * A field's autocomplete token (the HTML standard's autofill field names) says what it holds more surely than its
 * name or id, which sites choose freely: "title … honorific-prefix" is "Dr", not a job title; "nom-entreprise …
 * organization" a company, not a last name; "pays … country-name" a country, not a name. Tokens for other things
 * (addresses, birthdays, URLs…) mean the field is none of Hearth's.
 */
const AUTOFILL: ReadonlyMap<string, string> = new Map([
  ['email', 'email'],
  ['given-name', 'first_name'],
  ['family-name', 'last_name'],
  ['name', 'full_name'],
  ['organization-title', 'job_title'],
  ['organization', 'company'],
  ['country', 'country'],
  ['country-name', 'country'],
  ['tel', 'phone'],
  ['tel-national', 'phone'],
]);
const OTHER_AUTOFILL: ReadonlySet<string> = new Set([
  'honorific-prefix', 'honorific-suffix', 'additional-name', 'nickname', 'username', 'street-address', 'address-line1', 'address-line2', 'address-line3',
  'address-level1', 'address-level2', 'address-level3', 'address-level4', 'postal-code', 'bday', 'bday-day', 'bday-month', 'bday-year', 'sex', 'url', 'photo',
  'language', 'impp', 'tel-country-code', 'tel-area-code', 'tel-local', 'tel-local-prefix', 'tel-local-suffix', 'tel-extension',
]);

/** The tokens, for a cut descriptor's prefix. */
const [AUTOFILL_TOKENS, OTHER_AUTOFILL_TOKENS] = [[...AUTOFILL.keys()], [...OTHER_AUTOFILL]];

/**
 * What the autocomplete token a descriptor ends with says: Hearth's key, `null` for a token of something else, or
 * undefined (no token, or one that says nothing here). A descriptor the snippet cut may end in part of a token: it
 * says what every token it may be the start of says alike ("honorific-pre": something else), and nothing when they
 * differ ("organization" may be "organization-title").
 */
function autofillOf(token: string, cut: boolean): string | null | undefined {
  if (!cut) return AUTOFILL.get(token) ?? (OTHER_AUTOFILL.has(token) ? null : undefined);
  if (token.length < 3) return undefined;
  const known = AUTOFILL_TOKENS.filter((name) => name.startsWith(token)).map((name) => AUTOFILL.get(name)!);
  const other = OTHER_AUTOFILL_TOKENS.some((name) => name.startsWith(token));
  if (known.length === 0) return other ? null : undefined;
  return !other && known.every((key) => key === known[0]) ? known[0] : undefined;
}

/**
 * Fields never kept, whatever else their name says: secrets (passwords, "mdp" for mot de passe, keys, tokens,
 * credentials, sessions), payment and bank details ("nom_sur_la_carte", "cryptogramme" too), identity and tax numbers, one-time codes ("employee_ssn" is not a
 * company size, "company_bank_account" not a company). The snippet skips the obvious ones itself; this holds for any
 * sender, identify traits included. A key is one as a word of its own ("api_key", "apiKey", "license-key"), not
 * inside one ("keywords", "hockey"); so are "mdp", "bic", "nif" and "pin", snake_case too ("company_pin").
 */
const SECRET =
  /pass|pwd|(?:^|[^a-z])mdp(?:$|[^a-z])|secret|token|(?:^|[^a-z])(?:api|access|private|secret|license|licence)?.?key(?:s)?(?:$|[^a-z])|private|authori[sz]ation|(?:^|[^a-z])auth(?:$|[^a-z])|bearer|jwt|credential|cookie|session.?id|csrf|xsrf|card|carte|cryptogramme|cc-|cvv|cvc|iban|(?:^|[^a-z])bic(?:$|[^a-z])|swift|bank|account.?n(?:o|um)|routing|ssn|social.?sec|s[eé]cu|tax|(?:^|[^a-z])nif(?:$|[^a-z])|passport|one.?time|otp|verif|(?:^|[^a-z])pin(?:$|[^a-z])/;

/** Whether a form field's, a trait's or a URL query parameter's name is a secret's (a password, a token, a card…). */
export const isSecretName = (name: string) => {
  const key = name.trim().toLowerCase();
  // India's postal code is named so (an ATM's "atm_pin_code" is a secret).
  return SECRET.test(key) && !/^pin.?code$/.test(key);
};

/** The length at which the snippet cuts a field's descriptor (sdk/src/forms.ts). */
const DESCRIPTOR_MAX = 64;

/**
 * The types a form control's descriptor starts with (an input's, a select's, a textarea's). Another first word is a
 * name: a snippet before the type was sent (one a browser still has cached) sent "name id autocomplete", and a name
 * that is a type there ("email", "tel") says what the type would.
 */
const CONTROL_TYPE = /^(?:text|email|tel|number|url|search|date|datetime-local|month|week|time|color|range|checkbox|radio|select-one|select-multiple|textarea)$/;

/** The declarative key of a field the snippet sent, or undefined when it is none (the value is then dropped). */
export const declarativeKey = (sentKey: string): string | undefined => fieldKeyOf(sentKey, true);

/**
 * The declarative key a field's name, id or autocomplete say, its type aside: formAddress takes a field named as the
 * person's email before an email input named otherwise (a colleague's, a manager's).
 */
export const namedDeclarativeKey = (sentKey: string): string | undefined => fieldKeyOf(sentKey, false);

function fieldKeyOf(sentKey: string, byType: boolean): string | undefined {
  if (isSecretName(sentKey)) return undefined;
  // A descriptor is "type name id autocomplete"; the type counts last (below). (The snippet cuts it at 64 characters:
  // a long name's may hold the type and part of the name alone.)
  const words = sentKey.toLowerCase().split(' ');
  const type = words.length >= 2 && CONTROL_TYPE.test(words[0]!) ? words.shift() : undefined;
  const key = words.join(' ').trim();
  // Only a descriptor has an autocomplete part: its last word (empty when the field has none).
  if (words.length >= 3) {
    const autofill = autofillOf(words.at(-1)!, sentKey.length >= DESCRIPTOR_MAX);
    if (autofill !== undefined) return autofill ?? undefined;
  }
  const known = formFieldOf(key);
  if (known) return known;
  // A key without spaces came from data-hearth-field: the site named it on purpose ("budget", "timeline", "rôle").
  if (!/\s/.test(sentKey) && /^[\p{L}\p{N}_-]{1,64}$/u.test(key)) return key;
  if (!byType) return undefined;
  // A field its name, id and autocomplete say nothing of (a form builder's "field_7", an app's input with none): an
  // email input holds an email, as HubSpot's collected forms read it, but a login's (named login, user, username:
  // signing in is no lead); a phone input named nothing, a phone number (one named otherwise may be a postal code
  // typed on a phone's keypad).
  if (type === 'email' && !/log.?in|user|sign.?in|identifiant|connexion/.test(key)) return 'email';
  if (type === 'tel' && !key) return 'phone';
}

/**
 * The key an identify call's trait is filed under: a form field's it names ("jobTitle", "Job title" → job_title),
 * else its name lower-cased, spaces as underscores ("Budget Range" → budget_range). A trait is named by the site's
 * code, never a field's "type name id autocomplete", so any name is kept but a secret's.
 */
export function traitKey(sentKey: string): string | undefined {
  if (isSecretName(sentKey)) return undefined;
  const key = sentKey.trim().toLowerCase();
  return formFieldOf(key) ?? (key.replace(/\s+/g, '_') || undefined);
}

/** The declarative key a lower-cased field name or descriptor names ("job title" → job_title), if any. */
const formFieldOf = (key: string) => FORM_FIELDS.find(([, pattern]) => pattern.test(key))?.[0];
