import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';

// A copy of the CLI's shim in a repository of its own, whose built program says it ran: what a `git pull` without
// `npm run build` does is played on it, never on this repository's own sources.
const BIN = fileURLToPath(new URL('../../bin/', import.meta.url));
let repo: string;
beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'hearth-stale-build-'));
  mkdirSync(join(repo, 'bin'));
  for (const file of ['hearth.cjs', 'build-stamp.cjs', 'threadpool.cjs']) copyFileSync(join(BIN, file), join(repo, 'bin', file));
  for (const [file, text] of Object.entries({
    'package.json': '{ "type": "module" }\n',
    'collector/cli.ts': 'export {};\n',
    'collector/store/migrations/001_events.sql': 'CREATE TABLE events (id String) ENGINE = MergeTree ORDER BY id\n',
    'scoring/rules.ts': 'export {};\n',
    'sdk/index.ts': 'export {};\n',
    'dashboards/src/main.tsx': 'export {};\n',
    // The built program: says it ran, with what it was asked.
    'dist/server/cli.js': "export async function main(args) { console.log('ran', args.join(' ')); return 0; }\n",
  })) {
    mkdirSync(join(repo, file, '..'), { recursive: true });
    writeFileSync(join(repo, file), text);
  }
  execFileSync(process.execPath, [join(repo, 'bin/build-stamp.cjs'), 'write', 'server', 'snippet', 'dashboards']);
  return () => rmSync(repo, { recursive: true, force: true });
});

const hearth = (...args: string[]) => {
  const run = spawnSync(process.execPath, [join(repo, 'bin/hearth.cjs'), ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
};

describe('the hearth CLI on a build older than its sources', () => {
  it('runs a build made from the sources on disk', () => {
    expect(hearth('score', '--json')).toEqual({ code: 0, stdout: 'ran score --json\n', stderr: '' });
  });

  it('refuses to run the old program once the sources changed (a git pull without npm run build), naming what to do', () => {
    // A new version's migration: the old program would read it from collector/ and apply it to the store.
    writeFileSync(join(repo, 'collector/store/migrations/002_more.sql'), 'ALTER TABLE events ADD COLUMN more String\n');
    const refused = hearth('start', '--config', 'hearth.config.json');
    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth: dist/ was built from other sources than collector/, scoring/ hold now (a git pull or an edit since the last build); run "npm run build" first\n',
    });
    expect(hearth('migrate').code).toBe(1);
    execFileSync(process.execPath, [join(repo, 'bin/build-stamp.cjs'), 'write', 'server']);
    expect(hearth('migrate')).toMatchObject({ code: 0, stdout: 'ran migrate\n' });
  });

  it('refuses a build that has no stamp, one made by a version from before stamps', () => {
    rmSync(join(repo, 'dist/stamps/server.sha256'));
    expect(hearth('score')).toMatchObject({ code: 1, stdout: '' });
  });

  it('asks for the snippet and dashboards to be rebuilt before start, which serves them, and not before the other commands', () => {
    appendFileSync(join(repo, 'sdk/index.ts'), 'export const changed = true;\n');
    expect(hearth('start')).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('other sources than sdk/ hold now') });
    expect(hearth('score')).toMatchObject({ code: 0, stdout: 'ran score\n' });
  });
});
