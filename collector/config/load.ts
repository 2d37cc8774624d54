import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { configSchema, type HearthConfig } from './schema.ts';
import { toProblems } from './issues.ts';

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

/** Reads a JSON file (`what` names it in errors: "config", "rules"); answers its absolute path and parsed content. */
export function readJsonFile(file: string, what: string): { path: string; raw: unknown } {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return { path, raw: JSON.parse(text) };
  } catch (err) {
    throw new ConfigError(`${what} file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Parses a config object; a bad value is reported with the file and its path. */
export function parseConfig(raw: unknown, file: string): HearthConfig {
  return parseFile(configSchema, raw, file, 'config');
}

export function loadConfig(file: string): HearthConfig {
  const { path, raw } = readJsonFile(file, 'config');
  return parseConfig(raw, path);
}
