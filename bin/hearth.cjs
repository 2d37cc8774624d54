#!/usr/bin/env node
// The built CLI lives in dist/ (npm run build); this shim gives a clear message when it is missing. It is CommonJS so
// that the thread pool is sized before anything starts it (threadpool.cjs).
require('./threadpool.cjs');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const cli = join(__dirname, '..', 'dist', 'server', 'cli.js');
if (!existsSync(cli)) {
  console.error('hearth: not built yet; run "npm run build" first');
  process.exit(1);
}
// A build older than the sources (a `git pull` and `npm ci` without `npm run build`) would run the old program, which
// reads the new version's migrations from collector/ and applies them to the store: refused. `start` serves the
// snippet and the dashboards too.
const { ARTEFACTS, outdated } = require('./build-stamp.cjs');
const stale = outdated(process.argv[2] === 'start' ? Object.keys(ARTEFACTS) : ['server']);
if (stale.length > 0) {
  const folders = stale.flatMap((name) => ARTEFACTS[name]).map((folder) => `${folder}/`);
  console.error(`hearth: dist/ was built from other sources than ${folders.join(', ')} hold now (a git pull or an edit since the last build); run "npm run build" first`);
  process.exit(1);
}
// Loading the CLI takes about half a second, during which a SIGINT or SIGTERM would kill the process by the signal's
// default action: one is kept instead, for the CLI to stop as it would a moment later (its LoadSignals).
let signalled;
const keep = (signal) => (signalled ??= signal);
process.on('SIGINT', keep);
process.on('SIGTERM', keep);
const loadSignals = {
  first: () => signalled,
  release() {
    process.off('SIGINT', keep);
    process.off('SIGTERM', keep);
  },
};
import(pathToFileURL(cli).href).then(async ({ main }) => {
  const code = await main(process.argv.slice(2), loadSignals);
  if (code !== 0) process.exit(code);
});
