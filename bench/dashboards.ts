// The dashboards benchmark (`npm run bench:dashboards`): a `hearth demo` history (about a million events at the
// default 53,000 visitors) in a temporary data directory, the real server on it, then the p50 and p95 of each API
// call the dashboards make (target ≤ 300 ms) and the first load of the marketing page in Chromium, logged in,
// until every panel shows its figures (target ≤ 1.5 s). It reports and never gates (exit 0 when targets are missed).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../collector/auth/passwords.ts';
import { parseConfig } from '../collector/config/load.ts';
import { demoConfigPath, packageRoot } from '../collector/paths.ts';
import { startServer } from '../collector/server.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../test/support/chromium.ts';

const TARGETS = { apiP95Ms: 300, firstLoadMs: 1500 };
const { values } = parseArgs({
  options: { visitors: { type: 'string', default: '53000' }, repeat: { type: 'string', default: '30' }, loads: { type: 'string', default: '5' } },
});
const visitors = Number(values.visitors);
const repeat = Number(values.repeat);
const loads = Number(values.loads);
const TOKEN = 'bench-dashboards-token';
const USER = { name: 'bench', password: 'bench-dashboards-password' };

const dataDir = mkdtempSync(join(tmpdir(), 'hearth-bench-dashboards-'));
/** The machine's busy CPU time so far, in ms, every core added up (Linux's /proc/stat, in ticks of USER_HZ = 100); NaN elsewhere. */
function machineBusyMs(): number {
  if (!existsSync('/proc/stat')) return NaN;
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * (1000 / 100);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const verdict = (ok: boolean) => (ok ? 'OK' : 'MISSED');

/**
 * Sends one-event beacons one after the other, 20 ms apart, until stopped; then tells their latencies (p50, p99, worst).
 * A beacon waits for the collector's event loop and for its write-ahead log's fsync, which both compete with the work
 * around it.
 */
function beaconProbe(url: string) {
  const times: number[] = [];
  let stopped = false;
  const sending = (async () => {
    for (let n = 0; !stopped; n++) {
      const body = JSON.stringify({ s: 'demo', v: `bench-probe-${n % 100}`, sid: `bench-probe-${n % 100}`, e: [{ i: randomUUID(), t: Date.now(), u: 'http://127.0.0.1:8787/demo/product/analytics', n: 'v' }] });
      const started = performance.now();
      const response = await fetch(`${url}/collect`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1:8787' }, body });
      await response.text();
      if (response.status !== 202) throw new Error(`beacon answered ${response.status}`);
      times.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await sending;
      times.sort((a, b) => a - b);
      return `${times.length} sent, p50 ${percentile(times, 50).toFixed(0)} ms, p99 ${percentile(times, 99).toFixed(0)} ms, worst ${times.at(-1)!.toFixed(0)} ms`;
    },
  };
}

try {
  // The history, written by the CLI exactly as a user would (`hearth demo` also stores every lead's score).
  const demoStarted = performance.now();
  const demo = spawnSync(process.execPath, [join(packageRoot, 'bin', 'hearth.cjs'), 'demo', '--visitors', String(visitors), '--config', demoConfigPath], {
    env: { ...process.env, HEARTH_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  if (demo.status !== 0) throw new Error(`hearth demo failed:\n${demo.stdout}${demo.stderr}`);
  console.log(`${demo.stdout.trim()} (with scores: ${((performance.now() - demoStarted) / 1000).toFixed(1)} s)`);

  const demoConfig = JSON.parse(readFileSync(demoConfigPath, 'utf8'));
  delete demoConfig.$schema;
  const config = parseConfig(
    {
      ...demoConfig,
      server: { host: '127.0.0.1', port: 0 },
      users: [{ name: USER.name, role: 'admin', passwordHash: await hashPassword(USER.password) }],
      // The beacon probe below sends from one address: the rate limits would measure themselves.
      limits: { requestsPerMinutePerIp: 1_000_000_000, requestsPerMinutePerSite: 1_000_000_000 },
    },
    'bench config',
  );
  const server = await startServer({ config, store: { dataDir }, adminToken: TOKEN });
  try {
    // Meanwhile the collector must go on taking beacons: a probe sends one at a time, as a visitor's browser does,
    // while the start rescores every lead, then while the API calls below run.
    const duringPass = beaconProbe(server.url);
    // The start rescores every lead; measure the dashboards once that is done, as they are used all day.
    await server.scorer.settled();
    console.log(`\nbeacons (POST /collect) while the start rescores every lead: ${await duringPass.stop()}`);
    const get = async (path: string) => {
      const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = await response.text();
      if (!response.ok) throw new Error(`${path}: ${response.status} ${body.slice(0, 300)}`);
      return body;
    };
    const hot = JSON.parse(await get('/api/dashboard/leads?site=demo&temperature=hot&limit=1')).leads[0].id as string;
    const calls: [string, string][] = [
      ['marketing: summary (KPIs)', '/api/dashboard/summary?site=demo'],
      ['marketing: timeseries', '/api/dashboard/timeseries?site=demo'],
      ['marketing: funnel', '/api/dashboard/funnel?site=demo'],
      ['marketing: sources', '/api/dashboard/sources?site=demo'],
      ['marketing: content', '/api/dashboard/content?site=demo'],
      ['marketing: pricing', '/api/dashboard/pricing?site=demo'],
      ['marketing: score distribution', '/api/dashboard/score-distribution?site=demo'],
      ['marketing: devices', '/api/dashboard/devices?site=demo'],
      ['marketing: 90-day summary', `/api/dashboard/summary?site=demo&from=${new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10)}`],
      ['sales: inbox (the MQLs)', '/api/dashboard/leads?site=demo&lifecycle=mql&limit=50'],
      ['sales: drill-down (source, 30 days)', `/api/dashboard/leads?site=demo&temperature=warm,hot&source=linkedin&from=${new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10)}`],
      ['sales: lead page', `/api/leads/${hot}?site=demo`],
      ['sales: lead alerts', `/api/alerts?site=demo&lead=${hot}`],
      ['sales: accounts', '/api/dashboard/accounts?site=demo'],
      ['shell: sites and session', '/api/dashboard/sites'],
    ];
    console.log(`\nAPI calls, ${repeat} times each after one warm-up (target p95 ≤ ${TARGETS.apiP95Ms} ms):`);
    for (const [name, path] of calls) {
      await get(path);
      const times: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const started = performance.now();
        await get(path);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const p95 = percentile(times, 95);
      console.log(`  ${name.padEnd(38)} p50 ${percentile(times, 50).toFixed(0).padStart(5)} ms   p95 ${p95.toFixed(0).padStart(5)} ms   ${verdict(p95 <= TARGETS.apiP95Ms)}`);
    }
    // The marketing page's calls all at once, as a browser makes them, over and over, with beacons coming in: what a
    // first load waits for on the server's side, and the collector's CPU time it takes (the engine's threads included).
    const duringLoads = beaconProbe(server.url);
    const pageCalls = calls.filter(([name]) => name.startsWith('marketing') && !name.includes('90-day'));
    const rounds: { ms: number; cpuMs: number }[] = [];
    for (let round = 0; round < 10; round++) {
      const [started, cpu] = [performance.now(), process.cpuUsage()];
      await Promise.all(pageCalls.map(([, path]) => get(path)));
      const used = process.cpuUsage(cpu);
      rounds.push({ ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 });
    }
    console.log(`  beacons (POST /collect) while the marketing page's calls run at once, 10 times: ${await duringLoads.stop()}`);
    const roundMs = rounds.map((round) => round.ms).sort((a, b) => a - b);
    const roundCpu = rounds.map((round) => round.cpuMs).sort((a, b) => a - b);
    console.log(
      `  the marketing page's ${pageCalls.length} calls at once (a first load's wait on the server): p50 ${percentile(roundMs, 50).toFixed(0)} ms, worst ${roundMs.at(-1)!.toFixed(0)} ms, ` +
        `${percentile(roundCpu, 50).toFixed(0)} ms of the collector's CPU (p50) on ${availableParallelism()} cores`,
    );
    // Five people opening the marketing page at the same moment: 35 calls at once, more than the embedded engine's
    // sessions, with beacons coming in (they waited seconds when the calls queued on libuv's threads).
    const duringCrowd = beaconProbe(server.url);
    const crowd: number[] = [];
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      await Promise.all(Array.from({ length: 5 }, () => Promise.all(pageCalls.map(([, path]) => get(path)))));
      crowd.push(performance.now() - started);
    }
    const beaconsInCrowd = await duringCrowd.stop();
    crowd.sort((a, b) => a - b);
    console.log(`  five people's marketing pages at once (${5 * pageCalls.length} calls), 5 times: p50 ${percentile(crowd, 50).toFixed(0)} ms, worst ${crowd.at(-1)!.toFixed(0)} ms; beacons meanwhile: ${beaconsInCrowd}`);
    const exportStarted = performance.now();
    const csv = await get('/api/leads.csv?site=demo');
    console.log(`  (export, not a page call) CSV of every lead: ${csv.split('\r\n').length - 2} rows in ${(performance.now() - exportStarted).toFixed(0)} ms`);

    if (!existsSync(chromiumPath)) {
      console.log(`\nfirst load of /dashboard: skipped (no Chromium at ${chromiumPath}; set HEARTH_CHROMIUM)`);
    } else {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, headless: true });
      try {
        const times: number[] = [];
        // The CPU time of each load: the collector's, and the whole machine's (/proc/stat, Linux), whose rest is
        // mostly Chromium's, on the same cores.
        const cpuSplit: { collector: number; machine: number }[] = [];
        for (let i = 0; i < loads; i++) {
          // A fresh context each time: empty cache, logged in through /login as a person would be.
          const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
          const login = await context.request.post(`${server.url}/login`, { data: USER, headers: { origin: server.url } });
          if (!login.ok()) throw new Error(`logging in failed: ${login.status()} ${await login.text()}`);
          const page = await context.newPage();
          const [started, cpu, machine] = [performance.now(), process.cpuUsage(), machineBusyMs()];
          await page.goto(`${server.url}/dashboard?site=demo`);
          // Loaded: every panel has its figures (no "Loading…" left) and the charts are drawn.
          await page.waitForFunction(() => document.querySelectorAll('.panel').length >= 6 && !document.querySelector('.loading') && document.querySelectorAll('.uplot').length >= 4);
          times.push(performance.now() - started);
          const used = process.cpuUsage(cpu);
          cpuSplit.push({ collector: (used.user + used.system) / 1000, machine: machineBusyMs() - machine });
          await context.close();
        }
        times.sort((a, b) => a - b);
        const worst = times.at(-1)!;
        console.log(`\nfirst load of /dashboard in Chromium (${loads} cold loads, every panel filled): p50 ${percentile(times, 50).toFixed(0)} ms, worst ${worst.toFixed(0)} ms (target ≤ ${TARGETS.firstLoadMs} ms) ${verdict(worst <= TARGETS.firstLoadMs)}`);
        if (cpuSplit.every((load) => Number.isFinite(load.machine))) {
          const collector = percentile(cpuSplit.map((load) => load.collector).sort((a, b) => a - b), 50);
          const others = percentile(cpuSplit.map((load) => load.machine - load.collector).sort((a, b) => a - b), 50);
          console.log(`  CPU time of a load (p50): the collector ${collector.toFixed(0)} ms, the rest of the machine (Chromium, mostly) ${others.toFixed(0)} ms, on ${availableParallelism()} cores`);
        }
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
