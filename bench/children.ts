import { spawn, type ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

/** SIGKILLs every child still running; the benchmark calls it on exit, Ctrl-C and errors so nothing is left listening. */
export function killChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function track(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  live.add(child);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
}

// A crashing server can log a line per request; the tail is what explains the crash.
const OUTPUT_TAIL = 64 * 1024;

export interface ServerProcess {
  pid: number;
  url: string;
  /** The last 64 KB of stdout and stderr. */
  output(): string;
  /** Set once the process has exited, whoever stopped it. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended and how long it took. */
  stop(graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; killed: boolean }>;
}

/** Starts a server as a child process and resolves once it prints the URL it listens on (`ready` captures it). */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, startMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = track(child);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((info) => (exitInfo = info));
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2 * OUTPUT_TAIL) output = output.slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start within ${startMs / 1000} s:\n${output}`)), startMs);
    const check = () => {
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${signal ?? code}) before starting:\n${output}`));
    });
  });
  return {
    pid: child.pid!,
    url,
    output: () => output.slice(-OUTPUT_TAIL),
    exit: () => exitInfo,
    async stop(graceMs) {
      const started = Date.now();
      let killed = false;
      if (!exitInfo) child.kill('SIGTERM');
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, graceMs);
      const { code, signal } = await exited;
      clearTimeout(timer);
      return { code, signal, ms: Date.now() - started, killed };
    },
  };
}

/** Runs a script that answers with one IPC message, and resolves with it; kills it after `timeoutMs`. */
export function runForMessage<T>(args: string[], timeoutMs: number): Promise<T> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  void track(child);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as T);
    });
    // 'close' comes after the IPC channel has delivered everything, so a report is never mistaken for missing.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${signal ?? code}) without a report`));
    });
  });
}
