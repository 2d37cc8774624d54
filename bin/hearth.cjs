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
import(pathToFileURL(cli).href).then(async ({ main }) => {
  const code = await main(process.argv.slice(2));
  if (code !== 0) process.exit(code);
});
