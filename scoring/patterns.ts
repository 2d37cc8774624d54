import type { ClickHouseClient } from '@clickhouse/client';
import type { Rules } from './rules.ts';

/** A rule's regular expression and where it is written (`fit[2].pattern`, under the path given for the rules). */
export interface WrittenPattern {
  path: string;
  pattern: string;
}

/** The field rules' patterns, as the scoring query runs them (without case). */
export function rulePatterns(rules: Pick<Rules, 'fit' | 'negative'>, under = ''): WrittenPattern[] {
  const at = (list: string, i: number) => `${under && `${under}.`}${list}[${i}].pattern`;
  return [
    ...rules.fit.flatMap((rule, i) => (rule.pattern === undefined ? [] : [{ path: at('fit', i), pattern: rule.pattern }])),
    ...rules.negative.flatMap((rule, i) => (rule.pattern === undefined ? [] : [{ path: at('negative', i), pattern: rule.pattern }])),
  ];
}

/** ClickHouse's code for a regular expression it cannot compile. */
const CANNOT_COMPILE_REGEXP = '427';

/**
 * The patterns ClickHouse cannot compile, each with RE2's reason. The rules' check parses them with re2js, a port of
 * RE2's parser, which does not bound the compiled program's size as RE2 does: `\pL{1,500}` passes it, and ClickHouse
 * refuses it with "pattern too large" at every scoring, every site's rescoring held up behind it. Checked in one
 * query, each pattern alone only when that one fails.
 */
export async function unrunnablePatterns(client: Pick<ClickHouseClient, 'query'>, patterns: WrittenPattern[]): Promise<{ path: string; message: string }[]> {
  const compile = async (some: WrittenPattern[]) => {
    const params = Object.fromEntries(some.map((written, i) => [`p${i}`, `(?i)${written.pattern}`]));
    const result = await client.query({ query: `SELECT ${some.map((_, i) => `match('', {p${i}:String})`).join(', ')}`, query_params: params, format: 'JSONEachRow' });
    await result.text();
  };
  const refusal = (err: unknown) => {
    if ((err as { code?: string }).code !== CANNOT_COMPILE_REGEXP) throw err;
    const reason = /error: (.*?)(?:\. Look at|$)/.exec((err as Error).message)?.[1] ?? (err as Error).message;
    return `ClickHouse cannot run this regular expression (RE2: ${reason}); a repetition of a large class such as \\pL{1,500} compiles to too large a program: use + or a smaller bound`;
  };
  if (patterns.length === 0) return [];
  try {
    await compile(patterns);
    return [];
  } catch (err) {
    refusal(err);
  }
  const problems: { path: string; message: string }[] = [];
  for (const written of patterns) {
    try {
      await compile([written]);
    } catch (err) {
      problems.push({ path: written.path, message: refusal(err) });
    }
  }
  return problems;
}
