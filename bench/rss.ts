import { readFileSync } from 'node:fs';

const MB = 1024 * 1024;

function readStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kB('VmRSS'), hwm: kB('VmHWM') };
  } catch {
    // The process has exited; its last sample stands.
    return undefined;
  }
}

export interface RssSampler {
  /** Stops sampling; `peakMB` is the highest sampled VmRSS, `hwmMB` the kernel's high-water mark (VmHWM) since the process started. */
  stop(): { peakMB: number; hwmMB: number };
}

/** Samples a process's resident memory every `everyMs` from /proc (Linux). */
export function sampleRss(pid: number, everyMs = 200): RssSampler {
  let peak = 0;
  let hwm = 0;
  const sample = () => {
    const status = readStatus(pid);
    if (!status) return;
    peak = Math.max(peak, status.rss);
    hwm = Math.max(hwm, status.hwm);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakMB: peak / MB, hwmMB: hwm / MB };
    },
  };
}
