import { push } from './transport.ts';

/**
 * Form submits, in the capture phase (before the page's own handlers can stop them), plus `form.submit()`,
 * which fires no submit event (`requestSubmit()` does), unless it ends a submit already recorded: pages that
 * validate or check a captcha stop the submit event, then call `form.submit()`. Sent at once (the submit may navigate
 * away) by a keepalive fetch, which outlives the page, and whose failure is kept for a retry when the page stays. A
 * submit that closes a dialog (method="dialog") sends nothing. The form is named by `data-hearth-form`, else its id
 * or name.
 */
/** A form whose submit event was recorded (an expando, as forms expose their fields by name: "_h" is unlikely). */
type Submitted = HTMLFormElement & { _h?: 0 | 1 };

export function trackForms(): void {
  /**
   * Sends the declarative fields of a form, keyed by `data-hearth-field` or by "type name id autocomplete" (the type
   * tells an email input its name, id and autocomplete say nothing of: collector/ingest/form-fields.ts). Never read:
   * a form or field marked `data-hearth-ignore` or inside an element so marked, passwords, hidden and file inputs,
   * unchecked boxes, buttons, anything card- or secret-like. Written here rather than as a function
   * of its own, and with its regexes where they are used rather than in named constants: fewer bytes of gzip.
   */
  const record = (form: HTMLFormElement, submitter?: HTMLButtonElement | null) => {
    // Never into the page: a control named like a form's own property ("elements", "getAttribute") hides it.
    try {
      // method="dialog" (or a button's formmethod="dialog", a dialog's Cancel) closes a dialog: nothing is sent.
      if (form.closest('[data-hearth-ignore]') || /dia/.test(form.method + submitter?.formMethod)) return;
      const fields: Record<string, string> = {};
      for (const field of form.elements as unknown as Iterable<HTMLInputElement>) {
        // A fieldset in form.elements has no value, and a form-associated custom element's may be no text (a number).
        const value = field.value?.trim?.();
        const explicit = field.getAttribute('data-hearth-field');
        const key = (explicit || field.type + ' ' + field.name + ' ' + field.id + ' ' + field.autocomplete).toLowerCase().slice(0, 64);
        if (
          value &&
          // The type, name, id or autocomplete of a declarative field: email, name, company size, job title, company,
          // industry, country, phone, in English and French. Deliberately loose, to stay small: the collector maps
          // each field to its key with precise patterns (collector/ingest/form-fields.ts) and drops what maps to none.
          // ("soci" is société, societe and raison sociale; "salari" nombre de salariés; "effec" effectif; "portab" a
          // French mobile, "activit" a secteur d'activité; "entrep", "fonct", "indus" and "organ" are entreprise,
          // fonction, industry and organisation cut as far as they stay unmistakable. Given and family names are found by "name": given-name, givenName,
          // family_name.) Written here, not as an exported constant hoisted to the top of the snippet: 10 bytes of gzip.
          // The words' order is the one the built snippet gzips smallest in (6 bytes fewer than the order of the list above).
          (explicit ||
            /headc|name|compan|soci|activit|role|phone|countr|nom|organ|salari|sect|taille|poste|courr|title|portab|fonct|tel|mail|employ|effec|indus|size|job|pays|entrep|mobile|position|staff/.test(
              key,
            )) &&
          // Never read, even when the pattern above matches ("cardholder_name", "nom_sur_la_carte", "passport_country",
          // "company_iban", "social_security", "securite_sociale", "sécurité_sociale").
          !/pass|card|carte|cc[-_n]|iban|s.cu/.test(key) &&
          // Passwords, hidden and file inputs, and unchecked boxes: a checkbox's type and state read "checkboxfalse", a
          // radio's "radiofalse" (no other type ends in x or o; a select's or a textarea's state is undefined).
          // Buttons too: a row of buttons named company_size gave the last one's value, whichever was clicked. (Types
          // "submit", "button", "reset" and "image" are the only ones with "mi", "tt", "res" or "ag". The value of the
          // one clicked, which the browser sends, would cost bytes of gzip the snippet does not have.)
          !/pass|hid|file|[xo]false|mi|tt|res|ag/.test(field.type + field.checked) &&
          // A field marked data-hearth-ignore, or inside an element so marked (a fieldset, a wrapper).
          !field.closest('[data-hearth-ignore]') &&
          // 13 to 19 digits once spaces and dashes are gone, the first from 2 to 6 as a payment card's (Visa 4,
          // Mastercard 2 and 5, Amex 3, UnionPay 6): never read. (A phone number written 0044 20 7946 0958 is read.)
          !/^[2-6]\d{12,18}$/.test(value.replace(/[\s-]/g, ''))
        )
          // The first of fields alike: two email inputs no name tells apart ("Your email", "Your manager's email") are
          // one key, the person's own first.
          fields[key] ||= value.slice(0, 500);
      }
      push('f', { k: form.getAttribute('data-hearth-form') || form.getAttribute('id') || form.getAttribute('name'), p: fields }, true);
    } catch {}
  };
  // On the window, as clicks are (downloads.ts).
  addEventListener(
    'submit',
    (event: SubmitEvent) => {
      const form = event.target as Submitted;
      form._h = 1;
      record(form, event.submitter as HTMLButtonElement | null);
    },
    true,
  );
  const submit = HTMLFormElement.prototype.submit;
  HTMLFormElement.prototype.submit = function (this: Submitted) {
    // Marked by its submit event: this ends it.
    this._h ? (this._h = 0) : record(this);
    submit.call(this);
  };
}
