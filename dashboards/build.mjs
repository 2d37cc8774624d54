// Builds the dashboards (`npm run build:dashboards`): one ES module and one stylesheet with content-hashed names
// under dist/dashboards/assets/ (the collector serves them with a year-long cache), and the HTML shell that names
// them, dist/dashboards/index.html (served with no-cache, so a new build is picked up at the next load).
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist', 'dashboards');
const assets = join(out, 'assets');
rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { dashboard: 'dashboards/src/main.tsx' },
  bundle: true,
  format: 'esm',
  // Browsers of the last few years: native ES modules, optional chaining, CSS nesting is not used.
  target: ['chrome109', 'edge109', 'firefox115', 'safari15.6'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  outdir: assets,
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const [script, scriptMeta] = outputs.find(([file, meta]) => meta.entryPoint && file.endsWith('.js'));
const stylesheet = scriptMeta.cssBundle;
if (!stylesheet) throw new Error('the dashboards built without their stylesheet');

const icon = readFileSync(join(root, 'dashboards', 'src', 'favicon.svg'));
const iconName = `favicon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
copyFileSync(join(root, 'dashboards', 'src', 'favicon.svg'), join(assets, iconName));

const url = (file) => `/dashboard/assets/${basename(file)}`;
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hearth</title>
<link rel="icon" type="image/svg+xml" href="${url(iconName)}">
<link rel="stylesheet" href="${url(stylesheet)}">
<script type="module" src="${url(script)}"></script>
</head>
<body>
<div id="app"><noscript><p>The Hearth dashboards need JavaScript.</p></noscript></div>
</body>
</html>
`,
);

const sizes = outputs.filter(([file]) => !file.endsWith('.map')).map(([file, meta]) => `${basename(file)} ${(meta.bytes / 1024).toFixed(1)} KB`);
console.log(`dashboards: ${sizes.join(', ')}`);
