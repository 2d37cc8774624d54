import { compileLeadVisitors, compileScoring, type CompiledScoring, type LeadScore, type ScoringOptions } from './compile.ts';
import type { Rules } from './rules.ts';

/** What scoring needs from a store: @clickhouse/client's `query`, which the collector's client satisfies as it is. */
export interface ScoringStore {
  query(params: {
    query: string;
    query_params: Record<string, unknown>;
    clickhouse_settings: Record<string, number>;
    format: 'JSONEachRow';
  }): Promise<{ json<T>(): Promise<T[]> }>;
}

/**
 * Scores a site's leads (or those the visitors of `options.visitors` belong to, with all their visitors) from raw
 * events, highest score first.
 */
export async function scoreLeads(store: ScoringStore, rules: Rules, options: ScoringOptions, settings: Record<string, number> = {}): Promise<LeadScore[]> {
  const run = async <T>({ query, query_params, clickhouse_settings }: CompiledScoring) =>
    (await store.query({ query, query_params, clickhouse_settings: { ...clickhouse_settings, ...settings }, format: 'JSONEachRow' })).json<T>();
  // One moment for both queries: the lead's visitors are found as of the time its score is computed for.
  options = { ...options, now: options.now ?? new Date() };
  if (options.visitors) {
    if (options.visitors.length === 0) return [];
    const visitors = await run<{ visitor_id: string }>(compileLeadVisitors(rules, { ...options, visitors: options.visitors }));
    options = { ...options, visitors: visitors.map((row) => row.visitor_id) };
  }
  return run<LeadScore>(compileScoring(rules, options));
}
