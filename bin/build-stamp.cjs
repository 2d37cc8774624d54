// What dist/ was built from. Each build step stamps its output with a digest of the sources it read, and bin/hearth.cjs
// refuses to run a build whose sources have changed since (a `git pull` without `npm run build`): the old program would
// otherwise run on, and apply to the store the new version's migrations, which it reads from collector/ at run time.
// `node bin/build-stamp.cjs write NAME…` after a build step (package.json's build scripts).
const { createHash } = require('node:crypto');
const { mkdirSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const ROOT = join(__dirname, '..');
const STAMPS = join(ROOT, 'dist', 'stamps');

/** Each part of the build and the folders it is built from (the server also reads its migrations from collector/). */
const ARTEFACTS = {
  server: ['collector', 'scoring'],
  snippet: ['sdk'],
  dashboards: ['dashboards'],
};

/** Every file under `dir`, as paths from the repository's root with `/`, sorted. */
function filesUnder(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(`${dir}/${entry.name}`) : entry.isFile() ? [`${dir}/${entry.name}`] : []))
    .sort();
}

/** A digest of the names and contents of the files a part is built from (a few milliseconds). */
function digestOf(name) {
  const hash = createHash('sha256');
  for (const file of ARTEFACTS[name].flatMap(filesUnder)) hash.update(`${file}\0`).update(readFileSync(join(ROOT, file))).update('\0');
  return hash.digest('hex');
}

const stampFile = (name) => join(STAMPS, `${name}.sha256`);

function write(name) {
  mkdirSync(dirname(stampFile(name)), { recursive: true });
  writeFileSync(stampFile(name), `${digestOf(name)}\n`);
}

/** A part's stamp, or undefined when its build wrote none (an older build). */
function stampOf(name) {
  try {
    return readFileSync(stampFile(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The parts among `names` built from other sources than those on disk now, or with no stamp (an older build). */
function outdated(names) {
  return names.filter((name) => stampOf(name) !== digestOf(name));
}

module.exports = { ARTEFACTS, outdated };

if (require.main === module) {
  const [command, ...names] = process.argv.slice(2);
  const unknown = names.filter((name) => !(name in ARTEFACTS));
  if (command !== 'write' || names.length === 0 || unknown.length > 0) {
    console.error(`usage: node bin/build-stamp.cjs write ${Object.keys(ARTEFACTS).join('|')}…${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
    process.exit(2);
  }
  for (const name of names) write(name);
}
