// A stuck consumer on the real broker: the stage's own source (KafkaGroupSource) and lag monitor
// (LagMonitor, as `run aggregate|vectorize` wire them), with a handler that commits after each
// batch like a stage. Then partition 0 is paused (a consumer that stops fetching) and partition 1's
// handler hangs on its next batch (a stage that fetched and never confirms). While records keep
// arriving, the lag read from the broker on the timer rises in records and in seconds, the
// committed offsets stay flat and no commit happens; once released, everything catches up.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { KafkaGroupSource } from '../../src/adapters/kafka/group-source.js';
import { LagMonitor } from '../../src/adapters/kafka/lag-monitor.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { PartitionBatch } from '../../src/ports.js';
import { metricValue, requireStack, sleep, testKafka, waitFor } from '../support/stack-env.js';
import { DEFAULT_CONFIG } from '../support/compiled-options.js';
import { compileVectorizeSourceOptions } from '../../src/cli/options.js';

describe('a stuck consumer shows rising lag while its commits stop', { timeout: 120_000 }, () => {
  const id = `t-stuck-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topic = `${id}.in`;
  const groupId = `${id}-group`;
  let kafka: Kafka;
  let producer: Producer;
  let source: KafkaGroupSource;
  let monitor: LagMonitor;
  const metrics = createMetrics();
  let commits = 0;
  /** A batch of partition 1 waits on this while set (the hung stage). */
  let hang: Promise<void> | undefined;
  let release: () => void = () => undefined;

  const send = (partition: number, n: number) => producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ partition, key: `k${i}`, value: `v${i}` })) });
  const read = async () => {
    await monitor.refresh();
    const text = await metrics.registry.metrics();
    const at = (name: string, partition: number) => metricValue(text, name, { stage: 'vectorize', topic, partition: String(partition) });
    return {
      lag: [at('aura_consumer_lag_records', 0), at('aura_consumer_lag_records', 1)],
      seconds: [at('aura_consumer_lag_seconds', 0), at('aura_consumer_lag_seconds', 1)],
      committed: [at('aura_consumer_committed_offset', 0), at('aura_consumer_committed_offset', 1)],
      oldest: metricValue(text, 'aura_oldest_unconfirmed_record_age_seconds', { stage: 'vectorize' }),
    };
  };

  before(async () => {
    await requireStack();
    kafka = testKafka('stuck-consumer');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();

    metrics.initStage('vectorize');
    source = new KafkaGroupSource(kafka, { ...compileVectorizeSourceOptions(DEFAULT_CONFIG), groupId, topic, sessionTimeoutMs: 10_000, logger: createLogger('error'), partitionsConsumedConcurrently: 2 });
    let owned: number[] = [];
    source.assignment$.subscribe((a) => {
      owned = a.map((p) => p.partition);
      metrics.assign('vectorize', topic, owned);
    });
    metrics.watchUnconfirmed('vectorize', () => source.unconfirmed.oldest());
    monitor = LagMonitor.forKafka(kafka, {
      groupId,
      topic,
      intervalMs: 500,
      owned: () => owned,
      oldestUnconfirmed: (p) => source.unconfirmed.oldest(p),
      consumedThrough: (p) => source.unconfirmed.consumedThrough(p),
      onLag: (rows) => metrics.setLag('vectorize', topic, rows),
      onError: () => undefined,
    });
    await source.start(async (batch: PartitionBatch) => {
      if (batch.partition === 1 && hang) await hang;
      const next = (BigInt(batch.records[batch.records.length - 1]!.offset) + 1n).toString();
      await source.commit([{ topic, partition: batch.partition, offset: next }]);
      commits += 1;
      batch.resolve(batch.records[batch.records.length - 1]!.offset);
    });
    await waitFor('the group joined with both partitions', () => owned.length === 2 || undefined, { timeoutMs: 30_000 });
    monitor.start();
  });

  after(async () => {
    release();
    await monitor?.stop();
    await source?.stop().catch(() => undefined);
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  });

  it('lag rises in records and seconds, committed offsets stay flat, no commit happens; released, it catches up', async () => {
    await send(0, 10);
    await send(1, 10);
    await waitFor('caught up: 10 committed on each partition', async () => {
      const r = await read();
      return (r.committed[0] === 10 && r.committed[1] === 10 && r.lag[0] === 0 && r.lag[1] === 0) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300 });

    // stuck: partition 0 stops fetching, partition 1 fetches its next batch and never confirms it
    source.pause([{ topic, partition: 0 }]);
    hang = new Promise<void>((r) => (release = r));
    await sleep(500);
    const commitsBefore = commits;
    const readings = [];
    for (let i = 0; i < 4; i++) {
      await send(0, 5);
      await send(1, 5);
      await sleep(1200);
      readings.push(await read());
    }
    const first = readings[0]!;
    const last = readings[readings.length - 1]!;
    assert.equal(commits, commitsBefore, 'no commit while stuck');
    assert.deepEqual(readings.map((r) => r.committed), readings.map(() => [10, 10]), 'the committed offsets stay flat');
    assert.deepEqual(readings.map((r) => r.lag), [[5, 5], [10, 10], [15, 15], [20, 20]], 'lag in records rises with every record sent');
    for (const p of [0, 1]) {
      assert.ok(last.seconds[p]! > first.seconds[p]! && last.seconds[p]! >= 3, `partition ${p}: lag in seconds rises (${readings.map((r) => r.seconds[p]).join(' → ')})`);
    }
    assert.ok(last.oldest >= 3 && last.oldest > first.oldest, `the hung batch's oldest record ages (${readings.map((r) => r.oldest).join(' → ')})`);

    release();
    hang = undefined;
    source.resume([{ topic, partition: 0 }]);
    const caughtUp = await waitFor('released: both partitions caught up', async () => {
      const r = await read();
      return (r.committed[0] === 30 && r.committed[1] === 30 && r.lag[0] === 0 && r.lag[1] === 0 && r) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300 });
    assert.deepEqual(caughtUp.seconds, [0, 0], 'caught up: 0 s');
    assert.ok(commits > commitsBefore, 'commits resumed');
    assert.equal(caughtUp.oldest, 0, 'nothing held unconfirmed');
  });
});
