import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configSchema, type HearthConfig } from './schema.ts';
import { toProblems } from './issues.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses a config object; a bad value is reported with the file and its path, e.g. `hearth.config.json: sites[0].id: …`. */
export function parseConfig(raw: unknown, file: string): HearthConfig {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const lines = toProblems(result.error).map((p) => `  ${file}: ${p.path}: ${p.message}`);
  throw new ConfigError(`invalid config in ${file}:\n${lines.join('\n')}`);
}

export function loadConfig(file: string): HearthConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, path);
}
