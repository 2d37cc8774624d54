import { existsSync } from 'node:fs';
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
export const snippetPath = join(packageRoot, 'dist', 'hearth.js');
export const migrationsDir = join(packageRoot, 'collector', 'store', 'migrations');
export const demoSiteDir = join(packageRoot, 'test', 'fixtures', 'demo');
export const demoConfigPath = join(packageRoot, 'test', 'fixtures', 'hearth.demo.json');
