// @vitest-environment node
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const documents = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The text GitHub renders: no fenced blocks, whose links and headings are code, not Markdown. */
function withoutFencedCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/**
 * GitHub's anchor for a heading (github-slugger): the rendered text lower-cased, every character but letters, digits,
 * spaces, '-' and '_' removed, each space a '-'.
 */
function slugOf(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '');
  return rendered.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\- _]/gu, '').replace(/ /g, '-');
}

/** Every anchor a document has: its headings' (a repeated one gets -1, -2… as on GitHub) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFencedCode(markdown).matchAll(/^#{1,6}[ \t]+(.*?)[ \t#]*$/gm)) {
    const slug = slugOf(heading!);
    const times = seen.get(slug) ?? 0;
    seen.set(slug, times + 1);
    anchors.add(times === 0 ? slug : `${slug}-${times}`);
  }
  for (const [, id] of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id!);
  return anchors;
}

/** The targets of a document's inline links and images, outside code. */
function linksOf(markdown: string): string[] {
  const prose = withoutFencedCode(markdown).replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map(([, target]) => target!);
}

/** What is wrong with a relative link from `file`, or null when it leads somewhere. */
function brokenBecause(file: string, target: string): string | null {
  const [path = '', anchor] = target.split('#', 2);
  const linked = path === '' ? join(root, file) : path.startsWith('/') ? join(root, path) : resolve(dirname(join(root, file)), decodeURI(path));
  if (!existsSync(linked)) return `no file ${relative(root, linked)}`;
  if (anchor === undefined || statSync(linked).isDirectory() || !linked.endsWith('.md')) return null;
  return anchorsOf(readFileSync(linked, 'utf8')).has(decodeURIComponent(anchor)) ? null : `no heading #${anchor} in ${relative(root, linked)}`;
}

describe('the README and docs/', () => {
  it('name headings as GitHub does', () => {
    expect(slugOf('Production: several collectors, one ClickHouse cluster')).toBe('production-several-collectors-one-clickhouse-cluster');
    expect(slugOf("What `/collect` leaves out")).toBe('what-collect-leaves-out');
    expect(slugOf("The dashboards' lead list")).toBe('the-dashboards-lead-list');
    expect(slugOf('Limits, bots and metrics')).toBe('limits-bots-and-metrics');
  });

  it('link only to files and headings that exist', () => {
    const broken = documents.flatMap((file) =>
      linksOf(readFileSync(join(root, file), 'utf8'))
        .filter((target) => !/^[a-z][a-z\d+.-]*:/i.test(target))
        .flatMap((target) => {
          const reason = brokenBecause(file, target);
          return reason ? [`${file}: (${target}): ${reason}`] : [];
        }),
    );
    expect(broken).toEqual([]);
  });

  it('list every docs file in the README', () => {
    const listed = new Set(linksOf(readFileSync(join(root, 'README.md'), 'utf8')).map((target) => target.split('#')[0]));
    expect(documents.filter((file) => file.startsWith('docs/') && !listed.has(file))).toEqual([]);
  });
});
