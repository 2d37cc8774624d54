// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { amountOf, companySizeOf, countryCodeOf, fold, numberOf, saysNothing, seniorityOf, words } from '../../../scoring/normalize.ts';
import { JOB_TITLES } from '../../support/job-titles.ts';

describe('text folding', () => {
  it.each([
    ['Président-Directeur Général', 'president-directeur general'],
    ['ŒUVRE Ça Ñandú', 'oeuvre ca nandu'],
    ['1\u202f000\u00a0salariés', '1 000 salaries'],
    ['11–50', '11-50'],
    ['Chef d’équipe', "chef d'equipe"],
  ])('folds %j to %j', (input, expected) => expect(fold(input)).toBe(expected));

  it('reduces punctuation to single spaces between words', () => {
    expect(words('  Directeur Général (DG) / Co-Founder ')).toBe('directeur general dg co founder');
  });
});

describe('answers that say nothing', () => {
  // What people type in a required field they will not fill: punctuation, or a word for "no answer".
  const NOTHING = ['', '   ', '-', '.', '?', '...', '--', '/', '\u00a0–\u00a0', 'N/A', 'n/a', 'N.A.', 'na', 'NC', 'n.c.', 'None', 'nothing', 'Unknown',
    'aucun', 'Aucune', 'néant', 'NÉANT', 'Ne\u0301ant', 'neant', 'rien', 'Inconnu', 'inconnue', 'Non communiqué', 'x', 'XXX', ' (n/a) ', '👍'];
  // Real answers, short ones and ones in other scripts included, and words that are an answer to some question.
  const SOMETHING = ['CEO', 'Acme', 'DG', 'IT', '0', '10', 'No', 'Non', 'Test', 'Freelance', 'Nana', 'Xavier', 'Nation', 'None of your business',
    'N/A Corp', 'Aucun problème', '日本電気', 'Москва', 'x-ray', 'NASA', 'NCR'];

  it.each(NOTHING)('%j says nothing', (answer) => expect(saysNothing(answer)).toBe(true));
  it.each(SOMETHING)('%j says something', (answer) => expect(saysNothing(answer)).toBe(false));
});

describe('job title → seniority', () => {
  it.each([
    // C-level, French and English
    ['CEO', 'c_level'],
    ['C.E.O.', 'c_level'],
    ['P.D.G.', 'c_level'],
    ['Directe\u0301ur ge\u0301ne\u0301ral', 'c_level'],
    ['V.P. Marketing', 'vp_director'],
    ['PDG', 'c_level'],
    ['Président-directeur général', 'c_level'],
    ['DG', 'c_level'],
    ['Directeur Général Adjoint', 'c_level'],
    ['Directrice générale', 'c_level'],
    ['Founder', 'c_level'],
    ['Co-founder & CTO', 'c_level'],
    ['Cofondatrice', 'c_level'],
    ['Fondateur', 'c_level'],
    ['Président', 'c_level'],
    ['Chief Revenue Officer', 'c_level'],
    ['Chief Executive', 'c_level'],
    ['CFO', 'c_level'],
    ['Gérant', 'c_level'],
    ['Chef d’entreprise', 'c_level'],
    ['Managing Director', 'c_level'],
    ['Owner', 'c_level'],
    // VP and directors
    ['VP Sales', 'vp_director'],
    ['Vice-Président Commercial', 'vp_director'],
    ['SVP Engineering', 'vp_director'],
    ['Directeur marketing', 'vp_director'],
    ['Marketing Director', 'vp_director'],
    ['Head of Growth', 'vp_director'],
    ['Responsable marketing digital', 'manager'],
    ['DSI', 'vp_director'],
    ['DAF', 'vp_director'],
    // Managers
    ['Marketing Manager', 'manager'],
    ['Chef de projet', 'manager'],
    ['Cheffe de produit', 'manager'],
    ["Chef d'équipe", 'manager'],
    ['Team Lead', 'manager'],
    ['Superviseur logistique', 'manager'],
    ['Coordinatrice RH', 'manager'],
    // Individual contributors, including titles that mention a boss
    ['Développeur', 'individual'],
    ['Chargée de communication', 'individual'],
    ['Software Engineer', 'individual'],
    ['Assistant to the CEO', 'individual'],
    ['Assistante de direction', 'individual'],
    ['Product Owner', 'individual'],
    ['Office Manager', 'individual'],
    ['Consultant', 'individual'],
    // Students
    ['Stagiaire marketing', 'student'],
    ['Étudiant', 'student'],
    ['Étudiante en master', 'student'],
    ['Marketing Intern', 'student'],
    ['Alternant commercial', 'student'],
    ['Apprentie', 'student'],
    ['Working student', 'student'],
    ['Stagiaire auprès du PDG', 'student'],
  ])('%j is %s', (title, level) => expect(seniorityOf(title)).toBe(level));

  // The table a B2B sales team would fill in, with the reasons for the debatable ones (test/support/job-titles.ts).
  it.each(JOB_TITLES)('%j is on the level %s', (title, level) => expect(seniorityOf(title)).toBe(level));

  it('says nothing about an empty title', () => {
    expect(seniorityOf('')).toBeNull();
    expect(seniorityOf('  - ')).toBeNull();
  });

  it('does not read a word inside another ("international" is no intern, "founders" no founder)', () => {
    expect(seniorityOf('International Sales Rep')).toBe('individual');
    expect(seniorityOf('Headhunter')).toBe('individual');
  });
});

describe('company size → employee range', () => {
  it.each([
    ['500', { min: 500, max: 500 }],
    ['251-500', { min: 251, max: 500 }],
    ['11–50', { min: 11, max: 50 }],
    ['11 to 50', { min: 11, max: 50 }],
    ['11 à 50 salariés', { min: 11, max: 50 }],
    ['entre 50 et 250', { min: 50, max: 250 }],
    ['1 000+', { min: 1000, max: null }],
    ['1000+', { min: 1000, max: null }],
    ['1,000-5,000', { min: 1000, max: 5000 }],
    ['10 000 - 50 000', { min: 10000, max: 50000 }],
    ['1 000 000+', { min: 1000000, max: null }],
    ['10k+', { min: 10000, max: null }],
    ['2.5k', { min: 2500, max: 2500 }],
    ['1,5k employees', { min: 1500, max: 1500 }],
    ['plus de 250', { min: 251, max: null }],
    // French shorthand for "plus de" and "moins de".
    ['+ de 250', { min: 251, max: null }],
    ['+de 1 000 salariés', { min: 1001, max: null }],
    ['- de 10 salariés', { min: 1, max: 9 }],
    ['Plus de 1 000 salariés', { min: 1001, max: null }],
    ['more than 250 employees', { min: 251, max: null }],
    ['> 250', { min: 251, max: null }],
    ['500 or more', { min: 500, max: null }],
    ['500 et plus', { min: 500, max: null }],
    ['at least 50', { min: 50, max: null }],
    ['au moins 50', { min: 50, max: null }],
    ['250 salariés', { min: 250, max: 250 }],
    ['250 employees', { min: 250, max: 250 }],
    ['moins de 10', { min: 1, max: 9 }],
    ['less than 10', { min: 1, max: 9 }],
    // Comparison signs, and a "k" that covers both ends of a range.
    ['≤ 500', { min: 1, max: 500 }],
    ['<=500', { min: 1, max: 500 }],
    ['≥ 250', { min: 250, max: null }],
    ['>= 250', { min: 250, max: null }],
    ['=> 250', { min: 250, max: null }],
    ['5-10k', { min: 5000, max: 10000 }],
    ['1 - 5k employees', { min: 1000, max: 5000 }],
    ['10 to 50k', { min: 10000, max: 50000 }],
    ['1-2.5k', { min: 1000, max: 2500 }],
    ['500-1k', { min: 500, max: 1000 }],
    ['3k-5k', { min: 3000, max: 5000 }],
    ['< 50', { min: 1, max: 49 }],
    ["jusqu'à 10", { min: 1, max: 10 }],
    ['up to 10', { min: 1, max: 10 }],
  ])('%j is %j', (text, range) => expect(companySizeOf(text)).toEqual(range));

  it.each([
    // INSEE's categories, which French forms offer as answers, and their English likes (QA: an ETI scored nothing).
    ['ETI', { min: 250, max: 4999 }],
    ['Entreprise de taille intermédiaire (ETI)', { min: 250, max: 4999 }],
    ['Grande entreprise', { min: 5000, max: null }],
    ['Grand groupe', { min: 5000, max: null }],
    ['Large enterprise', { min: 5000, max: null }],
    ['PME', { min: 10, max: 249 }],
    ['TPE', { min: 1, max: 9 }],
    // A number said wins over the category.
    ['PME (50-249)', { min: 50, max: 249 }],
  ])('%j is the category %j', (text, range) => expect(companySizeOf(text)).toEqual(range));

  it.each(['', 'self-employed', 'entreprise', 'Enterprise', 'N/A'])('%j states no size', (text) => expect(companySizeOf(text)).toBeNull());

  it('gives range rules the lower bound', () => {
    expect(numberOf('251-500')).toBe(251);
    expect(numberOf('plus de 250')).toBe(251);
    expect(numberOf('n/a')).toBeNull();
  });
});

describe('an answer → the number a range rule on another field than company_size reads', () => {
  it.each([
    ['-5', -5],
    ['−5 %', -5],
    ['growth: -5%', -5],
    ['2.9', 2.9],
    ['2,9', 2.9],
    ['12.75%', 12.75],
    ['0.5', 0.5],
    ['1,500,000', 1_500_000],
    ['1 500 000 €', 1_500_000],
    ['1.500.000', 1_500_000],
    ['€25k', 25_000],
    ['1.5M', 1_500_000],
    ['$1M - $5M', 1_000_000],
    ['3 millions', 3_000_000],
    ['2 Md€', 2_000_000_000],
    ['251-500', 251],
    ['5 - -1', 5],
    ['covid-19', 19],
    ['12 months', 12],
    ['42', 42],
  ])('%j is %j', (text, amount) => expect(amountOf(text)).toBe(amount));

  it.each(['', 'n/a', 'beaucoup', '-'])('%j states none', (text) => expect(amountOf(text)).toBeNull());
});

describe('country → ISO 3166-1 alpha-2', () => {
  it.each([
    ['France', 'FR'],
    ['france', 'FR'],
    ['FR', 'FR'],
    ['fr', 'FR'],
    ['FRA', 'FR'],
    ['Allemagne', 'DE'],
    ['Viet Nam', 'VN'],
    ['La Réunion', 'RE'],
    ['Île Maurice', 'MU'],
    ['Germany', 'DE'],
    ['Deutschland', 'DE'],
    ['United States', 'US'],
    ['United States of America', 'US'],
    ['USA', 'US'],
    ['U.S.A.', 'US'],
    ['États-Unis', 'US'],
    ["États-Unis d'Amérique", 'US'],
    ['UK', 'GB'],
    ['United Kingdom', 'GB'],
    ['Royaume-Uni', 'GB'],
    ['Angleterre', 'GB'],
    ['Great Britain', 'GB'],
    ['Belgique', 'BE'],
    ['Belgium', 'BE'],
    ['Suisse', 'CH'],
    ['Switzerland', 'CH'],
    ['Espagne', 'ES'],
    ['Pays-Bas', 'NL'],
    ['Netherlands', 'NL'],
    ['Côte d’Ivoire', 'CI'],
    ["Côte d'Ivoire", 'CI'],
    ['Ivory Coast', 'CI'],
    ['Corée du Sud', 'KR'],
    ['South Korea', 'KR'],
    ['Japon', 'JP'],
    ['Japan', 'JP'],
    ['Canada', 'CA'],
    ['Luxembourg', 'LU'],
    // The grid's covered countries as their Dutch, German, Luxembourgish and Italian speakers write them.
    ['België', 'BE'],
    ['Belgien', 'BE'],
    ['Luxemburg', 'LU'],
    ['Lëtzebuerg', 'LU'],
    ['Svizzera', 'CH'],
    ['Nederland', 'NL'],
    ['Österreich', 'AT'],
    ['Maroc', 'MA'],
    ['Morocco', 'MA'],
    ['Russie', 'RU'],
    ['Russia', 'RU'],
    // Short and common names the ISO lists lack.
    ['Swiss', 'CH'],
    ['Britain', 'GB'],
    ['U.A.E.', 'AE'],
    ['EAU', 'AE'],
    ['RDC', 'CD'],
    ['DRC', 'CD'],
    ['Brasil', 'BR'],
    // Official and regional names French-speaking forms get.
    ['Québec', 'CA'],
    ['Canada (Québec)', 'CA'],
    ['France métropolitaine', 'FR'],
    ['Grand-Duché de Luxembourg', 'LU'],
    ['Confédération suisse', 'CH'],
    ['République française', 'FR'],
    ['Swiss Confederation', 'CH'],
    // A longer answer: the last of its parts that names a country, else the last aside in parentheses.
    ['France (FR)', 'FR'],
    ['Paris, France', 'FR'],
    ['France, Paris', 'FR'],
    ['Lyon, France (69)', 'FR'],
    ['Brussels, Belgium', 'BE'],
    ['Paris - France', 'FR'],
    ['Paris – France', 'FR'],
    ['Paris — France', 'FR'],
    ['FR - France', 'FR'],
    ['Belgium - BE', 'BE'],
    ['Lyon / France', 'FR'],
    ['Genève (Suisse)', 'CH'],
    ['Bruxelles (Belgique)', 'BE'],
    ['Suisse (Genève)', 'CH'],
    ['USA (Georgia)', 'US'],
    ['Georgia, USA', 'US'],
    // With its article, and names that hold a comma, a hyphen or parentheses of their own.
    ['La France', 'FR'],
    ["l'Allemagne", 'DE'],
    ['Saint-Denis, La Réunion', 'RE'],
    ['Korea, Republic of', 'KR'],
    ['Guinée-Bissau', 'GW'],
    ['Saint Martin (French part)', 'MF'],
  ])('%j is %s', (name, code) => expect(countryCodeOf(name)).toBe(code));

  it.each(['', 'Europe', 'Narnia', 'Île-de-France', 'Paris, Texas', 'Paris - Texas', 'Paris,', 'Le Mans', 'Paris France'])('%j is no country', (name) => expect(countryCodeOf(name)).toBeNull());
});
