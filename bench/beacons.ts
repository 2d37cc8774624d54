/** The site and origin the benchmark's Hearth config allows; beacons claim to come from there. */
export const BENCH_SITE = 'bench';
export const BENCH_ORIGIN = 'https://www.bench.test';

const PAGES = ['/', '/pricing', '/product/analytics', '/resources/white-paper', '/webinar/spring', '/contact'];

/**
 * Event ids are not random: they encode the run, the request and the event's place in it, so that after a run
 * the benchmark can name exactly which acknowledged events ClickHouse holds (a plain count would also include
 * the requests still in flight when the load generator stopped). The version and variant nibbles keep them
 * valid RFC 9562 UUIDs, which the wire format requires.
 */
export function eventId(runTag: string, seq: number, index: number): string {
  return `${runTag}-0000-4${index.toString(16).padStart(3, '0')}-8000-${seq.toString(16).padStart(12, '0')}`;
}

/** A random 8-hex-digit tag, unique per run, that starts every event id of the run. */
export function newRunTag(): string {
  return Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, '0');
}

/** One beacon as the snippet sends it: a batch of page views and custom events from one visitor's session. */
export function beaconBody(runTag: string, seq: number, events: number, now: number): string {
  // A few thousand visitors per run spread rows over many order-key ranges, as real traffic does.
  const visitor = `v${runTag}${(seq % 4096).toString(36).padStart(3, '0')}`;
  const batch = {
    s: BENCH_SITE,
    v: visitor,
    sid: `s${runTag}${(seq % 8192).toString(36).padStart(3, '0')}`,
    e: Array.from({ length: events }, (_, index) => {
      const path = PAGES[(seq + index) % PAGES.length]!;
      const common = { i: eventId(runTag, seq, index), t: now, u: `${BENCH_ORIGIN}${path}` };
      return index % 2 === 0
        ? { ...common, n: 'v', r: 'https://www.google.com/', ti: `Bench ${path}` }
        : { ...common, n: 't', k: 'cta-click', p: { plan: 'annual', seats: 25, trial: true } };
    }),
  };
  return JSON.stringify(batch);
}
