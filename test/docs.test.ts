// Documentation that a test keeps true: the configuration table is generated from the config rows,
// and every relative link in README.md and docs/ names a file that exists.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configMarkdown } from '../src/config.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('documentation', () => {
  it('docs/configuration.md shows exactly the table `aura-stream config --markdown` prints', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const start = doc.indexOf('<!-- config-table:start -->');
    const end = doc.indexOf('<!-- config-table:end -->');
    assert.ok(start >= 0 && end > start, 'docs/configuration.md has the config-table markers');
    const table = doc.slice(start, end).split('\n').filter((l) => l.startsWith('|')).join('\n');
    assert.equal(table, configMarkdown(), 'regenerate the table with `node bin/aura-stream.js config --markdown`');
  });

  it('every relative link in README.md and docs/*.md points at a file of the repository', () => {
    const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const path = target!.split('#')[0]!;
        if (path === '' || /^[a-z]+:/.test(path)) continue;
        if (!existsSync(resolve(ROOT, dirname(file), path))) broken.push(`${file} → ${target}`);
      }
    }
    assert.deepEqual(broken, [], 'links that name no file');
  });

  it('README.md stays a short entry point (about 200 lines); the detail lives in docs/', () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length;
    assert.ok(lines <= 230, `README.md has ${lines} lines: move detail into docs/`);
  });
});
