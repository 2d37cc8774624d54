import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, spawnHearth, startHearthProcess } from '../support/hearth-process.ts';
import { companySizeOf } from '../../scoring/normalize.ts';
import { defaultRules } from '../../scoring/rules.ts';

describe('hearth demo', () => {
  it('writes a synthetic history that the leads API then shows', async () => {
    const dataDir = freshDataDir();
    const demo = await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '300', '--seed', '3'], { HEARTH_DATA_DIR: dataDir });
    expect(demo.stderr).toBe('');
    const [, events, leads] = /wrote ([\d,]+) events of 300 visitors \((\d+) leads\) for site "demo"/.exec(demo.stdout) ?? [];
    expect(Number(events!.replaceAll(',', ''))).toBeGreaterThan(3000);
    // What it is doing, as it begins each step (a large history takes minutes), before what it did.
    expect(demo.stdout.split('\n').slice(0, 2)).toEqual(['writing 90 days of 300 visitors for site "demo"…', `scoring ${leads} leads…`]);

    // At the info level, to read what the start's rescoring logs.
    const hearth = await startHearthProcess(['--config', 'test/fixtures/hearth.demo.json'], { HEARTH_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    try {
      const response = await fetch(`${hearth.url}/api/leads?site=demo&limit=1000`, { headers: { authorization: `Bearer ${hearth.token}` } });
      const body = (await response.json()) as { leads: { kind: string }[] };
      expect(body.leads.filter((lead) => lead.kind === 'lead').length).toBe(Number(leads));
      // The start's full rescoring, begun before the server's logger existed, is in the log from its first line (it may
      // take seconds on a busy machine).
      await expect.poll(() => hearth.output(), { timeout: 20_000 }).toContain('rescored every lead and visitor of site \\"demo\\"');
      const lines = hearth.output().split('\n').filter((line) => line.includes('every lead and visitor of site'));
      expect(lines.map((line) => JSON.parse(line).msg.replace(/\(.*$/, ''))).toEqual(['rescoring every lead and visitor of site "demo"', 'rescored every lead and visitor of site "demo" ']);
    } finally {
      await hearth.stop();
    }
  });

  it('stops at Ctrl-C once the visitors being written are, scores those written, and says how far it got', async () => {
    const dataDir = freshDataDir();
    const demo = spawnHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '200000', '--seed', '7'], { HEARTH_DATA_DIR: dataDir });
    for (let tries = 0; !demo.output().includes('writing 90 days of 200,000 visitors') && tries < 600; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    demo.signal('SIGINT');
    // It stopped silently with 130, its visitors' leads never scored.
    expect(await demo.exited).toEqual({ code: 130, signal: null });
    const said = /hearth: stopped by SIGINT after writing ([\d,]+) of 200,000 visitors \(([\d,]+) events, ([\d,]+) leads, scored\) for site "demo" to .*; run it again to write them all \(those written are not written twice\)/.exec(demo.output());
    expect(said, demo.output()).not.toBeNull();
    const written = Number(said![1]!.replaceAll(',', ''));
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(200_000);
    // Their leads are listed, scored, as the demo's own would be.
    const score = await runHearth(['score', '--config', 'test/fixtures/hearth.demo.json', '--json', '--limit', '1'], { HEARTH_DATA_DIR: dataDir });
    expect(JSON.parse(score.stdout).total).toBe(Number(said![3]!.replaceAll(',', '')));
  });

  it('prints the best leads with `hearth score`, as a table or as JSON, and only as many as asked', async () => {
    const dataDir = freshDataDir();
    await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '200', '--seed', '5'], { HEARTH_DATA_DIR: dataDir });
    const table = await runHearth(['score', '--config', 'test/fixtures/hearth.demo.json', '--limit', '5'], { HEARTH_DATA_DIR: dataDir });
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^score\s+temp\s+stage\s+lead\s+top reasons$/);
    expect(lines.at(-1)).toMatch(/^\d+ leads on site "demo", the 5 best shown \(--limit N for more\)$/);
    const rows = lines.slice(1, -1).map((line) => /^\s*(-?\d+)\s+(cold|warm|hot)\s+(\S+)\s+(\S+@\S+)/.exec(line));
    expect(rows).toHaveLength(5);
    expect(rows.every(Boolean)).toBe(true);
    const scores = rows.map((row) => Number(row![1]));
    expect(scores).toEqual([...scores].sort((a, b) => b - a));

    const json = await runHearth(['score', '--config', 'test/fixtures/hearth.demo.json', '--json', '--limit', '3'], { HEARTH_DATA_DIR: dataDir });
    type Listed = { kind: string; score: number; email: string; id: string; lastSeen: string; reasons: unknown[]; profile: Record<string, string>; companySizeMin: number | null };
    const listed = JSON.parse(json.stdout) as { site: string; total: number; leads: Listed[] };
    const leads = listed.leads;
    expect(listed).toMatchObject({ site: 'demo', total: Number(/^(\d+) leads on site/.exec(lines.at(-1)!)?.[1]) });
    expect(leads.map((lead) => [lead.kind, lead.score, lead.email])).toEqual(rows.slice(0, 3).map((row) => ['lead', Number(row![1]), row![4]]));
    expect(leads[0]!.reasons.length).toBeGreaterThan(0);
    // The table's reasons with their points as the JSON gives them (decayed, to two decimals), not rounded to whole ones.
    const shown = lines.slice(1, 4).map((line) => [...line.replace(/^.*?@\S+\s+/, '').matchAll(/(\S+) ([+-]?\d+(?:\.\d+)?)(?:, |$)/g)].map(([, rule, points]) => [rule, Number(points)]));
    const given = leads.map((lead) => new Map((lead.reasons as { rule: string; points: number }[]).map((reason) => [reason.rule, reason.points])));
    expect(shown.flat().length).toBeGreaterThan(0);
    expect(shown.map((reasons, i) => reasons.map(([rule]) => [rule, given[i]!.get(rule as string)]))).toEqual(shown);
    // As GET /api/leads lists them: ids, and times with their zone.
    expect(leads[0]!.id).toMatch(/^l_[0-9a-f]{20}$/);
    expect(leads[0]!.lastSeen).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    // The company size the lead stated, as the number rules compare ("251-1000" → 251), not only the raw answer.
    const sized = leads.filter((lead) => lead.profile.company_size);
    expect(sized.length).toBeGreaterThan(0);
    for (const lead of sized) expect(lead.companySizeMin).toBe(companySizeOf(lead.profile.company_size!)!.min);
  });

  it("shows what the grid does: leads cold, warm and hot, for reasons of every fit rule, decision-makers in the grid's target industries", async () => {
    const dataDir = freshDataDir();
    await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '1500', '--seed', '4'], { HEARTH_DATA_DIR: dataDir });
    const { stdout } = await runHearth(['score', '--config', 'test/fixtures/hearth.demo.json', '--json', '--limit', '100000'], { HEARTH_DATA_DIR: dataDir });
    const leads = (JSON.parse(stdout) as { leads: { kind: string; seniority: string; temperature: string; reasons: { rule: string }[] }[] }).leads.filter((lead) => lead.kind === 'lead');
    const share = (some: typeof leads, rule: string) => some.filter((lead) => lead.reasons.some((reason) => reason.rule === rule)).length / some.length;
    // The history is laid out back from today, so the figures move a little from day to day: the bounds leave room.
    for (const temperature of ['cold', 'warm', 'hot']) expect(leads.filter((lead) => lead.temperature === temperature).length / leads.length, temperature).toBeGreaterThan(0.1);
    // Each fit rule of the grid tells some leads apart from others: none gives points to nobody, or to everybody.
    for (const rule of defaultRules().fit.map((rule) => rule.id)) {
      expect(share(leads, rule), rule).toBeGreaterThan(0.05);
      expect(share(leads, rule), rule).toBeLessThan(0.8);
    }
    // The demo's buyers are the grid's targets: most of its CEOs and founders are in a target industry and country.
    const executives = leads.filter((lead) => lead.seniority === 'c_level');
    expect(share(executives, 'target-industry')).toBeGreaterThan(0.6);
    expect(share(executives, 'covered-country')).toBeGreaterThan(0.6);
  }, 60_000);

  it('ends `hearth score` with the reason when the store cannot be scored, rather than retrying', async () => {
    const dataDir = freshDataDir();
    // An embedded store with no tables in it.
    mkdirSync(join(dataDir, 'clickhouse'), { recursive: true });
    const { code, stderr } = await runHearth(['score', '--config', 'test/fixtures/hearth.demo.json'], { HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toContain(`hearth: embedded ClickHouse (chDB) in ${dataDir}/clickhouse holds no Hearth tables yet: run \`hearth migrate\` or \`hearth start\` first`);
  });

  it('writes a large history in slices, so its memory does not grow with the number of visitors', async () => {
    // 18,000 visitors are some 340,000 rows, about 270 MB of objects: more than the heap allowed here, were they all
    // generated before the first insert (a slice at a time, the heap peaks near 150 MB).
    const { code, stdout, stderr } = await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '18000', '--seed', '2'], {
      HEARTH_DATA_DIR: freshDataDir(),
      NODE_OPTIONS: '--max-old-space-size=256',
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/wrote [\d,]+ events of 18,000 visitors \([\d,]+ leads\) for site "demo"/);
  }, 90_000);

  it('keeps, under a retention, every lead seen within it, and says how many events were too old to keep', async () => {
    const day = 24 * 60 * 60_000;
    const leadsOf = async (dataDir: string) => {
      const listed = await runHearth(['score', '--config', 'test/fixtures/hearth.demo.json', '--json', '--limit', '1000'], { HEARTH_DATA_DIR: dataDir });
      expect(listed.code, listed.stderr).toBe(0);
      return (JSON.parse(listed.stdout) as { leads: { kind: string; email: string; lastSeen: string }[] }).leads.filter((lead) => lead.kind === 'lead');
    };
    // The same history twice, kept whole, and kept 10 days.
    const whole = freshDataDir();
    expect((await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '200', '--seed', '4'], { HEARTH_DATA_DIR: whole })).code).toBe(0);
    const kept = freshDataDir();
    const configFile = join(kept, 'retention.config.json');
    const demo = JSON.parse(readFileSync('test/fixtures/hearth.demo.json', 'utf8'));
    writeFileSync(configFile, JSON.stringify({ ...demo, $schema: undefined, storage: { retentionDays: 10 } }));
    const run = await runHearth(['demo', '--config', configFile, '--visitors', '200', '--seed', '4'], { HEARTH_DATA_DIR: kept });
    expect(run.code, run.stderr).toBe(0);
    const [, written, old] = /^wrote ([\d,]+) events .*; ([\d,]+) events older than storage\.retentionDays \(10\) not kept$/m.exec(run.stdout) ?? [];
    expect(Number(old?.replaceAll(',', ''))).toBeGreaterThan(0);
    expect(Number(old?.replaceAll(',', ''))).toBeLessThan(Number(written?.replaceAll(',', '')));

    // Those last seen within the 10 days (an hour either side of the edge left out: the two runs are seconds apart),
    // many of whom gave their email before them, are leads still.
    const edge = Date.now() - 10 * day;
    const clear = (lead: { lastSeen: string }) => Math.abs(Date.parse(lead.lastSeen) - edge) > 60 * 60_000;
    const recent = (await leadsOf(whole)).filter((lead) => clear(lead) && Date.parse(lead.lastSeen) > edge);
    expect(recent.length).toBeGreaterThan(5);
    const emails = (leads: { email: string }[]) => leads.map((lead) => lead.email).sort();
    const hearth = await startHearthProcess(['--config', configFile], { HEARTH_DATA_DIR: kept });
    try {
      const response = await fetch(`${hearth.url}/api/leads?site=demo&limit=1000`, { headers: { authorization: `Bearer ${hearth.token}` } });
      const { leads } = (await response.json()) as { leads: { kind: string; email: string; lastSeen: string }[] };
      expect(emails(leads.filter((lead) => lead.kind === 'lead' && clear(lead)))).toEqual(emails(recent));
      // The start says what a retention shorter than the scoring window does to the scores.
      expect(hearth.output()).toContain(`storage.retentionDays (10) is shorter than site \\"demo\\"'s scoring window (90 days): its scores count the last 10 days only`);
    } finally {
      await hearth.stop();
    }
  });

  it('counts one visitor as one', async () => {
    const { code, stdout } = await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '1', '--seed', '1'], { HEARTH_DATA_DIR: freshDataDir() });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^wrote [1-9]\d* events? of 1 visitor \((0 leads|1 lead)\) for site "demo"/m);
  });

  it('writes into a site of your own only while it holds nothing, so made-up leads never mix with real ones', async () => {
    const dataDir = freshDataDir();
    const configFile = join(dataDir, 'acme.config.json');
    writeFileSync(configFile, JSON.stringify({ sites: [{ id: 'acme', origins: ['https://www.acme.test'] }] }));
    const first = await runHearth(['demo', '--config', configFile, '--visitors', '20', '--seed', '1'], { HEARTH_DATA_DIR: dataDir });
    expect(first.code, first.stderr).toBe(0);
    const again = await runHearth(['demo', '--config', configFile, '--visitors', '20', '--seed', '2'], { HEARTH_DATA_DIR: dataDir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(new RegExp(`^hearth: site "acme" already holds [\\d,]+ events, and ${configFile.replaceAll('.', '\\.')} does not serve the demo site: .* or use the demo config\n$`));
    // Served, but with no site "demo" to write into: the same, never a --site demo that does not exist.
    writeFileSync(configFile, JSON.stringify({ serveDemoSite: true, sites: [{ id: 'acme', origins: ['https://www.acme.test'] }] }));
    const served = await runHearth(['demo', '--config', configFile, '--visitors', '20', '--seed', '3'], { HEARTH_DATA_DIR: dataDir });
    expect([served.code, served.stderr]).toEqual([2, expect.stringMatching(/has no demo site \(a site "demo", which the demo site's pages send to\): .* or use the demo config\n$/)]);
    expect(again.stdout).toBe('');
  });

  it('writes into any site of a config that serves the demo site only while it holds nothing, and into the demo site always', async () => {
    const dataDir = freshDataDir();
    const configFile = join(dataDir, 'both.config.json');
    const demo = JSON.parse(readFileSync('test/fixtures/hearth.demo.json', 'utf8'));
    writeFileSync(configFile, JSON.stringify({ ...demo, $schema: undefined, sites: [{ id: 'acme', origins: ['https://www.acme.test'] }, ...demo.sites] }));
    const run = (site: string, seed: string) => runHearth(['demo', '--config', configFile, '--site', site, '--visitors', '20', '--seed', seed], { HEARTH_DATA_DIR: dataDir });
    expect((await run('acme', '1')).code).toBe(0);
    const again = await run('acme', '2');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      new RegExp(`^hearth: site "acme" already holds [\\d,]+ events, and is not the demo site \\("demo", which ${configFile.replaceAll('.', '\\.')} serves\\): .* or the demo site \\(--site demo\\)\n$`),
    );
    for (const seed of ['1', '2']) expect((await run('demo', seed)).stdout).toMatch(/^wrote [\d,]+ events of 20 visitors .* for site "demo"/m);
  });

  it('names a bad flag value', async () => {
    const { code, stderr } = await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', 'many']);
    expect(code).toBe(2);
    expect(stderr).toContain('--visitors expects a whole number from 1 to 10000000, got "many"');
  });
});
