import type { ClickHouseClient } from '@clickhouse/client';
import { compileLeadVisitors, compileScoring, leadScoreOf, type CompiledScoring, type LeadScore, type ScoredRow, type ScoringOptions } from './compile.ts';
import type { Rules } from './rules.ts';
import { queryRows } from './turns.ts';

/** What scoring needs from a store: @clickhouse/client's `query`. */
export type ScoringStore = Pick<ClickHouseClient, 'query'>;

/**
 * Scores a site's leads (or those the visitors of `options.visitors` belong to, with all their visitors) from raw
 * events, highest score first.
 */
export async function scoreLeads(store: ScoringStore, rules: Rules, options: ScoringOptions, settings: Record<string, number> = {}): Promise<LeadScore[]> {
  const run = async <T, R = T>({ query, query_params, clickhouse_settings }: CompiledScoring, shape?: (row: T) => R) =>
    queryRows<T, R>(store, { query, query_params, clickhouse_settings: { ...clickhouse_settings, ...settings } }, shape);
  // One moment for both queries: the lead's visitors are found as of the time its score is computed for.
  options = { ...options, now: options.now ?? new Date() };
  if (options.visitors) {
    if (options.visitors.length === 0) return [];
    const [leads] = await run<{ visitors: string[]; emails: string[] }>(compileLeadVisitors(rules, { ...options, visitors: options.visitors }));
    options = { ...options, visitors: [...new Set([...options.visitors, ...(leads?.visitors ?? [])])], leadEmails: leads?.emails ?? [] };
  }
  return run<ScoredRow, LeadScore>(compileScoring(rules, options), (row) => leadScoreOf(row, rules.signals));
}
