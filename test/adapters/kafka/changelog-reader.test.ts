import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type Kafka } from 'kafkajs';
import { KafkaChangelogReader } from '../../../src/adapters/kafka/changelog-reader.js';
import { createLogger } from '../../../src/logger.js';
import { configOf, createStageTopics, dropTestResources, requireStack, testKafka, uniqueNames, type TestNames } from '../../support/stack-env.js';
import { compileChangelogReaderOptions } from '../../../src/cli/options.js';

const { CompressionTypes } = kafkajs;

/**
 * The changelog replay against the local broker: committed records after the checkpoint, in
 * offset order, none of an aborted transaction, up to the end seen at the start. Run twice: the
 * direct read by offset, and the consumer-group fallback (a client without kafkajs' cluster factory).
 */
describe('KafkaChangelogReader', () => {
  let kafka: Kafka;
  let names: TestNames;
  /** Committed values per partition, in offset order, with their offsets. */
  const committed = new Map<number, Array<{ offset: string; key: string; value: string }>>();

  before(async () => {
    await requireStack();
    kafka = testKafka('changelog-reader-test');
    names = uniqueNames('changelog-reader', { partitions: 2 });
    await createStageTopics(kafka, names.env);
    const producer = kafka.producer({ transactionalId: `${names.applicationId}-writer`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // Three transactions per partition, the middle one aborted; GZIP as the stage writes it.
      for (const [round, outcome] of (['commit', 'abort', 'commit'] as const).entries()) {
        const tx = await producer.transaction();
        const messages = [0, 1].flatMap((partition) =>
          Array.from({ length: 40 }, (_, i) => ({ partition, key: `user-${partition}-${i}`, value: `${outcome}-${round}-${partition}-${i}` })),
        );
        const meta = await tx.send({ topic: names.changelogTopic, messages, compression: CompressionTypes.GZIP });
        if (outcome === 'abort') {
          await tx.abort();
          continue;
        }
        await tx.commit();
        for (const m of meta) {
          const mine = messages.filter((x) => x.partition === m.partition);
          const list = committed.get(m.partition) ?? [];
          mine.forEach((x, i) => list.push({ offset: (BigInt(m.baseOffset!) + BigInt(i)).toString(), key: x.key, value: x.value }));
          committed.set(m.partition, list);
        }
      }
    } finally {
      await producer.disconnect();
    }
  });

  after(async () => {
    await dropTestResources(kafka, names);
  });

  test('a reader warmed at start restores through that connection, and closing an unused warm connection leaves nothing open', async () => {
    const options = { ...compileChangelogReaderOptions(configOf(names.env)), logger: createLogger('error'), timeoutMs: 60_000 };
    const reader = new KafkaChangelogReader(kafka, options);
    reader.warm();
    const applied: string[] = [];
    const result = await reader.restore([{ partition: 0, fromOffset: '0' }], (_p, records) => applied.push(...records.map((r) => r.value!.toString())));
    assert.deepEqual(applied, committed.get(0)!.map((r) => r.value), 'the committed records of partition 0');
    assert.equal(result.get(0)?.records, 80, 'counted');
    const idle = new KafkaChangelogReader(kafka, options);
    idle.warm();
    await idle.close();
    await reader.close();
  });

  test('a direct restore of two partitions at once leaves no connection holding the process open', async () => {
    // Regression: two first fetches at once made kafkajs open two fetch connections to the broker
    // and orphan one, which held every process that restored until the broker's idle timeout.
    const held = () =>
      (process as unknown as { _getActiveHandles(): Array<{ constructor: { name: string }; remotePort?: number; _handle?: { hasRef?(): boolean } }> })
        ._getActiveHandles()
        .filter((h) => h.constructor.name === 'Socket' && h.remotePort !== undefined && h._handle?.hasRef?.() !== false).length;
    const before = held();
    const reader = new KafkaChangelogReader(kafka, { ...compileChangelogReaderOptions(configOf(names.env)), logger: createLogger('error'), timeoutMs: 60_000 });
    const result = await reader.restore(
      [
        { partition: 0, fromOffset: '0' },
        { partition: 1, fromOffset: '0' },
      ],
      () => undefined,
    );
    assert.deepEqual([...result].map(([p, r]) => [p, r.records]), [[0, 80], [1, 80]], 'both partitions were read');
    // The reader closes its connection after the restore returns.
    for (let i = 0; i < 100 && held() > before; i++) await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(held(), before, 'no socket to the broker is left holding the process open');
  });

  /** A client that fails the test when the direct read is attempted: only the group replay may run. */
  const groupOnly = () => ({ admin: (o?: kafkajs.AdminConfig) => kafka.admin(o), consumer: (o: kafkajs.ConsumerConfig) => kafka.consumer(o) }) as unknown as Kafka;
  /** The start-up self-test of the kafkajs internals, stubbed to a mismatch. */
  const mismatch = () => ({ version: '2.2.4', directRestore: ['Batch.messages kept offsets 3,4,5,6,7, expected 3,7 (aborted and control records dropped)'], gzipCodec: [] });
  const clients: Array<[string, () => Kafka, { internals?: typeof mismatch }]> = [
    ['the direct read by offset', () => kafka, {}],
    // Only what the fallback uses: without the cluster factory's symbol the reader joins a group.
    ['the consumer-group fallback', groupOnly, {}],
    // The real client, whose cluster factory is there: the failed self-test alone must send the restore to the group replay.
    ['the group replay after a failed self-test of the kafkajs internals', () => new Proxy(kafka, { ownKeys: (target) => { const keys = Reflect.ownKeys(target); if (keys.some((k) => typeof k === 'symbol' && k.description === 'private:Kafka:createCluster')) directAttempts++; return keys; } }), { internals: mismatch }],
  ];
  let directAttempts = 0;

  for (const [how, client, extra] of clients) {
    test(`${how} replays the committed records after each checkpoint and none of the aborted transaction`, async () => {
      // 1 KiB per fetch: each transaction's record batch takes a fetch of its own (a batch above the limit still comes whole).
      const attemptsBefore = directAttempts;
      const reader = new KafkaChangelogReader(client(), { ...compileChangelogReaderOptions(configOf(names.env)), logger: createLogger('error'), timeoutMs: 60_000, maxBytesPerPartition: 1024, ...extra });
      const checkpoint1 = committed.get(1)![25]!.offset;
      const applied = new Map<number, Array<{ offset: string; key: string; value: string }>>();
      const result = await reader.restore(
        [
          { partition: 0, fromOffset: '0' },
          { partition: 1, fromOffset: checkpoint1 },
        ],
        (partition, records) => {
          const list = applied.get(partition) ?? [];
          for (const r of records) list.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
          applied.set(partition, list);
        },
      );
      assert.deepEqual(applied.get(0), committed.get(0), 'partition 0: every committed record from offset 0, in order');
      assert.deepEqual(applied.get(1), committed.get(1)!.slice(25), 'partition 1: the committed records from its checkpoint on');
      assert.ok(![...applied.values()].flat().some((r) => r.value.startsWith('abort')), 'no record of the aborted transaction');
      if (extra.internals) assert.equal(directAttempts, attemptsBefore, 'the direct read was never attempted after the failed self-test');
      const ends = kafka.admin();
      await ends.connect();
      const high = new Map((await ends.fetchTopicOffsets(names.changelogTopic)).map((o) => [o.partition, o.high]));
      await ends.disconnect();
      assert.deepEqual(
        [...result].map(([p, r]) => [p, r.records, r.nextOffset]),
        [
          [0, 80, high.get(0)],
          [1, 55, high.get(1)],
        ],
        'records read per partition, and the next offset is the end (past the last commit marker)',
      );
    });

    test(`${how} reads nothing for a partition already at its end`, async () => {
      const reader = new KafkaChangelogReader(client(), { ...compileChangelogReaderOptions(configOf(names.env)), logger: createLogger('error'), timeoutMs: 60_000, ...extra });
      const admin = kafka.admin();
      await admin.connect();
      const end = (await admin.fetchTopicOffsets(names.changelogTopic)).find((o) => o.partition === 0)!.high;
      await admin.disconnect();
      let calls = 0;
      const result = await reader.restore([{ partition: 0, fromOffset: end }], () => void calls++);
      assert.equal(calls, 0, 'apply never called');
      assert.deepEqual(result.get(0), { records: 0, nextOffset: end }, 'the checkpoint is the end');
    });
  }
});
