import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { createScanner } from 'jsonc-parser';
import type { ClickHouseClient } from '@clickhouse/client';
import { unrunnablePatterns, type WrittenPattern } from '../../scoring/patterns.ts';
import { isRecord, withGridLists } from '../../scoring/rules.ts';
import { configSchema, type HearthConfig } from './schema.ts';
import { formatPath, toProblems } from './issues.ts';
import { jsonSyntaxError, repeatedKey, TOKEN, withoutPrototypeKeys } from './json-errors.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a parsed file with a schema; each bad value is reported with the file and its path, e.g. `hearth.config.json: sites[0].id: …`. */
export function parseFile<S extends z.ZodType>(schema: S, raw: unknown, file: string, what: string): z.infer<S> {
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const lines = toProblems(result.error).map((p) => `  ${file}: ${p.path}: ${p.message}`);
  throw new ConfigError(`invalid ${what} in ${file}:\n${lines.join('\n')}`);
}

/**
 * Refuses rules whose patterns ClickHouse cannot compile (unrunnablePatterns), as a bad value is: naming the file and
 * each pattern's path. Needs the store, so it runs once the store is open.
 */
export async function refuseUnrunnablePatterns(client: Pick<ClickHouseClient, 'query'>, file: string, what: string, patterns: WrittenPattern[]): Promise<void> {
  const problems = await unrunnablePatterns(client, patterns);
  if (problems.length > 0) throw new ConfigError(`invalid ${what} in ${file}:\n${problems.map((problem) => `  ${file}: ${problem.path}: ${problem.message}`).join('\n')}`);
}

/** Reads a JSON file (`what` names it in errors: "config", "rules"); answers its absolute path and parsed content. */
export function readJsonFile(file: string, what: string): { path: string; raw: unknown } {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${what} file ${path} ${whyUnreadable(err as NodeJS.ErrnoException)}`);
  }
  // Some editors (Notepad, PowerShell's Out-File) start UTF-8 files with a byte-order mark, which JSON.parse refuses.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  // UTF-16 (PowerShell 5's `>` and Out-File write it) read as UTF-8 is a NUL byte every other character: JSON.parse's
  // "Unexpected token" at 1:1 said nothing of why.
  if (text.includes('\u0000')) throw new ConfigError(`${path}: the ${what} file is not UTF-8 text (it holds NUL bytes, as UTF-16 has); save it as UTF-8`);
  text = blankComments(text);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const { reason, line, column } = jsonSyntaxError((err as Error).message, text);
    throw new ConfigError(`${path}:${line}:${column}: the ${what} file is not valid JSON: ${reason}`);
  }
  let repeated: ReturnType<typeof repeatedKey>;
  try {
    repeated = repeatedKey(text);
  } catch (err) {
    // Its reader recurses per level: a file of lists in lists, tens of thousands deep, is no config or rules file.
    if (err instanceof RangeError) throw new ConfigError(`${path}: the ${what} file nests lists or objects too deeply to be read`);
    throw err;
  }
  if (repeated) {
    const { key, path: where, line, column } = repeated;
    throw new ConfigError(`${path}:${line}:${column}: the ${what} file gives ${JSON.stringify(key)} twice${where.length ? ` in ${formatPath(where)}` : ''}; only the last would count`);
  }
  // A "__proto__" key (a page group, a funnel entry) vanished as the config was read, without a word: it names nothing.
  const prototypeKeys = withoutPrototypeKeys(text, 1);
  if ('paths' in prototypeKeys && prototypeKeys.paths[0]) {
    const [where] = prototypeKeys.paths;
    throw new ConfigError(`${path}: ${formatPath(where)}: a ${JSON.stringify(where.at(-1))} key names no setting, page group or stage; rename it`);
  }
  return { path, raw };
}

/**
 * Comments (// and /* *\/, as in VS Code's settings) blanked out, their line breaks kept, so that every line and column
 * an error names is the file's own. (jsonc-parser's stripComments adds a line break after a line comment that another
 * follows, and errors below a header of comments were named a line or more too low.)
 */
function blankComments(text: string): string {
  const scanner = createScanner(text, false);
  let out = '';
  for (let kind: number = scanner.scan(); kind !== TOKEN.end; kind = scanner.scan()) {
    const token = text.slice(scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength());
    out += kind === TOKEN.lineComment || kind === TOKEN.blockComment ? token.replace(/[^\r\n]/g, ' ') : token;
  }
  return out;
}

function whyUnreadable(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'does not exist (a part of its path is a file, not a directory)';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    default:
      // Node's message ends with the call and the path ("EIO: i/o error, read '…'"), which the caller already names.
      return `cannot be read: ${err.message.replace(/, \w+ '.*'$/, '')}`;
  }
}

/** Parses a config object; a bad value is reported with the file and its path. */
export function parseConfig(raw: unknown, file: string): HearthConfig {
  return parseFile(configSchema, withSitesGridLists(raw), file, 'config');
}

/** Each site's `rules` with the grid's lists for those they leave out (scoring/rules.ts withGridLists). */
function withSitesGridLists(raw: unknown): unknown {
  if (!isRecord(raw) || !Array.isArray(raw.sites)) return raw;
  const sites = raw.sites.map((site: unknown) => (isRecord(site) && site.rules !== undefined ? { ...site, rules: withGridLists(site.rules, site.pageGroups) } : site));
  return { ...raw, sites };
}

export function loadConfig(file: string): HearthConfig {
  const { path, raw } = readJsonFile(file, 'config');
  return parseConfig(raw, path);
}
