export { compileLeadVisitors, compileScoring, globsToRegex, type CompiledScoring, type LeadScore, type RuleKind, type ScoreReason, type ScoringOptions, type Temperature } from './compile.ts';
export { companySizeOf, countryCodeOf, seniorityOf, SENIORITY_LEVELS, type Seniority, type SizeRange } from './normalize.ts';
export { defaultRules, rulesSchema, type PageGroups, type Rules, type RulesInput, type Stage } from './rules.ts';
export { scoreLeads, type ScoringStore } from './store.ts';
export { scoreAccounts, type AccountScore } from './accounts.ts';
