// The load generator, run as its own process so that neither server shares an event loop with it. It posts a
// fresh beacon per request (unique event ids), records which requests were acknowledged, and reports to the
// parent over IPC.
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { BENCH_ORIGIN, beaconBody } from './beacons.ts';

export interface LoadPhase {
  seconds: number;
  requestsPerSecond: number;
  completed: number;
  ok: number;
  non2xx: number;
  /** Socket errors and timeouts (autocannon counts timeouts among its errors). */
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export interface LoadReport {
  warmup: LoadPhase | undefined;
  run: LoadPhase;
  /** Requests built over warmup and run, numbered 0 … issued - 1. */
  issued: number;
  /** Requests answered with a 2xx, over warmup and run. */
  acknowledged: number;
  /** The numbers of the requests that were not acknowledged: in flight at the end, refused or failed. */
  unacknowledged: number[];
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    tag: { type: 'string' },
    events: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
  },
  strict: true,
});
const url = values.url!;
const tag = values.tag!;
const events = Number(values.events);
const connections = Number(values.connections);

let issued = 0;
let acked = new Uint8Array(1 << 16);

function markAcknowledged(seq: number): void {
  if (seq >= acked.length) {
    const grown = new Uint8Array(Math.max(acked.length * 2, seq + 1));
    grown.set(acked);
    acked = grown;
  }
  acked[seq] = 1;
}

interface RequestContext {
  seq?: number;
}

async function phase(seconds: number): Promise<LoadPhase> {
  const result = await autocannon({
    url: `${url}/collect`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: BENCH_ORIGIN },
    requests: [
      {
        // autocannon gives each request of a connection its own context and answers on that connection in
        // order, so the context that built a request is the one its response sees.
        setupRequest(request, context) {
          const seq = issued++;
          (context as RequestContext).seq = seq;
          return { ...request, body: beaconBody(tag, seq, events, Date.now()) };
        },
        onResponse(status, _body, context) {
          const seq = (context as RequestContext).seq;
          if (status >= 200 && status < 300 && seq !== undefined) markAcknowledged(seq);
        },
      },
    ],
  });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]));
  return {
    seconds: result.duration,
    requestsPerSecond: result.requests.average,
    completed: result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'],
    ok: result['2xx'],
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}

const warmupSeconds = Number(values.warmup);
const warmup = warmupSeconds > 0 ? await phase(warmupSeconds) : undefined;
const run = await phase(Number(values.duration));
const unacknowledged: number[] = [];
for (let seq = 0; seq < issued; seq++) if (acked[seq] !== 1) unacknowledged.push(seq);
const report: LoadReport = { warmup, run, issued, acknowledged: issued - unacknowledged.length, unacknowledged };
process.send!(report, () => process.exit(0));
