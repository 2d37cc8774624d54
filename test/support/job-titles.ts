import type { Seniority } from '../../scoring/normalize.ts';

/**
 * Real job titles, French and English, with the level a B2B sales team expects under the article's grid
 * (CEO/PDG/founder 30, manager/director/head 20, students take points away, everyone else is an individual
 * contributor). The unit tests check the TypeScript normaliser against it, the SQL test checks ClickHouse's against
 * the TypeScript one. Where a title is debatable, the reason for its level is written next to it.
 */
export const JOB_TITLES: ReadonlyArray<readonly [title: string, level: Seniority]> = [
  // The one who runs the company, its owners and founders, and officers whose title says "chief … officer".
  ['CEO', 'c_level'],
  ['Chief Executive Officer', 'c_level'],
  ['Co-CEO', 'c_level'],
  ['PDG', 'c_level'],
  ['Présidente-directrice générale', 'c_level'],
  ['DG', 'c_level'],
  // A directeur général délégué is a corporate officer of a French SA, by law the CEO's deputy.
  ['Directrice générale déléguée', 'c_level'],
  // The CEO's level as French forms list it, and a seat in it (QA: 20 points, and a member's 0).
  ['Direction générale', 'c_level'],
  ['Membre de la direction générale', 'c_level'],
  ['Membre du Comex', 'c_level'],
  ['DGD', 'c_level'],
  // The directoire of a two-tier French SA is its executive board: its president is the CEO.
  ['Président du directoire', 'c_level'],
  ['Présidente du conseil de surveillance', 'c_level'],
  ['Chairperson', 'c_level'],
  ['CTO', 'c_level'],
  ['CFO', 'c_level'],
  ['Chief Marketing Officer', 'c_level'],
  ['Co-fondatrice', 'c_level'],
  ['Founder & CEO', 'c_level'],
  // PA or EA in the name of one's company makes no one an assistant.
  ['Managing Director, PA Consulting', 'c_level'],
  // Job levels as forms offer them in a list (a "Job Level" field stands for the title when a form asks no title).
  ['C-Level', 'c_level'],
  ['C-Suite', 'c_level'],
  ['C-level executive', 'c_level'],
  ['CXO', 'c_level'],
  ['Partner', 'c_level'],
  ['Partner Manager', 'manager'],
  ['Channel Partner', 'individual'],
  ['VP or above', 'vp_director'],
  ['Director or above', 'vp_director'],
  ['Individual Contributor', 'individual'],
  ['Non-Manager', 'individual'],
  ['Individual contributor (non-manager)', 'individual'],
  ['C-Level / VP', 'c_level'],
  // A job level named in a title says whom the job serves.
  ['C-Suite Recruiter', 'individual'],
  ['Sales to C-level', 'individual'],
  ['Advisor to the CXO', 'individual'],
  ['Head of C-Suite Events', 'vp_director'],
  ['Executive Assistant to the C-Suite', 'individual'],
  ['CEO, EA Group', 'c_level'],
  // Two jobs in one title are on the higher one's level.
  ['COO & Chief of Staff', 'c_level'],
  ['Gérant', 'c_level'],
  ['Gérante', 'c_level'],
  ['Cheffe d’entreprise', 'c_level'],
  ['Business Owner', 'c_level'],
  ['Owner', 'c_level'],
  ['Owner/Operator', 'c_level'],
  ['Co-owner', 'c_level'],
  ['Partner & Owner', 'c_level'],
  // "Co" written against the title, as the dictionary spells cogérant, is the title shared.
  ['Cogérant', 'c_level'],
  ['Coprésidente', 'c_level'],
  ['Codirecteur', 'vp_director'],
  // Running one's own business is the job: the founder's level. An auto-entrepreneur (below) is a legal status.
  ['Entrepreneur', 'c_level'],

  // Vice-presidents, directors and heads.
  ['VP Sales', 'vp_director'],
  ['Vice-présidente marketing', 'vp_director'],
  ['Head of Growth', 'vp_director'],
  ['Directrice commerciale', 'vp_director'],
  // A deputy director is still on the director level (directeur général adjoint, the CEO's deputy, is c-level).
  ['Directeur adjoint', 'vp_director'],
  ['Directrice adjointe', 'vp_director'],
  // DAF, DSI, RSSI are the French for finance, IT and security directors: a director title, as "Finance Director"
  // is in English. Only a title that says "chief … officer" (CFO, CISO) makes an officer c-level.
  ['DAF', 'vp_director'],
  ['Directeur administratif et financier', 'vp_director'],
  ['RSSI', 'vp_director'],
  // A French company's secrétaire général heads its legal and administrative functions, on the executive committee:
  // a director, whatever "secrétaire" says elsewhere.
  ['Secrétaire général', 'vp_director'],
  ['Secrétaire générale adjointe', 'vp_director'],
  ['Secretary General', 'vp_director'],
  // A chief of staff runs the CEO's office: senior, though no officer ("chief" alone is not c-level, as a chef de
  // projet is no chef d'entreprise). Chef de cabinet is the French title.
  ['Chief of Staff', 'vp_director'],
  ['Cheffe de cabinet', 'vp_director'],
  // In some charities the executive director runs the whole; in companies it is a director's title. Director.
  ['Executive Director', 'vp_director'],
  ['Dir. Marketing', 'vp_director'],
  // PA and EA also stand for public affairs and enterprise architecture: a title only assists when it says whom
  // ("PA to the CEO", "the Chairman's PA"); a VP or head of them leads.
  ['VP EA', 'vp_director'],
  ['PA Director', 'vp_director'],
  ['Head of PA', 'vp_director'],
  ['Directeur PA', 'vp_director'],
  // The chief of staff of the CEO, or the directeur de cabinet of the président, is still no CEO.
  ['Chief of Staff to the CEO', 'vp_director'],
  ['Chef de cabinet du PDG', 'vp_director'],
  ['Directeur de cabinet du Président', 'vp_director'],
  ['Chief of Staff, Office of the CEO', 'vp_director'],
  // Spelled out or not, an assistant vice-president (AVP, a bank's title) is on the VP level.
  ['Assistant Vice President', 'vp_director'],
  ['Asst. VP', 'vp_director'],

  // Managers. "Responsable X" is the French for "X manager" (responsable de magasin, store manager), not "head of".
  ['Responsable marketing', 'manager'],
  ['Responsable commercial', 'manager'],
  ['Resp. communication', 'manager'],
  ['Store Manager', 'manager'],
  ['Chef de projet', 'manager'],
  ['Cheffe de produit', 'manager'],
  ['Engineering Manager', 'manager'],
  ['Sales Mgr', 'manager'],
  ['Superviseure', 'manager'],
  // In English an assistant manager is the manager's deputy, who manages with them (an assistant director too, one
  // step below the director). Not so the assistant *to* a manager, nor the French "assistante manager", a secretary.
  ['Assistant Manager', 'manager'],
  ['Assistant Store Manager', 'manager'],
  ['Assistant Director', 'manager'],
  ['Asst. Mgr', 'manager'],
  ['Asst. Dir.', 'manager'],
  // PA and EA in a title that names another job are that job's letters.
  ['EA Manager', 'manager'],
  ['Responsable PA', 'manager'],

  // Individual contributors, titles that mention a boss or say "manager" without managing anyone included.
  ['Assistant to the Regional Manager', 'individual'],
  ['Assistante manager', 'individual'],
  ['Assistante de direction', 'individual'],
  ['Assistant chef de projet', 'individual'],
  // An executive assistant assists an executive; an account executive sells.
  ['Executive Assistant', 'individual'],
  ['EA to the CEO', 'individual'],
  ['PA to CEO', 'individual'],
  ['PA/EA to the Managing Director', 'individual'],
  ['Chairman’s PA', 'individual'],
  ['EA auprès du PDG', 'individual'],
  ['Account Executive', 'individual'],
  // Manager titles of people who manage no one: an office, a community, client accounts.
  ['Office manager', 'individual'],
  ['Community Manager', 'individual'],
  ['Key Account Manager', 'individual'],
  // Nor does their assistant, whom "Assistant Manager" above would otherwise make a manager.
  ['Assistant Account Manager', 'individual'],
  ['Asst. Community Manager', 'individual'],
  ['Assistant Office Manager', 'individual'],
  ['Responsable grands comptes', 'individual'],
  ['Product Owner', 'individual'],
  // The owner of an account, a service, data or a risk owns no business.
  ['Account Owner', 'individual'],
  ['Service Owner', 'individual'],
  ['Data Owner', 'individual'],
  ['Risk Owner', 'individual'],
  // Those who advise the CEO or work in their office are on the level of the rest of their title.
  ['Advisor to the CEO', 'individual'],
  ['Senior Advisor to the President', 'individual'],
  ['Conseiller du président', 'individual'],
  ['Chargée de mission auprès du DG', 'individual'],
  ['Analyst, CEO Office', 'individual'],
  ['Project Manager, Office of the CEO', 'manager'],
  ['Head of Sales, reporting to the CEO', 'vp_director'],
  ["Chef de projet rattaché au Directeur Général", 'manager'],
  // A gérant de portefeuille manages funds, a gérant de magasin a shop; a gérant of a company runs it (above).
  ['Gérant de portefeuille', 'individual'],
  ['Gérante de patrimoine', 'individual'],
  ['Gérant de magasin', 'manager'],
  ['Consultant', 'individual'],
  ['Consultante senior', 'individual'],
  ['Ingénieure commerciale', 'individual'],
  ['HR Business Partner', 'individual'],
  ['Head Hunter', 'individual'],
  // A fashionable name for office and culture work, not an officer.
  ['Chief Happiness Officer', 'individual'],
  ["Founder's Associate", 'individual'],
  ['Secrétaire', 'individual'],
  ['Auto-entrepreneur', 'individual'],

  // Students, interns and apprentices, whoever they work for.
  ['Stagiaire', 'student'],
  ['Étudiant', 'student'],
  ['Étudiante en école de commerce', 'student'],
  ['Alternante chargée de marketing', 'student'],
  ['PhD Student', 'student'],
  ['Stagiaire assistant manager', 'student'],
  ['Alternant chef de projet digital', 'student'],
  ['Intern', 'student'],
  ['Marketing Intern', 'student'],
  ['Praktikant Marketing', 'student'],
  ['Werkstudentin Vertrieb', 'student'],
  ['Becario de marketing', 'student'],
  ['Estagiário de vendas', 'student'],
  ['Tirocinante', 'student'],

  // Students as what the job deals with, not who holds it.
  ['Head of Student Success', 'vp_director'],
  ['Intern Program Manager', 'manager'],
  ['Internship Coordinator', 'manager'],
  ['International Student Advisor', 'individual'],
  ['Directeur de stage', 'vp_director'],
  ['Responsable des stages et alternance', 'manager'],
  ['Chargée des relations étudiants', 'individual'],
  ['Azubi-Ausbilder', 'individual'],
  ['Becario Program Manager', 'manager'],
];
