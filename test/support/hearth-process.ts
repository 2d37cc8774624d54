import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freshDataDir } from './data-dir.ts';

export const HEARTH_BIN = fileURLToPath(new URL('../../bin/hearth.cjs', import.meta.url));

export interface HearthProcess {
  url: string;
  token: string;
  dataDir: string;
  output(): string;
  stop(): Promise<number | null>;
  /** SIGKILL: the process gets no chance to flush or close anything, as in a power cut or the OOM killer. */
  crash(): Promise<void>;
}

/** Runs `hearth start` as a user would (the built CLI, a config file) on a free port; resolves once it prints its URL. */
export async function startHearthProcess(args: string[], env: Record<string, string> = {}): Promise<HearthProcess> {
  const dataDir = env.HEARTH_DATA_DIR ?? freshDataDir({ migrated: true });
  const token = env.HEARTH_ADMIN_TOKEN ?? 'e2e-admin-token';
  const child = spawnHearth(['start', '--port', '0', ...args], { LOG_LEVEL: 'warn', ...env, HEARTH_DATA_DIR: dataDir, HEARTH_ADMIN_TOKEN: token });
  let ended = false;
  const exited = child.exited.then(({ code }) => {
    ended = true;
    return code;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hearth did not start within 30 s:\n${child.output()}`)), 30_000);
    const poll = setInterval(() => {
      const match = /Hearth is running at (http:\/\/\S+)/.exec(child.output());
      if (!match) return;
      clearTimeout(timer);
      clearInterval(poll);
      resolve(match[1]!);
    }, 20);
    exited.then((code) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`hearth exited with ${code} before starting:\n${child.output()}`));
    });
  });
  return {
    url,
    token,
    dataDir,
    output: child.output,
    async stop() {
      if (!ended) child.signal('SIGTERM');
      return exited;
    },
    async crash() {
      if (!ended) child.signal('SIGKILL');
      await exited;
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output; `input` is piped to its stdin. */
export function runHearth(args: string[], env: Record<string, string> = {}, input?: string, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HEARTH_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], cwd });
    child.stdin.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface HearthChild {
  output(): string;
  signal(name: NodeJS.Signals): void;
  /** The exit code, or the signal that ended the process. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the CLI without waiting for anything, to signal it at a chosen moment. */
export function spawnHearth(args: string[], env: Record<string, string> = {}): HearthChild {
  const child = spawn(process.execPath, [HEARTH_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return {
    output: () => output,
    signal: (name) => void child.kill(name),
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
}
