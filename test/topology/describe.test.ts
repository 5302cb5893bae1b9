import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, map, of, toArray, type OperatorFunction } from 'rxjs';
import { loadConfig } from '../../src/config.js';
import { AGGREGATE_PIPE } from '../../topology/aggregate.js';
import { VECTORIZE_PIPE } from '../../topology/vectorize.js';
import { describeTopology } from '../../topology/describe.js';
import { Pipe, renderSteps } from '../../topology/steps.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('Pipe: a pipe built from its step list', () => {
  /** A step that appends its name to every string passing through, and records that it was made. */
  const tagging = (made: string[]) => (name: string) => (): OperatorFunction<string, string> => {
    made.push(name);
    return map((s) => `${s}>${name}`);
  };

  it('build composes exactly the listed operators, in the listed order, each made once', async () => {
    const made: string[] = [];
    const step = tagging(made);
    const pipe = Pipe.from<void, string>({ name: 'source', describe: () => 'strings' })
      .then('a', () => 'first', step('a'))
      .then('b', () => 'second', step('b'))
      .then('c', () => 'third', step('c'));
    const out = await lastValueFrom(of('x', 'y').pipe(pipe.build(), toArray()));
    assert.deepEqual(out, ['x>a>b>c', 'y>a>b>c'], 'every value passed a, b and c in that order');
    assert.deepEqual(made, ['a', 'b', 'c'], 'each operator was made once, in order');
    assert.deepEqual(pipe.steps.map((s) => s.name), ['source', 'a', 'b', 'c'], 'the described steps are the source and the operators');
  });

  it('each build makes its operators afresh from the context it is given', async () => {
    const pipe = Pipe.from<{ suffix: string }, string>({ name: 'source', describe: () => 'strings' }).then('suffix', () => 'adds the suffix', (c) => map((s: string) => s + c.suffix));
    assert.deepEqual(await lastValueFrom(of('x').pipe(pipe.build({ suffix: '1' }), toArray())), ['x1']);
    assert.deepEqual(await lastValueFrom(of('x').pipe(pipe.build({ suffix: '2' }), toArray())), ['x2']);
  });

  it('a step that does not take what the previous step gives does not compile', () => {
    const pipe = Pipe.from<void, string>({ name: 'source', describe: () => 'strings' }).then('length', () => 'string → number', () => map((s: string) => s.length));
    // @ts-expect-error: toUpperCase takes strings, but the pipe gives numbers after `length`.
    const wrong = pipe.then('upper', () => 'string → string', () => map((s: string) => s.toUpperCase()));
    assert.ok(wrong, 'only the compiler refuses it; at run time the list is untyped');
  });
});

for (const [stage, pipe, operators] of [
  ['aggregate', AGGREGATE_PIPE, ['awaitReady', 'decodeRecords', 'foldWindows', 'commitInOrder', 'takeWhile', 'stageRetry', 'settleBatch']],
  [
    'vectorize',
    VECTORIZE_PIPE,
    ['trackRecords', 'decodeOrDeadLetter', 'toAggregatedItems', 'microBatch', 'acquireInFlight', 'planErasures', 'coalescePoints', 'embedCached', 'toPoints', 'storeBatch', 'toVectorizedRecords', 'toErasedRecords', 'produceOutRecords', 'markDone', 'commitDone', 'toVectorizeEvents'],
  ],
] as const) {
  describe(`the ${stage} pipe`, () => {
    it('is described by `aura-stream describe` step for step, in the order it is built', () => {
      const config = loadConfig({ AGGREGATED_TOPIC: 'snapshots.x', VECTORIZED_TOPIC: 'vectors.x', INPUT_TOPIC: 'events.x' });
      const text = describeTopology(config);
      const [aggregate, vectorize] = text.split('\n\n');
      const printed = (stage === 'aggregate' ? aggregate! : vectorize!).split('\n');
      assert.match(printed[0]!, new RegExp(`^Stage ${stage} `), 'the stage heading comes first');
      assert.deepEqual(printed.slice(1), renderSteps(pipe.steps, config), `describe prints the steps the ${stage} pipe is built from, nothing else`);
      assert.deepEqual(pipe.steps.map((s) => s.name), ['source', ...operators], 'the operators the pipe is built from, after the consumer group that feeds them');
      assert.doesNotMatch(text, /aura360\.(user\.events|context\.aggregated|context\.vectorized)\b/, 'the configured topics are printed, not the defaults');
    });

    it('names each step after the operator it makes', () => {
      for (const step of pipe.operators) {
        assert.match(String(step.operator), new RegExp(`\\b${step.name}\\b(<[^>]*>)?\\(`), `step ${step.name} is made by calling ${step.name}(…)`);
      }
    });
  });
}

describe('docs/pipeline.md', () => {
  it('shows exactly what `aura-stream describe` prints for the default configuration', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'pipeline.md'), 'utf8');
    const start = doc.indexOf('<!-- describe:start -->');
    const end = doc.indexOf('<!-- describe:end -->');
    assert.ok(start >= 0 && end > start, 'docs/pipeline.md has the describe markers');
    const block = doc.slice(start + '<!-- describe:start -->'.length, end).trim();
    assert.equal(block, '```\n' + describeTopology(loadConfig({})) + '\n```', 'regenerate the block with `node bin/aura-stream.js describe`');
  });
});
