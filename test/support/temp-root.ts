import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Vitest's global setup: every temporary file of the run (data directories, config files, the engine's and the
 * browser's own scratch files) goes under one directory, removed when the run ends. A test file's own clean-up
 * cannot be relied on: its worker process is stopped without running `exit` handlers.
 *
 * It also migrates one store, with the built CLI as `hearth migrate` does, for the tests' servers to start from a copy
 * of (data-dir.ts): migrating takes 1.5 s of CPU a store, and a hundred files start one. Migrating itself is the
 * migration tests' own work, each from an empty store.
 */
export default function setup(): (() => void) | undefined {
  // Each project of the run calls this; the first makes the directory. Kept short: Chromium puts a socket in it,
  // and a socket's path has at most 107 characters.
  if (process.env.HEARTH_TESTS_TMPDIR) return undefined;
  const root = mkdtempSync(join(tmpdir(), 'hearth-tests-'));
  process.env.HEARTH_TESTS_TMPDIR = root;
  // Worker processes and the processes they spawn inherit it; os.tmpdir() reads it at every call.
  process.env.TMPDIR = root;
  migrateTemplate(join(root, 'migrated'));
  return () => rmSync(root, { recursive: true, force: true });
}

function migrateTemplate(dataDir: string): void {
  const cli = fileURLToPath(new URL('../../bin/hearth.cjs', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, HEARTH_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  for (const name of ['CLICKHOUSE_URL', 'CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD', 'CLICKHOUSE_DATABASE', 'CLICKHOUSE_CLUSTER']) delete env[name];
  const run = spawnSync(process.execPath, [cli, 'migrate'], { env, encoding: 'utf8' });
  if (run.status === 0) {
    process.env.HEARTH_TESTS_MIGRATED_STORE = dataDir;
    return;
  }
  // A build older than the sources (a file run on its own after an edit) is refused by the CLI: each store migrates.
  process.stderr.write(`tests: each test store migrates on its own, as \`hearth migrate\` did not run: ${(run.stderr || run.stdout || String(run.error)).trim()}\n`);
}
