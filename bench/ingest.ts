// The ingest benchmark (`npm run bench:ingest`): the real `hearth start` and a bare Fastify route, each in its
// own process, loaded by autocannon from a third process with beacons of 1 and 10 events over 50 connections;
// then the events Hearth acknowledged are looked up in its ClickHouse data. It reports and never gates: the exit
// code is 0 whether targets are met or missed, and 1 only when the benchmark itself could not run.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createStoreClient } from '../collector/store/client.ts';
import { spawnClickHouseHttp } from '../test/support/clickhouse-http-process.ts';
import { BENCH_ORIGIN, BENCH_SITE, eventId, newRunTag } from './beacons.ts';
import { killChildren, runForMessage, startServerProcess } from './children.ts';
import type { LoadPhase, LoadReport } from './load.ts';
import { sampleCpu, type CpuReport } from './cpu.ts';
import { sampleRss, type RssReport } from './rss.ts';

// This file runs bundled as dist/bench/ingest.js, next to the bundled load.js and bare-server.js.
const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPORT_FILE = join(ROOT, 'dist/bench/ingest.json');

const TARGETS = { ratioToBare: 0.6, p99Ms: 25, errors: 0, rssMB: 300 };
// A draining write-ahead log may take a while after SIGTERM; past this the server is killed and that is reported.
const STOP_GRACE_MS = 60_000;

const USAGE = `Usage: npm run bench:ingest -- [--duration S] [--warmup S] [--connections N] [--rounds N] [--store embedded|http]

  --duration S      measured seconds per run (default 10; four runs a round)
  --rounds N        rounds of the four runs (default 1); the targets are checked on the medians over the rounds,
                    each Hearth run against the bare run of its own round (this machine's speed drifts by ±25 %)
  --warmup S        unmeasured seconds before each run (default 2)
  --connections N   concurrent connections (default 50)
  --store http      Hearth talks HTTP (CLICKHOUSE_URL) to a ClickHouse HTTP server in another process (the
                    test server over chDB), so Hearth's RSS is the collector's own; default: embedded chDB`;

type Target = 'bare' | 'hearth';

interface Run {
  name: string;
  round: number;
  target: Target;
  eventsPerBeacon: number;
  tag: string;
  load: LoadReport;
  rss: RssReport;
  /** Where the server's CPU went during the load (warmup included), and the machine's. */
  cpu: CpuReport | undefined;
  exitedDuringRun: boolean;
  stop: { code: number | null; signal: string | null; ms: number; killed: boolean };
  /** Hearth only: acknowledged events (warmup and run) and how many of them ClickHouse holds. */
  integrity?: { acknowledgedEvents: number; foundEvents: number; storedEvents: number };
  serverOutput?: string;
}

function fail(message: string): never {
  throw new Error(message);
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '1' },
      store: { type: 'string', default: 'embedded' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name: string, text: string, min: number, max: number) => {
    const value = Number(text);
    if (!(Number.isFinite(value) && value >= min && value <= max)) throw new Error(`--${name} expects a number from ${min} to ${max}, got "${text}"\n\n${USAGE}`);
    return value;
  };
  return {
    duration: number('duration', values.duration, 1, 60),
    warmup: number('warmup', values.warmup, 0, 10),
    connections: Math.round(number('connections', values.connections, 1, 1000)),
    rounds: Math.round(number('rounds', values.rounds, 1, 20)),
    store: values.store === 'http' || values.store === 'embedded' ? values.store : fail(`--store expects embedded or http, got "${values.store}"\n\n${USAGE}`),
  };
}

async function main(): Promise<void> {
  const options = readOptions();
  const work = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  const dataDir = join(work, 'data');
  const configFile = join(work, 'hearth.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      // One load generator, one address: the rate limits would measure themselves.
      limits: { requestsPerMinutePerIp: 1_000_000_000, requestsPerMinutePerSite: 1_000_000_000 },
      sites: [{ id: BENCH_SITE, name: 'Benchmark site', origins: [BENCH_ORIGIN] }],
    }),
  );
  // The stored count is read from the engine's data directory afterwards: Hearth's own (embedded), or the
  // ClickHouse HTTP server's (--store http; its engine in the same layout), once it has stopped.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CLICKHOUSE_')));
  const clickhouseDir = join(work, 'clickhouse-server');
  const clickhouse = options.store === 'http' ? await spawnClickHouseHttp({ dataDir: join(clickhouseDir, 'clickhouse'), entry: join(HERE, 'clickhouse-http-main.js') }) : undefined;
  const hearthEnv = {
    ...baseEnv,
    HEARTH_DATA_DIR: dataDir,
    HEARTH_ADMIN_TOKEN: randomBytes(18).toString('base64url'),
    ...(clickhouse ? { CLICKHOUSE_URL: clickhouse.url } : {}),
  };

  async function measure(target: Target, events: number, round: number): Promise<Run> {
    const name = `${runName(target, events)}${options.rounds > 1 ? `, round ${round}` : ''}`;
    process.stderr.write(`${name}: ${options.warmup} s warmup + ${options.duration} s …\n`);
    const server =
      target === 'bare'
        ? await startServerProcess([join(HERE, 'bare-server.js')], baseEnv, /bare Fastify is running at (http:\/\/\S+)/)
        : await startServerProcess(
            [join(ROOT, 'bin/hearth.cjs'), 'start', '--config', configFile, '--port', '0', '--host', '127.0.0.1'],
            hearthEnv,
            /Hearth is running at (http:\/\/\S+)/,
          );
    const rss = sampleRss(server.pid);
    const cpu = sampleCpu(server.pid, availableParallelism());
    const tag = newRunTag();
    const load = await runForMessage<LoadReport>(
      [
        join(HERE, 'load.js'),
        ...['--url', server.url, '--tag', tag, '--events', String(events), '--connections', String(options.connections)],
        ...['--duration', String(options.duration), '--warmup', String(options.warmup)],
      ],
      (options.warmup + options.duration + 30) * 1000,
    );
    const used = cpu.stop();
    const memory = rss.stop();
    const exitedDuringRun = server.exit() !== undefined;
    const stop = await server.stop(STOP_GRACE_MS);
    const troubled = exitedDuringRun || stop.killed || stop.code !== 0 || load.run.non2xx + load.run.socketErrors > 0;
    return {
      name,
      round,
      target,
      eventsPerBeacon: events,
      tag,
      load,
      rss: memory,
      cpu: used,
      exitedDuringRun,
      stop,
      ...(troubled ? { serverOutput: server.output() } : {}),
    };
  }

  const runs: Run[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const events of [1, 10]) {
      runs.push(await measure('bare', events, round));
      runs.push(await measure('hearth', events, round));
    }
  }

  // Only now that every Hearth run has stopped: chDB binds a data directory to one process at a time.
  await clickhouse?.stop();
  const stored = await storedEventIds(clickhouse ? clickhouseDir : dataDir);
  const storedByTag = new Map<string, number>();
  for (const id of stored) storedByTag.set(id.slice(0, 8), (storedByTag.get(id.slice(0, 8)) ?? 0) + 1);
  for (const run of runs.filter((run) => run.target === 'hearth')) {
    const unacknowledged = new Set(run.load.unacknowledged);
    let found = 0;
    for (let seq = 0; seq < run.load.issued; seq++) {
      if (unacknowledged.has(seq)) continue;
      for (let index = 0; index < run.eventsPerBeacon; index++) if (stored.has(eventId(run.tag, seq, index))) found++;
    }
    run.integrity = {
      acknowledgedEvents: run.load.acknowledged * run.eventsPerBeacon,
      foundEvents: found,
      storedEvents: storedByTag.get(run.tag) ?? 0,
    };
  }

  const report = buildReport(runs, options);
  process.stdout.write(render(report, options));
  mkdirSync(join(ROOT, 'dist/bench'), { recursive: true });
  writeFileSync(REPORT_FILE, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\nresults written to ${REPORT_FILE}\n`);
}

async function storedEventIds(dataDir: string): Promise<Set<string>> {
  const client = createStoreClient({ dataDir });
  try {
    // FINAL collapses retried copies, as every reader of the table does.
    const result = await client.query({ query: 'SELECT toString(event_id) FROM events FINAL', format: 'TabSeparated' });
    return new Set((await result.text()).split('\n').filter(Boolean));
  } finally {
    await client.close();
  }
}

interface Check {
  run: string;
  target: string;
  measured: string;
  pass: boolean;
}

function errorsOf(phase: LoadPhase | undefined): number {
  return phase ? phase.non2xx + phase.socketErrors : 0;
}

const runName = (target: Target, events: number) => `${target === 'bare' ? 'bare Fastify' : 'Hearth'}, ${events} event${events === 1 ? '' : 's'}`;

/** The median of some numbers (the lower middle one of an even count), and how it was made when there are several. */
function median(values: number[], format: (value: number) => string): { value: number; measured: string } {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { value, measured: values.length > 1 ? `${format(value)} (median of ${values.map(format).join(', ')})` : format(value) };
}

function buildReport(runs: Run[], options: ReturnType<typeof readOptions>) {
  // Each Hearth run is compared with the bare run of its own round, made just before it.
  const ratioOf = (run: Run) => {
    const bare = runs.find((other) => other.target === 'bare' && other.eventsPerBeacon === run.eventsPerBeacon && other.round === run.round)!;
    return run.load.run.requestsPerSecond / bare.load.run.requestsPerSecond;
  };
  const checks: Check[] = [];
  for (const events of [1, 10]) {
    const hearth = runs.filter((run) => run.target === 'hearth' && run.eventsPerBeacon === events);
    const name = runName('hearth', events);
    const ratio = median(hearth.map(ratioOf), (value) => `${value.toFixed(2)}×`);
    const p99 = median(hearth.map((run) => run.load.run.latencyMs.p99), (value) => `${value} ms`);
    const errors = hearth.reduce((sum, run) => sum + errorsOf(run.load.run) + errorsOf(run.load.warmup), 0);
    const highest = hearth.reduce((top, run) => (run.rss.hwmMB > top.rss.hwmMB ? run : top));
    const acknowledged = hearth.reduce((sum, run) => sum + run.integrity!.acknowledgedEvents, 0);
    const found = hearth.reduce((sum, run) => sum + run.integrity!.foundEvents, 0);
    const stored = hearth.reduce((sum, run) => sum + run.integrity!.storedEvents, 0);
    const stopped = (run: Run) => !run.exitedDuringRun && !run.stop.killed && run.stop.code === 0;
    const slowest = hearth.find((run) => !stopped(run)) ?? hearth.reduce((top, run) => (run.stop.ms > top.stop.ms ? run : top));
    checks.push(
      { run: name, target: `req/s ≥ ${TARGETS.ratioToBare}× bare Fastify`, measured: ratio.measured, pass: ratio.value >= TARGETS.ratioToBare },
      { run: name, target: `p99 ≤ ${TARGETS.p99Ms} ms`, measured: p99.measured, pass: p99.value <= TARGETS.p99Ms },
      { run: name, target: 'errors = 0 (warmup included)', measured: String(errors), pass: errors === TARGETS.errors },
      {
        run: name,
        target: `peak RSS ≤ ${TARGETS.rssMB} MB`,
        measured: `${highest.rss.hwmMB.toFixed(0)} MB (at the highest sample: ${highest.rss.peakAnonMB.toFixed(0)} MB own memory, ${highest.rss.peakFileMB.toFixed(0)} MB mapped files)`,
        pass: highest.rss.hwmMB <= TARGETS.rssMB,
      },
      {
        run: name,
        target: 'acknowledged = stored',
        measured: `${int(acknowledged)} acknowledged, ${int(found)} of them in ClickHouse (${int(stored)} rows stored)`,
        pass: found === acknowledged,
      },
      {
        run: name,
        target: 'stops cleanly on SIGTERM',
        measured: slowest.exitedDuringRun
          ? `exited during the run (${slowest.stop.signal ?? slowest.stop.code})`
          : slowest.stop.killed
            ? `still running ${STOP_GRACE_MS / 1000} s after SIGTERM, killed`
            : `${slowest.stop.signal ? `died of ${slowest.stop.signal}` : `exit ${slowest.stop.code}`} ${(slowest.stop.ms / 1000).toFixed(1)} s after SIGTERM${hearth.length > 1 ? ' (the slowest)' : ''}`,
        pass: hearth.every(stopped),
      },
    );
  }
  const rows = runs.map((run) => {
    const phase = run.load.run;
    const ratio = run.target === 'hearth' ? ratioOf(run) : undefined;
    return {
      run: run.name,
      target: run.target,
      eventsPerBeacon: run.eventsPerBeacon,
      requestsPerSecond: phase.requestsPerSecond,
      // Scaled from autocannon's req/s (a per-second average) so that the two columns agree.
      eventsPerSecond: phase.completed ? (phase.requestsPerSecond * run.eventsPerBeacon * phase.ok) / phase.completed : 0,
      latencyMs: phase.latencyMs,
      errors: errorsOf(phase),
      peakRssMB: run.rss.hwmMB,
      ratioToBare: ratio,
      details: { ...run, load: { ...run.load, unacknowledged: run.load.unacknowledged.length } },
    };
  });
  return {
    benchmark: 'ingest',
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    connections: options.connections,
    rounds: options.rounds,
    durationSeconds: options.duration,
    warmupSeconds: options.warmup,
    targets: TARGETS,
    rows,
    checks,
    missed: checks.filter((check) => !check.pass).length,
  };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${Number.isInteger(n) ? n : n.toFixed(1)} ms`;

function table(header: string[], body: string[][], rightAligned: (column: number) => boolean): string {
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (rightAligned(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '─'.repeat(width))), ...body.map(line)].join('\n') + '\n';
}

function render(report: ReturnType<typeof buildReport>, options: ReturnType<typeof readOptions>): string {
  let out = `\nHearth ingest (${options.store === 'http' ? 'ClickHouse over HTTP in another process' : 'embedded chDB'}): ${options.connections} connections, ${options.duration} s per run after ${options.warmup} s warmup${options.rounds > 1 ? `, ${options.rounds} rounds (targets on the medians)` : ''}, Node ${report.node}, ${report.cpus} CPUs\n\n`;
  out += table(
    ['run', 'req/s', 'events/s', 'p50', 'p99', 'errors', 'peak RSS', 'vs bare'],
    report.rows.map((row) => [
      row.run,
      int(row.requestsPerSecond),
      int(row.eventsPerSecond),
      ms(row.latencyMs.p50),
      ms(row.latencyMs.p99),
      int(row.errors),
      `${row.peakRssMB.toFixed(0)} MB`,
      row.ratioToBare === undefined ? '' : `${row.ratioToBare.toFixed(2)}×`,
    ]),
    (column) => column > 0,
  );
  for (const row of report.rows) {
    const codes = row.details.load.run.statusCodes;
    const odd = Object.keys(codes).filter((code) => !code.startsWith('2'));
    if (odd.length || row.details.load.run.socketErrors) {
      out += `  ${row.run}: status ${Object.entries(codes).map(([code, count]) => `${code}×${count}`).join(', ')}; `;
      out += `${row.details.load.run.socketErrors} socket errors of which ${row.details.load.run.timeouts} timeouts\n`;
    }
  }
  out += '\nCPU during the load (cores; the server by thread, and the whole machine, load generator included):\n';
  for (const row of report.rows) {
    const cpu = row.details.cpu;
    if (!cpu) continue;
    const server = cpu.main + cpu.node + cpu.clickhouse;
    const parts = `main thread ${cpu.main.toFixed(2)}, Node's other threads ${cpu.node.toFixed(2)}${row.target === 'hearth' ? `, ClickHouse's own threads ${cpu.clickhouse.toFixed(2)}` : ''}`;
    out += `  ${row.run}: server ${server.toFixed(2)} (${parts}), ${((cpu.main * 1e6) / row.requestsPerSecond).toFixed(0)} µs of main thread a request; machine ${cpu.machine.toFixed(2)} of ${cpu.cpus}\n`;
  }
  out += '\n';
  out += table(
    ['Hearth run', 'target', 'measured', ''],
    report.checks.map((check) => [check.run, check.target, check.measured, check.pass ? 'PASS' : 'MISSED']),
    () => false,
  );
  out += report.missed ? `\nMISSED ${report.missed} of ${report.checks.length} targets\n` : `\nall ${report.checks.length} targets met\n`;
  for (const row of report.rows) {
    if (row.details.serverOutput) out += `\n${row.run}: the server's last output:\n${row.details.serverOutput.trimEnd()}\n`;
  }
  return out;
}

process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers and the load generator\n`);
    process.exit(130);
  });
}
try {
  await main();
  process.exit(0);
} catch (err) {
  process.stderr.write(`bench:ingest: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
