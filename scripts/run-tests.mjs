#!/usr/bin/env node
// Runs the test files of one layer with Node's test runner (TypeScript through tsx).
// Layers: `unit` = test/**/*.test.ts outside test/integration; `integration` = test/integration;
// `all` = both. Integration files run one at a time: they share the local stack and 2 cores.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const layer = process.argv[2] ?? 'all';
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.ts') ? [path] : [];
  });
}
const files = walk('test').sort();
const isIntegration = (f) => f.startsWith(join('test', 'integration'));
const selected = files.filter((f) => (layer === 'unit' ? !isIntegration(f) : layer === 'integration' ? isIntegration(f) : true));
if (selected.length === 0) {
  console.error(`no test files for layer "${layer}"`);
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...selected];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
