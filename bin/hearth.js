#!/usr/bin/env node
// The built CLI lives in dist/ (npm run build); this shim gives a clear message when it is missing.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/server/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('hearth: not built yet; run "npm run build" first');
  process.exit(1);
}
const { main } = await import(cli.href);
const code = await main(process.argv.slice(2));
if (code !== 0) process.exit(code);
