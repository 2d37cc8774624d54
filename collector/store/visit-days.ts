import type { ClickHouseClient } from '@clickhouse/client';
import { readMigrations } from './migrate.ts';

const MIGRATION = '019_visit_days';
const VIEW = /^CREATE MATERIALIZED VIEW IF NOT EXISTS visit_days_of_events TO visit_days AS\s+(SELECT [\s\S]+)$/;

let select: string | undefined;

/** The SELECT by which migration 019's materialized view makes visit_days rows of events, as the file writes it. */
export function visitDaysSelect(): string {
  select ??= readMigrations()
    .find((migration) => migration.name === MIGRATION)
    ?.statements.map((statement) => VIEW.exec(statement)?.[1])
    .find((found) => found !== undefined);
  if (select === undefined) throw new Error(`${MIGRATION}.sql holds no materialized view of visit_days`);
  return select;
}

/**
 * Makes the visit_days rows of some of a site's browsers again from their events as they are now, as the materialized
 * view made them as the events landed: after some of their events were deleted (an erasure), a visit of those alone
 * must leave the dashboards too. Its rows are deleted, then made again: an event that lands meanwhile has its row
 * made by the view as well, which merges into the same row. `deleteWhere` is the erasure's synchronous deletion.
 */
export async function rebuildVisitDays(
  client: Pick<ClickHouseClient, 'command'>,
  site: string,
  browsers: string[],
  deleteWhere: (table: string, condition: string, params: Record<string, unknown>) => Promise<unknown>,
): Promise<void> {
  if (browsers.length === 0) return;
  const params = { site, browsers };
  await deleteWhere('visit_days', 'visitor_id IN {browsers:Array(String)}', params);
  await client.command({
    // The filter is on two of the grouping keys: ClickHouse applies it to the events before grouping them.
    query: `INSERT INTO visit_days SELECT * FROM (${visitDaysSelect()}) WHERE site_id = {site:String} AND visitor_id IN {browsers:Array(String)}`,
    query_params: params,
  });
}
