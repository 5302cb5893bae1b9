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

  it('counts rebalances and drops the lag series (records, seconds, committed offset) of revoked partitions', async () => {
    const m = createMetrics();
    const row = (partition: number, records: number, seconds = 0, committedOffset = 100) => ({ partition, records, seconds, committedOffset });
    m.assign('vectorize', 't', [0, 1, 2]);
    m.setLag('vectorize', 't', [row(0, 5, 2.5), row(1, 7, 4, 40), row(2, 0)]);
    let text = await m.registry.metrics();
    assert.equal(metricValue(text, 'aura_consumer_lag_records', { stage: 'vectorize', partition: '1' }), 7, 'lag in records of partition 1');
    assert.equal(metricValue(text, 'aura_consumer_lag_seconds', { stage: 'vectorize', partition: '0' }), 2.5, 'lag in seconds of partition 0');
    assert.equal(metricValue(text, 'aura_consumer_committed_offset', { stage: 'vectorize', partition: '1' }), 40, 'committed offset of partition 1');
    assert.equal(metricValue(text, 'aura_assigned_partitions', { stage: 'vectorize' }), 3);

    m.assign('vectorize', 't', [2, 3]);
    m.setLag('vectorize', 't', [row(1, 9), row(3, 0)]); // partition 1 is no longer owned: ignored
    text = await m.registry.metrics();
    for (const name of ['aura_consumer_lag_records', 'aura_consumer_lag_seconds']) {
      const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`));
      assert.deepEqual(lines.sort(), [`${name}{stage="vectorize",topic="t",partition="2"} 0`, `${name}{stage="vectorize",topic="t",partition="3"} 0`], `${name}: only owned partitions`);
    }
    assert.equal(metricValue(text, 'aura_consumer_rebalances_total', { stage: 'vectorize' }), 2);
    assert.equal(metricValue(text, 'aura_assigned_partitions', { stage: 'vectorize' }), 2);
  });

  it('reads the age of the oldest unconfirmed record at scrape time, 0 when none is held', async () => {
    const m = createMetrics();
    m.initStage('aggregate');
    m.initStage('vectorize');
    let oldest: number | undefined = Date.now() - 42_000;
    m.watchUnconfirmed('aggregate', () => oldest);
    let text = await m.registry.metrics();
    const age = metricValue(text, 'aura_oldest_unconfirmed_record_age_seconds', { stage: 'aggregate' });
    assert.ok(age >= 42 && age < 60, `age of a record 42 s old, got ${age}`);
    assert.equal(metricValue(text, 'aura_oldest_unconfirmed_record_age_seconds', { stage: 'vectorize' }), 0, 'a stage without a source reports 0');
    oldest = undefined;
    text = await m.registry.metrics();
    assert.equal(metricValue(text, 'aura_oldest_unconfirmed_record_age_seconds', { stage: 'aggregate' }), 0, 'nothing held: 0');
    assert.match(text, /^aura_index_freshness_seconds_count\{stage="vectorize"\} 0$/m, 'the freshness histogram exists from the start for vectorize');
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
