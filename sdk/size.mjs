// Prints the snippet's minified, gzip and brotli sizes and fails when gzip exceeds the budget in package.json.
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const { sizeBudget } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let failed = false;
for (const [file, budget] of Object.entries(sizeBudget)) {
  const source = readFileSync(new URL(`../${file}`, import.meta.url));
  const gzip = gzipSync(source, { level: 9 }).length;
  const brotli = brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const ok = gzip <= budget.gzip;
  failed ||= !ok;
  console.log(`${file}: ${source.length} B minified, ${gzip} B min+gzip, ${brotli} B min+brotli — budget ${budget.gzip} B gzip ${ok ? 'OK' : 'EXCEEDED'}`);
}
process.exit(failed ? 1 : 0);
