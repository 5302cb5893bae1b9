import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { repositoryFiles } from './support/repository-files.js';

/**
 * The repository stands alone: a user's clone has nothing beside it, so no tracked file may read
 * or cite a file outside it. (CI also runs the whole suite from a clone with no sibling folders.)
 * The files are listed without git when there is no `.git` (a source archive), see repositoryFiles.
 */
const ROOT = process.cwd();
const tracked = repositoryFiles(ROOT).filter((f) => f !== 'package-lock.json');

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

/** The archive is of HEAD, the committed tree: commit before trusting these two on local edits. */
describe('the repository in a source archive (git archive, no .git)', () => {
  const inCheckout = existsSync(join(ROOT, '.git'));

  test('lists the same files as git does, leaving out the directories .gitignore ignores', { skip: !inCheckout && 'this copy has no .git to make an archive from' }, () => {
    const copy = mkdtempSync(join(tmpdir(), 'aura-archive-'));
    try {
      execFileSync('sh', ['-c', `git archive --format=tar HEAD | tar -x -C '${copy}'`], { cwd: ROOT });
      // What a user's copy grows after `npm ci`, `stack up`, a run and a build: directories .gitignore ignores.
      for (const [dir, file] of [['node_modules/x', 'index.js'], ['.cache/tools', 'promtool'], ['.aura-state', 'data.mdb'], ['dist/src', 'config.js']] as const) {
        mkdirSync(join(copy, dir), { recursive: true });
        writeFileSync(join(copy, dir, file), '');
      }
      const expected = execFileSync('git', ['ls-tree', '-r', '--name-only', '-z', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '').sort();
      const listed = repositoryFiles(copy);
      assert.ok(!existsSync(join(copy, '.git')), 'the archive has no .git');
      assert.ok(expected.includes('test/repository.test.ts') && expected.includes('docs/ARCHITECTURE.md'), 'git lists the repository files');
      assert.deepEqual(listed, expected, 'the files found without git are exactly the files of the commit');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('this test file passes when run from the archive', { skip: !inCheckout && 'this copy has no .git to make an archive from' }, () => {
    const copy = mkdtempSync(join(tmpdir(), 'aura-archive-'));
    try {
      execFileSync('sh', ['-c', `git archive --format=tar HEAD | tar -x -C '${copy}'`], { cwd: ROOT });
      symlinkSync(resolve(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/repository.test.ts'], {
        cwd: copy,
        encoding: 'utf8',
        timeout: 120_000,
        // Without this the child sees it runs inside a test and skips its files.
        env: { ...process.env, NODE_TEST_CONTEXT: undefined },
      });
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.status, 0, `test/repository.test.ts fails in the archive:\n${output}`);
      assert.doesNotMatch(output, /not a git repository/, 'nothing asked git in the archive');
      assert.match(output, /no tracked file refers to a file outside the repository/, 'the stand-alone check ran in the archive');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
