import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Fault, FaultMode } from './clickhouse-http.ts';

const ENTRY = fileURLToPath(new URL('./clickhouse-http-main.ts', import.meta.url));
// Inside the repository, so the bundle's bare imports (chdb) resolve from its node_modules.
const BUNDLE_DIR = fileURLToPath(new URL('../../node_modules/.cache/hearth-test/', import.meta.url));

let bundle: Promise<string> | undefined;

/**
 * Node 20 cannot run the .ts entry: bundle it once per test process. One file name for all, replaced by rename so
 * parallel test processes never spawn a half-written bundle, and nothing is left behind by workers that exit abruptly.
 */
function bundledEntry(): Promise<string> {
  bundle ??= (async () => {
    mkdirSync(BUNDLE_DIR, { recursive: true });
    const outfile = join(BUNDLE_DIR, 'clickhouse-http-main.mjs');
    const result = await build({ entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, write: false, logLevel: 'warning' });
    const staged = `${outfile}.${process.pid}.${randomUUID()}`;
    writeFileSync(staged, result.outputFiles[0]!.contents);
    renameSync(staged, outfile);
    return outfile;
  })();
  return bundle;
}

export interface ClickHouseHttpProcess {
  url: string;
  /** Changes the fault the server injects (see clickhouse-http.ts), through its control endpoint; `query` limits 'slow' to the statements that contain it. */
  setFault(mode: FaultMode, delayMs?: number, query?: string): Promise<Fault>;
  /** Sends a signal (SIGKILL by default: a crash) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server cleanly. */
  stop(): Promise<void>;
  output(): string;
}

export interface SpawnOptions {
  dataDir: string;
  /** Reuse a port to bring a killed server back at the same URL; 0 (default) picks a free one. */
  port?: number | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** An already bundled server to run (the benchmarks ship one in dist/bench); bundled from source when absent. */
  entry?: string | undefined;
}

/** Runs the ClickHouse HTTP server in a child process; resolves once it listens. */
export async function spawnClickHouseHttp({ dataDir, port = 0, username = 'default', password = '', entry: given }: SpawnOptions): Promise<ClickHouseHttpProcess> {
  const entry = given ?? (await bundledEntry());
  const child = spawn(process.execPath, [entry, '--data-dir', dataDir, '--port', String(port), '--user', username, '--password', password], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ClickHouse HTTP server did not start within 30 s:\n${output}`)), 30_000);
    child.stdout.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the ClickHouse HTTP server exited with ${child.exitCode ?? child.signalCode} before listening:\n${output}`));
    });
  });
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return exited;
  };
  return {
    url,
    async setFault(mode, delayMs, query) {
      const response = await fetch(`${url}/__faults`, { method: 'POST', body: JSON.stringify({ mode, delayMs, query }) });
      if (!response.ok) throw new Error(`setting fault ${mode} failed: ${response.status} ${await response.text()}`);
      return (await response.json()) as Fault;
    },
    kill: (name = 'SIGKILL') => signal(name),
    stop: () => signal('SIGTERM'),
    output: () => output,
  };
}
