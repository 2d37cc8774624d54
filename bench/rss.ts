import { readFileSync } from 'node:fs';

const MB = 1024 * 1024;

function readStatus(pid: number): { rss: number; hwm: number; anon: number; file: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kB('VmRSS'), hwm: kB('VmHWM'), anon: kB('RssAnon'), file: kB('RssFile') };
  } catch {
    // The process has exited; its last sample stands.
    return undefined;
  }
}

export interface RssReport {
  /** The highest sampled VmRSS. */
  peakMB: number;
  /** The kernel's high-water mark (VmHWM) since the process started. */
  hwmMB: number;
  /** At the highest sample: the process's own memory (RssAnon), and pages of mapped files (RssFile: code such as
   * chDB's library, shared with any other process mapping it and given back by the kernel under pressure). */
  peakAnonMB: number;
  peakFileMB: number;
}

export interface RssSampler {
  stop(): RssReport;
}

/** Samples a process's resident memory every `everyMs` from /proc (Linux). */
export function sampleRss(pid: number, everyMs = 200): RssSampler {
  let peak = { rss: 0, anon: 0, file: 0 };
  let hwm = 0;
  const sample = () => {
    const status = readStatus(pid);
    if (!status) return;
    if (status.rss > peak.rss) peak = status;
    hwm = Math.max(hwm, status.hwm);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakMB: peak.rss / MB, hwmMB: hwm / MB, peakAnonMB: peak.anon / MB, peakFileMB: peak.file / MB };
    },
  };
}
