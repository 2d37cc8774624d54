import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { declarativeKey } from '../../../collector/ingest/form-fields.ts';
import { formAddress } from '../../../collector/ingest/wire.ts';
import { closePage, openPage } from './harness.ts';

function form(html: string, attributes: Record<string, string> = {}) {
  const element = document.createElement('form');
  element.innerHTML = html;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.addEventListener('submit', (event) => event.preventDefault());
  document.body.append(element);
  return element;
}
const submit = (element: HTMLFormElement) => element.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));

const DEMO_REQUEST = `
  <input name="email" type="email" autocomplete="email" value="Ada@Acme.test">
  <input name="first_name" autocomplete="given-name" value="Ada">
  <input name="last_name" autocomplete="family-name" value="Lovelace">
  <input name="job_title" autocomplete="organization-title" value="CEO">
  <input name="company" autocomplete="organization" value="Acme">
  <select name="company_size"><option>11-50</option><option selected>251-1000</option></select>
  <select name="industry"><option selected>Logistics</option></select>
  <select name="country" autocomplete="country"><option selected value="FR">France</option></select>
  <input name="phone" type="tel" autocomplete="tel" value="+33 1 23 45 67 89">
  <textarea name="message">We need this by Q3, budget is 40k</textarea>
  <input type="hidden" name="company_id" value="internal-42">
  <input type="password" name="password" value="hunter2">
  <input name="card_name" value="ADA LOVELACE">
  <input name="ccname" value="ADA B LOVELACE">
  <input name="cc_name" value="A. LOVELACE">
  <input name="cc-number" autocomplete="cc-number" value="4111 1111 1111 1111">
  <input name="phone_alt" value="4111-1111-1111-1111">
  <input name="job_secret" data-hearth-ignore value="do not read">
  <input type="checkbox" name="newsletter_title" value="yes">
  <input name="budget" data-hearth-field="budget" value="40k">
  <button type="submit" name="submit">Book a demo</button>`;

describe('form capture', () => {
  // Timers that advance with the clock, but that closePage clears: the snippet's own (its dwell checkpoint) never
  // fire after the test's page, or the test environment, is gone.
  beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
  afterEach(closePage);

  it('sends the declarative fields of a submitted form at once, and nothing sensitive', async () => {
    const page = await openPage();
    submit(form(DEMO_REQUEST, { 'data-hearth-form': 'demo-request' }));
    expect(page.requests).toHaveLength(1);
    const [event] = page.events('f');
    expect(event!.k).toBe('demo-request');
    // As the collector files them (the wire keys are the fields' "name id autocomplete").
    const stored = Object.fromEntries(Object.entries(event!.p!).map(([key, value]) => [declarativeKey(key), value]));
    expect(stored).toEqual({
      email: 'Ada@Acme.test',
      first_name: 'Ada',
      last_name: 'Lovelace',
      job_title: 'CEO',
      company: 'Acme',
      company_size: '251-1000',
      industry: 'Logistics',
      country: 'FR',
      phone: '+33 1 23 45 67 89',
      budget: '40k',
    });
    const body = page.requests[0]!.body;
    // The card numbers whole: the body's random UUIDs may hold "4111" (CI failed so at 06:48).
    for (const secret of ['hunter2', 'internal-42', '4111 1111 1111 1111', '4111-1111-1111-1111', 'ADA LOVELACE', 'ADA B LOVELACE', 'A. LOVELACE', 'do not read', 'budget is 40k']) expect(body).not.toContain(secret);
  });

  it('reads an international phone number, which is no card number however long', async () => {
    const page = await openPage();
    submit(form('<input name="phone" value="0044 20 7946 0958"><input name="mobile" value="+44 7700 900 123 45"><input name="tel" value="5555 5555 5555 4444">'));
    expect(page.events('f')[0]!.p).toEqual({ 'text phone  ': '0044 20 7946 0958', 'text mobile  ': '+44 7700 900 123 45' });
  });

  it('sends the form, never throwing, when a field holds no text (a form-associated custom element\'s number)', async () => {
    const page = await openPage();
    const element = form('<input name="email" value="ce@acme.test"><input name="company_size" value="x">');
    // A design system's slider or multi-select holds a number or an array, where inputs hold text.
    Object.defineProperty(element.elements[1], 'value', { get: () => 42 });
    const errors: unknown[] = [];
    const onError = (event: ErrorEvent) => errors.push(event.error);
    window.addEventListener('error', onError);
    submit(element);
    window.removeEventListener('error', onError);
    expect(errors).toEqual([]);
    expect(page.events('f')[0]!.p).toEqual({ 'text email  ': 'ce@acme.test' });
  });

  it('never throws into the page when a control is named like a property of the form it hides ("elements")', async () => {
    const page = await openPage();
    const element = form('<input name="email" value="e@acme.test"><input name="elements" value="x">');
    // As browsers do (happy-dom does not): the control named "elements" hides the form's own.
    Object.defineProperty(element, 'elements', { value: element.querySelector('[name=elements]') });
    const errors: unknown[] = [];
    const onError = (event: ErrorEvent) => errors.push(event.error);
    window.addEventListener('error', onError);
    submit(element);
    window.removeEventListener('error', onError);
    expect(errors).toEqual([]);
    // Such a form is not read; the next one is.
    expect(page.events('f')).toEqual([]);
    submit(form('<input name="email" value="f@acme.test">', { id: 'next' }));
    expect(page.events('f').map((event) => event.k)).toEqual(['next']);
  });

  it('never sends a French social-security number, accented or not', async () => {
    const page = await openPage();
    submit(form('<input name="email" value="a@acme.test"><input name="numéro_sécurité_sociale" value="185057800608436"><input name="num_secu_sociale" value="185057800608436">'));
    expect(page.events('f')[0]!.p).toEqual({ 'text email  ': 'a@acme.test' });
  });

  it('maps every field it sends to a declarative key on the collector', async () => {
    const page = await openPage();
    submit(form(DEMO_REQUEST));
    const keys = Object.keys(page.events('f')[0]!.p!).map(declarativeKey);
    expect(keys).toEqual(['email', 'first_name', 'last_name', 'job_title', 'company', 'company_size', 'industry', 'country', 'phone', 'budget']);
  });

  it.each([
    ['prenom', 'first_name'],
    ['nom', 'last_name'],
    ['societe', 'company'],
    ['entreprise', 'company'],
    ['fonction', 'job_title'],
    ['poste', 'job_title'],
    ['effectif', 'company_size'],
    ['secteur', 'industry'],
    ['pays', 'country'],
    ['work_email', 'email'],
    ['employees', 'company_size'],
    ['nb_employes', 'company_size'],
    ['nb_salaries', 'company_size'],
    ['nom-entreprise', 'company'],
    ['nom_de_la_societe', 'company'],
    ['raison_sociale', 'company'],
    ['company_name', 'company'],
    ['employer', 'company'],
    ['name', 'full_name'],
  ])('reads a field named "%s" (French and English forms) as %s', async (name, key) => {
    const page = await openPage();
    submit(form(`<input name="${name}" value="x">`));
    const sent = Object.keys(page.events('f')[0]!.p!);
    expect(sent.map(declarativeKey)).toEqual([key]);
  });

  it.each(['message', 'comments', 'utm_campaign_internal', 'consent', 'search', 'password_hint', 'social_security_number', 'securite_sociale', 'nom_sur_la_carte'])('does not read a field named "%s"', async (name) => {
    const page = await openPage();
    submit(form(`<input name="${name}" value="free text">`));
    expect(page.events('f')[0]!.p).toEqual({});
  });

  it('names the form by data-hearth-form, else its id, else its name', async () => {
    const page = await openPage();
    submit(form('<input name="email" value="a@b.test">', { id: 'contact', name: 'contact-form' }));
    submit(form('<input name="email" value="a@b.test">', { name: 'newsletter' }));
    expect(page.events('f').map((e) => e.k)).toEqual(['contact', 'newsletter']);
  });

  it('skips a form marked data-hearth-ignore', async () => {
    const page = await openPage();
    submit(form('<input name="email" value="a@b.test">', { 'data-hearth-ignore': '' }));
    expect(page.events('f')).toEqual([]);
  });

  it('skips a form inside an element marked data-hearth-ignore (an account area, a checkout), as it skips fields there', async () => {
    const page = await openPage();
    const area = document.createElement('section');
    area.setAttribute('data-hearth-ignore', '');
    document.body.append(area);
    area.append(form('<input name="email" value="a@b.test">'));
    submit(area.querySelector('form')!);
    expect(page.events('f')).toEqual([]);
  });

  it('skips the fields inside an element marked data-hearth-ignore: a fieldset, a wrapper', async () => {
    const page = await openPage();
    submit(
      form(`<input name="email" value="ada@acme.test">
        <fieldset data-hearth-ignore><input name="billing_company" value="Billing Co"><input name="billing_phone" value="+33 9"></fieldset>
        <div data-hearth-ignore><p><input name="personal_mobile" value="+33 6"></p></div>`),
    );
    expect(page.events('f')[0]!.p).toEqual({ 'text email  ': 'ada@acme.test' });
  });

  it('reads no button: a row of buttons named as a field gave the last one\'s value, whichever was clicked', async () => {
    const page = await openPage();
    const element = form(`<input name="email" value="ada@acme.test">
      <button name="company_size" value="1-10">1–10</button><button name="company_size" value="5000+">5000+</button>
      <input type="submit" name="job_title" value="Send"><input type="reset" name="company" value="Clear">
      <input type="button" name="industry" value="Pick"><input type="image" name="country" alt="Go">`);
    element.querySelector('button')!.click();
    expect(page.events('f')[0]!.p).toEqual({ 'text email  ': 'ada@acme.test' });
  });

  it('sends nothing for a submit that closes a dialog: a form with method="dialog", or a Cancel button with formmethod="dialog"', async () => {
    const page = await openPage();
    const dialog = document.createElement('dialog');
    dialog.setAttribute('open', '');
    document.body.append(dialog);
    const confirm = form('<input name="email" value="ada@acme.test"><button>OK</button>', { method: 'dialog', id: 'confirm' });
    const demo = form(
      '<input name="email" value="ada@acme.test"><button id="send">Book a demo</button><button id="cancel" value="cancel" formmethod="dialog" formnovalidate>Cancel</button>',
      { method: 'post', id: 'demo' },
    );
    dialog.append(confirm, demo);
    confirm.requestSubmit();
    confirm.querySelector('button')!.click();
    demo.querySelector<HTMLButtonElement>('#cancel')!.click();
    demo.requestSubmit(demo.querySelector<HTMLButtonElement>('#cancel'));
    expect(page.events('f')).toEqual([]);
    // The form's own submit button sends it.
    demo.requestSubmit(demo.querySelector<HTMLButtonElement>('#send'));
    expect(page.events('f').map((e) => e.k)).toEqual(['demo']);
  });

  it('captures form.submit(), which fires no submit event, and requestSubmit()', async () => {
    const page = await openPage();
    const element = form('<input name="email" value="a@b.test">', { id: 'signup' });
    element.action = 'javascript:void 0';
    element.submit();
    element.requestSubmit();
    expect(page.events('f').map((e) => e.k)).toEqual(['signup', 'signup']);
  });

  it('has the collector keep no secret, payment, bank, identity-number or one-time-code field, whatever its name also says', () => {
    for (const descriptor of [
      'employee_ssn  ', 'company_bank_account  ', 'company_tax_id  ', 'phone_verification_code  one-time-code', 'company_iban  ', 'passport_country  ',
      'numero_secu  ', 'card_holder_name  ', 'nom_sur_la_carte  ', 'cryptogramme  ', 'api_token', 'pin  ', 'social_security_number  ', 'securite_sociale  ',
      // Under the names sites and traits give secrets, French ones included: each was kept before.
      'mdp', 'pwd', 'api_key', 'apikey', 'license-key', 'private_key', 'authorization', 'auth', 'jwt', 'sessionid', 'session_id', 'cookie', 'credentials',
    ]) {
      expect(declarativeKey(descriptor), descriptor).toBeUndefined();
    }
    // Look-alikes that are answers.
    for (const [descriptor, key] of [
      ['country_code  ', 'country'], ['licenses', 'licenses'], ['company  organization', 'company'], ['job_title  ', 'job_title'],
      ['keywords', 'keywords'], ['author', 'author'], ['webinar_session', 'webinar_session'], ['hockey_team', 'hockey_team'],
    ]) {
      expect(declarativeKey(descriptor!), descriptor).toBe(key);
    }
  });

  it('records once a submit the page stops to validate (or check a captcha), then sends with form.submit()', async () => {
    const page = await openPage();
    const element = form('<input name="email" value="a@b.test">', { id: 'checked' });
    element.action = 'javascript:void 0';
    element.addEventListener('submit', () => queueMicrotask(() => element.submit()));
    submit(element);
    await Promise.resolve();
    await Promise.resolve();
    expect(page.events('f').map((e) => e.k)).toEqual(['checked']);
  });

  it('files a French form\'s last name however it is spelled, and a "nom complet" as a full name', () => {
    for (const name of ['nom', 'nom_famille', 'nom-de-famille', 'nom de famille', 'nomFamille', 'votre_nom']) expect(declarativeKey(`${name} ${name} `), name).toBe('last_name');
    expect(declarativeKey('nom_complet nom_complet ')).toBe('full_name');
    expect(declarativeKey('prenom prenom ')).toBe('first_name');
    expect(declarativeKey('nom_entreprise nom_entreprise ')).toBe('company');
  });

  it("files a French form's mobile, landline and line of business (secteur d'activité) however they are named", async () => {
    const page = await openPage();
    submit(form(`
      <input name="email" value="ada@acme.test">
      <input name="portable" value="06 12 34 56 78">
      <input name="tel_fixe" value="01 23 45 67 89">
      <input name="activite" value="Logistique">
      <input name="hotel" value="Ritz">`));
    const [sent] = page.events('f');
    // The snippet's loose filter reads the hotel too ("tel"); the collector files the others and drops it.
    expect(Object.keys(sent!.p as object)).toEqual(['text email  ', 'text portable  ', 'text tel_fixe  ', 'text activite  ', 'text hotel  ']);
    expect(Object.keys(sent!.p as object).map(declarativeKey)).toEqual(['email', 'phone', 'phone', 'industry', undefined]);
    expect(declarativeKey("secteur_d_activit\xe9  ")).toBe('industry');
  });

  it('keeps the snippet filter and the collector mapping in step: what the snippet reads, the collector maps', async () => {
    const descriptors = ['email email email', 'fname  ', 'lname  ', 'surname  ', 'position  ', 'role  ', 'organisation  ', 'sector  ', 'mobile  ', 'telephone  '];
    // Every word the collector's mapping knows a field by, as a field's name alone: the snippet reads it too (a French
    // form's "courriel" was mapped to the email, but never sent, and the form made no lead).
    const mappedWords = ['e-mail', 'e_mail', 'mail', 'adresse_mail', 'courriel', 'size', 'employee', 'headcount', 'effectif', 'staff', 'taille', 'firstname', 'givenname', 'given-name', 'prenom', 'pr\xe9nom', 'lastname', 'familyname', 'family_name', 'surname', 'nom', 'nom_famille', 'nom-de-famille', 'nomfamille', 'nom_complet', 'job', 'title', 'position', 'role', 'fonction', 'poste', 'industry', 'sector', 'secteur', 'activite', 'activit\xe9', 'secteur_activite', 'country', 'pays', 'phone', 'tel', 'mobile', 'portable', 'tel_portable', 'num_tel', 'company', 'organization', 'societe', 'soci\xe9t\xe9', 'raison_sociale', 'entreprise', 'employer', 'employes', 'salari\xe9s', 'name', 'fullname'];
    for (const word of mappedWords) descriptors.push(`${word}  `);
    // A text field for each descriptor ("name id autocomplete"), in a form the page submits: the snippet sends them
    // all, as "text name id autocomplete".
    const page = await openPage();
    const element = form('');
    for (const descriptor of descriptors) {
      const [name, id, autocomplete] = descriptor.split(' ');
      const input = document.createElement('input');
      input.name = name!;
      if (id) input.id = id;
      if (autocomplete) input.setAttribute('autocomplete', autocomplete);
      input.value = 'x';
      element.append(input);
    }
    submit(element);
    const sent = Object.keys(page.events('f')[0]!.p as object);
    for (const descriptor of descriptors) {
      expect(sent, descriptor).toContain(`text ${descriptor}`);
      expect(declarativeKey(`text ${descriptor}`), descriptor).toBeDefined();
      // As a snippet before the type was sent sends it (one a browser still has cached).
      expect(declarativeKey(descriptor), descriptor).toBe(declarativeKey(`text ${descriptor}`));
    }
  });

  it("reads an email field by its type when its name, id and autocomplete say nothing (a form builder's, an app's)", async () => {
    const page = await openPage();
    submit(
      form(`<input type="email" aria-label="Work email" value="ada@acme.test">
        <input type="tel" value="+33 1 23 45 67 89">
        <input type="tel" name="zip" value="75001">
        <input type="email" name="field_7" id="input-23" value="ada.l@acme.test">
        <input type="email" aria-label="Your manager's email" value="grace@acme.test">
        <input aria-label="Job title" value="CEO">`),
    );
    const sent = page.events('f')[0]!.p as Record<string, string>;
    // Two email inputs nothing else tells apart are one key: the first, the person's own.
    expect(sent).toEqual({ 'email   ': 'ada@acme.test', 'tel   ': '+33 1 23 45 67 89', 'tel zip  ': '75001', 'email field_7 input-23 ': 'ada.l@acme.test' });
    // A phone input named otherwise may hold another number typed on a phone's keypad (a postal code): not a phone.
    expect(Object.keys(sent).map(declarativeKey)).toEqual(['email', 'phone', undefined, 'email']);
  });

  it("makes a lead of the field named as the person's email before an email input named otherwise (a colleague's)", () => {
    expect(formAddress({ 'email colleague  ': 'colleague@other.test', 'text work_email  ': 'ada@acme.test' }).address).toBe('ada@acme.test');
    expect(formAddress({ 'email colleague  ': 'colleague@other.test', 'text company  ': 'Acme' }).address).toBe('colleague@other.test');
    // A named one that holds no address: the email input's.
    expect(formAddress({ 'text email  ': 'ada@acme', 'email   ': 'ada@acme.test' }).address).toBe('ada@acme.test');
  });

  it("reads no login's email input as a lead's, however it is named", () => {
    for (const descriptor of ['email login  ', 'email username  ', 'email user[login] user_login ', 'email identifiant  ', 'email signin-email-field  ']) {
      expect(declarativeKey(descriptor), descriptor).toBe(descriptor === 'email signin-email-field  ' ? 'email' : undefined);
    }
    // A sign-up form's email named as such is an email, as before.
    expect(declarativeKey('email user_email  ')).toBe('email');
  });

  it('reads the autocomplete token a descriptor cut at 64 characters ends with when every token it may be says the same', () => {
    const cut = (descriptor: string) => descriptor.slice(0, 64);
    /** A text field named `name` whose token the snippet cut after its first `kept` characters. */
    const cutToken = (name: string, token: string, kept: number) => `text ${name.padEnd(64 - kept - 'text '.length - ' id '.length, '_')} id ${token}`.slice(0, 64);
    expect(declarativeKey(cut('text form_contact_title_x1 form_contact_title_x2 honorific-prefix'))).toBeUndefined();
    expect(declarativeKey(cut('select-one contact_company_addr contact_company_add1 address-line1'))).toBeUndefined();
    expect(declarativeKey(cutToken('company_title', 'organization-title', 15))).toBe('job_title');
    // "organiza" may be "organization" or "organization-title": the name says.
    expect(declarativeKey(cutToken('company_title', 'organization-title', 8))).toBe('job_title');
    expect(declarativeKey(cutToken('the_company', 'organization-title', 8))).toBe('company');
    expect(declarativeKey(cutToken('the_company', 'organization-title', 15))).toBe('job_title');
    // A phone input of a long name, cut before its id: the name says, not the type.
    expect(declarativeKey(cut(`tel ${'postal_code_of_the_delivery_address_for_the_order_'.repeat(2)}`))).toBeUndefined();
  });

  it('files a field by its name, id or autocomplete before its type', () => {
    expect(declarativeKey('email work_email  ')).toBe('email');
    expect(declarativeKey('tel mobile  ')).toBe('phone');
    expect(declarativeKey('tel employees  ')).toBe('company_size');
    expect(declarativeKey('email login login username')).toBeUndefined();
    expect(declarativeKey('text company organization-title')).toBe('job_title');
    expect(declarativeKey('text message  ')).toBeUndefined();
  });
});
