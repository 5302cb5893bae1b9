import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { describeTopology } from '../../topology/describe.js';
import { VECTORIZE_STEPS } from '../../topology/vectorize.js';

// One step list for the pipe and `aura-stream describe` (docs/pipeline.md: test/topology/describe.test.ts): these fail when they drift.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

describe('VECTORIZE_STEPS', () => {
  it('names the operators of the topology’s pipe, in pipe order', () => {
    const source = readFileSync(join(ROOT, 'topology/vectorize.ts'), 'utf8');
    const pipe = source.slice(source.indexOf('batches$(ports.source)'));
    const called = [...pipe.slice(0, pipe.indexOf('.subscribe(subscriber)')).matchAll(/^\s{8}([a-zA-Z]+)(?:<[^>]+>)?\(/gm)].map((m) => m[1]);
    assert.deepEqual(called.filter((n) => n !== 'map' && n !== 'tap'), VECTORIZE_STEPS.slice(1).map((s) => s.name), 'the pipe calls exactly the listed steps (after source), in order');
  });

  it('is what `aura-stream describe` prints, with the configured topics', () => {
    const config = loadConfig({ AGGREGATED_TOPIC: 'snapshots.x', VECTORIZED_TOPIC: 'vectors.x' });
    const text = describeTopology(config);
    for (const step of VECTORIZE_STEPS) assert.match(text, new RegExp(`\\n  ${step.name} +`), `describe prints ${step.name}`);
    assert.match(text, /source +snapshots\.x /);
    assert.match(text, /decodeOrDeadLetter .*poison → snapshots\.x\.dlq/);
    assert.match(text, /produceOutRecords +vectors\.x,/);
    assert.doesNotMatch(text, /\{[A-Z_]+\}/, 'no placeholder is left');
  });
});
