import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { AGGREGATE_STEPS } from '../../topology/aggregate.js';
import { describeTopology } from '../../topology/describe.js';
import { renderSteps, type TopologyNames } from '../../topology/steps.js';

/**
 * One list of steps per topology: the pipe in the source, its doc comment, `aura-stream describe`
 * and docs/pipeline.md must all name the same steps in the same order.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = readFileSync(join(ROOT, 'topology', 'aggregate.ts'), 'utf8');
const names = AGGREGATE_STEPS.map((s) => s.name);

const PLACEHOLDERS: TopologyNames = {
  inputTopic: '<input topic>',
  aggregatedTopic: '<aggregated topic>',
  vectorizedTopic: '<vectorized topic>',
  erasedTopic: '<erased topic>',
  changelogTopic: '<changelog topic>',
  inputDlqTopic: '<input topic>.dlq',
  aggregatedDlqTopic: '<aggregated topic>.dlq',
  aggregateGroupId: '<group>',
  vectorizeGroupId: '<group>',
  processingGuarantee: 'exactly_once',
};

describe('the aggregate topology\'s step list', () => {
  test('the pipe calls the operators in the order of the list (source is the batches$ feed)', () => {
    const body = source.slice(source.indexOf('defer(() => of(run))'));
    let from = 0;
    for (const name of names.slice(1)) {
      const at = body.indexOf(`${name}(`, from);
      assert.ok(at >= 0, `the pipe calls ${name}( after the previous step`);
      from = at;
    }
  });

  test('the doc comment names the same steps in the same order', () => {
    const doc = source.slice(source.indexOf('Stage `aggregate`, top to bottom'), source.indexOf('export function aggregateTopology'));
    const listed = [...doc.matchAll(/^ \*   (\w+)\s/gm)].map((m) => m[1]);
    assert.deepEqual(listed, names);
  });

  test('`aura-stream describe` prints the list', () => {
    const out = describeTopology(PLACEHOLDERS).split('\n');
    for (const line of renderSteps(AGGREGATE_STEPS, PLACEHOLDERS)) assert.ok(out.includes(line), `describe prints: ${line}`);
  });

  test('the docs/pipeline.md block is the list rendered with placeholder names', () => {
    const readme = readFileSync(join(ROOT, 'docs', 'pipeline.md'), 'utf8');
    const block = readme.slice(readme.indexOf('<!-- aggregate-steps:start -->'), readme.indexOf('<!-- aggregate-steps:end -->'));
    const lines = block.split('\n').filter((l) => l.startsWith('  '));
    assert.deepEqual(lines, renderSteps(AGGREGATE_STEPS, PLACEHOLDERS));
  });
});
