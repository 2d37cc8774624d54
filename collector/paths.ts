import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding Hearth's package.json, found from this module whether it runs from source or from dist/. */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Hearth package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const packageRoot = findPackageRoot();
/** Hearth's release, as its package.json says. */
export const hearthVersion = (): string => JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version;
export const snippetPath = join(packageRoot, 'dist', 'hearth.js');
export const migrationsDir = join(packageRoot, 'collector', 'store', 'migrations');
export const demoSiteDir = join(packageRoot, 'test', 'fixtures', 'demo');
/** The site the demo site's pages send to (their snippet's data-site). */
export const DEMO_SITE_ID = 'demo';
export const demoConfigPath = join(packageRoot, 'test', 'fixtures', 'hearth.demo.json');

/**
 * Makes a directory of Hearth's data (the embedded store's, the write-ahead log's) readable by Hearth's user alone:
 * they hold what people typed in forms, and the engine writes its files readable by all (0644). One an earlier version
 * made is closed too, when Hearth owns it; another user's directory Hearth may write to is left as its owner set it.
 */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  try {
    chmodSync(path, 0o700);
  } catch {
    // Not Hearth's: left as it is.
  }
}
