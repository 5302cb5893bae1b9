import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

/**
 * The repository stands alone: a user's clone has nothing beside it, so no tracked file may read
 * or cite a file outside it. (CI also runs the whole suite from a clone with no sibling folders.)
 */
const tracked = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' })
  .split('\0')
  .filter((f) => f !== '' && f !== 'package-lock.json' && existsSync(f));

/** References to the development workplace's files beside the repository. */
const OUTSIDE = [/\.\.\/shared\b/, /\bshared\/(qdrant|DESIGN|PITFALLS|STYLE)/, /\bDESIGN(\.md)? ?§/, /\bPITFALLS(\.md)?\b/];

describe('the repository stands alone', () => {
  test('no tracked file refers to a file outside the repository', () => {
    const hits: string[] = [];
    for (const file of tracked) {
      const text = readFileSync(file);
      if (text.includes(0)) continue; // binary
      text
        .toString('utf8')
        .split('\n')
        .forEach((line, i) => {
          if (file === 'test/repository.test.ts') return;
          if (OUTSIDE.some((re) => re.test(line))) hits.push(`${file}:${i + 1}: ${line.trim().slice(0, 120)}`);
        });
    }
    assert.deepEqual(hits, [], `lines pointing outside the repository:\n${hits.join('\n')}`);
  });

  test('every docs/ARCHITECTURE.md section cited in the tree exists', () => {
    const doc = readFileSync('docs/ARCHITECTURE.md', 'utf8');
    const sections = new Set([...doc.matchAll(/^#{2,3} (\d+[a-z]?)\./gm)].map((m) => m[1]));
    const missing: string[] = [];
    for (const file of tracked) {
      if (file.endsWith('.json') || file === 'docs/ARCHITECTURE.md') continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/ARCHITECTURE(?:\.md)? §(\d+[a-z]?)/g)) if (!sections.has(m[1]!)) missing.push(`${file}: §${m[1]}`);
    }
    assert.ok(sections.size >= 8, `docs/ARCHITECTURE.md has its numbered sections (found ${[...sections].join(', ')})`);
    assert.deepEqual(missing, [], 'citations of sections docs/ARCHITECTURE.md does not have');
  });
});
