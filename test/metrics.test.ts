import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { countingEmbedder, createMetrics } from '../src/metrics.js';
import { metricValue } from './support/stack-env.js';

const names = (text: string) => new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!));

describe('createMetrics', () => {
  it('exposes the default Node.js metrics under their stock names (no doubled prefix)', async () => {
    const text = await createMetrics().registry.metrics();
    const all = names(text);
    for (const stock of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      assert.ok(all.has(stock), `${stock} is exposed`);
    }
    assert.deepEqual([...all].filter((n) => n.includes('process_process') || n.startsWith('aura_process_')), []);
    const gaugesNamedTotal = text.split('\n').filter((l) => /^# TYPE \S+_total (gauge|histogram|summary)$/.test(l));
    assert.deepEqual(gaugesNamedTotal, [], 'only counters end in _total (promtool check metrics)');
  });

  it('exposes a build-info metric naming the package version and the Node.js version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const text = await createMetrics().registry.metrics();
    assert.equal(metricValue(text, 'aura_build_info', { version: pkg.version, node_version: process.version }), 1);
  });

  it('zero-initialises a stage\'s closed label sets, so the first increment is visible to rate()', async () => {
    const m = createMetrics();
    m.initStage('aggregate');
    const text = await m.registry.metrics();
    assert.match(text, /^aura_transactions_total\{stage="aggregate",result="aborted"\} 0$/m);
    assert.match(text, /^aura_dlq_records_total\{stage="aggregate",reason="UNDECODABLE"\} 0$/m);
    assert.match(text, /^aura_retries_total\{stage="aggregate",code="BROKER_UNAVAILABLE"\} 0$/m);
    assert.match(text, /^aura_retries_total\{stage="aggregate",code="FENCED"\} 0$/m);
    assert.match(text, /^aura_records_total\{stage="aggregate",outcome="late"\} 0$/m);
    assert.doesNotMatch(text, /reason="CONFIG"|code="CONFIG"/, 'codes that fail the stage are neither dead-lettered nor retried');
    const v = createMetrics();
    v.initStage('vectorize');
    assert.doesNotMatch(await v.registry.metrics(), /aura_transactions_total\{/, 'vectorize runs no transactions');
  });

  it('counts rebalances and drops the lag series of revoked partitions', async () => {
    const m = createMetrics();
    m.assign('vectorize', 't', [0, 1, 2]);
    m.setLag('vectorize', 't', 0, 5);
    m.setLag('vectorize', 't', 1, 7);
    m.setLag('vectorize', 't', 2, 0);
    let text = await m.registry.metrics();
    assert.equal(metricValue(text, 'aura_consumer_lag_records', { stage: 'vectorize', partition: '1' }), 7);
    assert.equal(metricValue(text, 'aura_assigned_partitions', { stage: 'vectorize' }), 3);

    m.assign('vectorize', 't', [2, 3]);
    m.setLag('vectorize', 't', 1, 9); // a late commit of a revoked partition: ignored
    m.setLag('vectorize', 't', 3, -4); // a high watermark older than the commit: clamped to 0
    text = await m.registry.metrics();
    const lagLines = text.split('\n').filter((l) => l.startsWith('aura_consumer_lag_records{'));
    assert.deepEqual(lagLines.sort(), ['aura_consumer_lag_records{stage="vectorize",topic="t",partition="2"} 0', 'aura_consumer_lag_records{stage="vectorize",topic="t",partition="3"} 0']);
    assert.equal(metricValue(text, 'aura_consumer_rebalances_total', { stage: 'vectorize' }), 2);
    assert.equal(metricValue(text, 'aura_assigned_partitions', { stage: 'vectorize' }), 2);
  });
});

describe('countingEmbedder', () => {
  it('counts failed embed calls, passes the error and the results on unchanged', async () => {
    let fail = false;
    const vector = new Float32Array([0.6, 0.8]);
    const inner = {
      modelId: 'm',
      modelVersion: 'v1',
      manifestSha256: 'h',
      queryPrefix: 'q: ',
      dimension: 2,
      embed: async (texts: string[]) => {
        if (fail) throw new Error('onnx: bad input');
        return texts.map(() => vector);
      },
      embedQueries: async (texts: string[]) => {
        if (fail) throw new Error('onnx: bad query');
        return texts.map(() => vector);
      },
      close: async () => undefined,
    };
    let errors = 0;
    const e = countingEmbedder(inner, () => errors++);
    assert.deepEqual([e.modelId, e.modelVersion, e.manifestSha256, e.queryPrefix, e.dimension], ['m', 'v1', 'h', 'q: ', 2]);
    assert.deepEqual(await e.embed(['a', 'b']), [vector, vector]);
    fail = true;
    await assert.rejects(e.embed(['c']), /onnx: bad input/);
    await assert.rejects(e.embedQueries(['d']), /onnx: bad query/);
    assert.equal(errors, 2, 'a failed document embed and a failed query embed each count');
  });
});
