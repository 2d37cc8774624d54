import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux's usual builds). */
const TICKS = 100;

/**
 * Where a server's CPU went during a run, in cores (CPU seconds per second of the run): its main thread (the event
 * loop), Node's other threads (libuv's pool: the write-ahead log's fsyncs and the embedded engine's calls, which its
 * binding runs there; V8's compiler and garbage collector) and the threads the embedded ClickHouse starts (parallel
 * query steps, merges); and the whole machine's, load generator included.
 */
export interface CpuReport {
  seconds: number;
  main: number;
  node: number;
  clickhouse: number;
  machine: number;
  cpus: number;
}

export interface CpuSampler {
  stop(): CpuReport | undefined;
}

/** CPU ticks per thread kind of a process, from /proc/PID/task/TID/stat (Linux); undefined once it has exited. */
function threadTicks(pid: number): { main: number; node: number; clickhouse: number } | undefined {
  const ticks = { main: 0, node: 0, clickhouse: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended meanwhile
    }
    // The name may hold spaces and parentheses: it ends at the last ')'. utime and stime are fields 14 and 15.
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const used = Number(fields[11]) + Number(fields[12]);
    // Node's threads keep the process's name; the engine names its own (ThreadPool, MergeMutate, BgSchPool…).
    ticks[tid === String(pid) ? 'main' : name === 'node' || name.startsWith('libuv') || name.startsWith('V8') ? 'node' : 'clickhouse'] += used;
  }
  return ticks;
}

/** The machine's busy and total CPU ticks, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1, 9).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/**
 * Measures a process's CPU by thread kind, and the machine's, from now until stop(); undefined when the process exited
 * meanwhile. A thread that ended before stop() takes its ticks with it: the process's figures are lower bounds.
 */
export function sampleCpu(pid: number, cpus: number): CpuSampler {
  const startedAt = performance.now();
  const before = threadTicks(pid);
  const machineBefore = machineTicks();
  return {
    stop() {
      const after = threadTicks(pid);
      if (!before || !after) return undefined;
      const seconds = (performance.now() - startedAt) / 1000;
      const machineAfter = machineTicks();
      const cores = (ticks: number) => ticks / TICKS / seconds;
      return {
        seconds,
        main: cores(after.main - before.main),
        node: cores(after.node - before.node),
        clickhouse: cores(after.clickhouse - before.clickhouse),
        machine: ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * cpus,
        cpus,
      };
    },
  };
}
