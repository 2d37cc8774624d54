import { compileScoring, type LeadScore, type ScoringOptions } from './compile.ts';
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

/** Scores a site's leads (or those of `options.visitors`) from raw events, highest score first. */
export async function scoreLeads(store: ScoringStore, rules: Rules, options: ScoringOptions, settings: Record<string, number> = {}): Promise<LeadScore[]> {
  const { query, query_params, clickhouse_settings } = compileScoring(rules, options);
  const result = await store.query({ query, query_params, clickhouse_settings: { ...clickhouse_settings, ...settings }, format: 'JSONEachRow' });
  return result.json<LeadScore>();
}
