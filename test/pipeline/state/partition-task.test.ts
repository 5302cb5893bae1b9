import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAggregateCodec } from '../../../src/adapters/codecs.js';
import { AuraError } from '../../../src/errors.js';
import type { PartitionBatch } from '../../../src/ports.js';
import type { FoldedTransaction } from '../../../src/pipeline/domain/fold-transactions.js';
import { PartitionGate } from '../../../src/pipeline/state/partition-gate.js';
import { PartitionTasks } from '../../../src/pipeline/state/partition-task.js';
import { CacheBudget } from '../../../src/pipeline/state/window-cache.js';
import { MemoryBatchWriter, MemoryChangelogReader, MemoryLog, MemoryWindowStore, mockSerde } from '../../support/topology-driver.js';

const INPUT = 'events';
const CHANGELOG = 'changelog';
const tp = (...partitions: number[]) => partitions.map((partition) => ({ topic: INPUT, partition }));

async function setUp() {
  const log = new MemoryLog();
  log.create(INPUT, 3);
  log.create(CHANGELOG, 3);
  const writer = new MemoryBatchWriter(log, { groupId: 'g' });
  const store = new MemoryWindowStore();
  const gate = new PartitionGate({ writer, changelog: new MemoryChangelogReader(log, CHANGELOG), store }, INPUT, () => undefined);
  const budget = new CacheBudget(Number.POSITIVE_INFINITY);
  const codec = await createAggregateCodec(mockSerde(), { input: INPUT, output: 'out' });
  const tasks = new PartitionTasks({
    gate,
    store,
    writer,
    codec,
    budget,
    cacheMaxUsers: 100,
    snapshot: { windowDays: 7, maxEvents: 512, aggregatorVersion: 'test' },
    erasureAuth: { key: undefined, maxAgeMs: 0 },
    retention: { days: 0, maxExpiries: 10 },
    topics: { stage: 'aggregate', outputTopic: 'out', changelogTopic: CHANGELOG, dlqTopic: 'events.dlq' },
    now: () => 0,
  });
  /** Puts `n` (absent) windows into the partition's cache, as a fold that loaded them would. */
  const warm = (partition: number, n: number) => {
    for (let i = 0; i < n; i++) tasks.of(partition).fold.cache.take(`user-${partition}-${i}`, () => undefined);
  };
  const claims = (partition: number) => log.ops.filter((o) => o.op === 'claim' && o.partition === partition).length;
  const restores = (partition: number) => log.ops.filter((o) => o.op === 'restore' && o.partition === partition).length;
  return { tasks, budget, warm, claims, restores };
}

function batchOf(partition: number, offsets: number[], stale = false): PartitionBatch & { resolved: string[] } {
  const resolved: string[] = [];
  return {
    topic: INPUT,
    partition,
    records: offsets.map((o) => ({ topic: INPUT, partition, offset: String(o), timestamp: '0', key: null, value: null, headers: {} })),
    highWatermark: String(offsets.length),
    heartbeat: async () => undefined,
    resolve: (offset) => void resolved.push(offset),
    isStale: () => stale,
    resolved,
  };
}

describe('PartitionTasks', () => {
  it('one task per partition, the same object every time it is asked for', async () => {
    const { tasks } = await setUp();
    assert.equal(tasks.of(1), tasks.of(1), 'partition 1 has one task');
    assert.notEqual(tasks.of(1), tasks.of(2), 'partitions do not share a task');
    assert.equal(tasks.of(2).partition, 2);
  });

  it('an assignment drops the running windows of lost and newly restored partitions and keeps the others', async () => {
    const { tasks, budget, warm } = await setUp();
    tasks.assign(tp(0, 1));
    warm(0, 3);
    warm(1, 2);
    const restoring = tasks.assign(tp(1, 2));
    assert.deepEqual(restoring, [2], 'only partition 2 is new and restored');
    assert.equal(tasks.of(0).fold.cache.size, 0, 'lost partition 0: its windows are dropped');
    assert.equal(tasks.of(1).fold.cache.size, 2, 'kept partition 1: its windows stay');
    assert.equal(budget.used, tasks.of(1).fold.cache.bytes, 'the dropped windows gave their bytes back to the shared budget');
  });
});

describe('PartitionTask', () => {
  it('is ready once its writer is claimed and its changelog restored, once per assignment', async () => {
    const { tasks, claims, restores } = await setUp();
    tasks.assign(tp(0));
    await tasks.of(0).whenReady(async () => undefined);
    await tasks.of(0).whenReady(async () => undefined);
    assert.deepEqual([claims(0), restores(0)], [1, 1], 'one claim and one restore for two batches');
  });

  it('invalidate after a failed write: the running windows are dropped and the next batch claims and restores again', async () => {
    const { tasks, warm, claims, restores } = await setUp();
    tasks.assign(tp(0));
    await tasks.of(0).whenReady(async () => undefined);
    warm(0, 4);
    tasks.of(0).invalidate(new AuraError('BROKER_UNAVAILABLE', 'write failed'));
    assert.equal(tasks.of(0).fold.cache.size, 0, 'windows that may hold uncommitted folds are gone');
    await tasks.of(0).whenReady(async () => undefined);
    assert.deepEqual([claims(0), restores(0)], [2, 2], 'claimed and restored a second time');
  });

  it('a fenced task stays blocked until an assignment names its partition again', async () => {
    const { tasks } = await setUp();
    tasks.assign(tp(0));
    await tasks.of(0).whenReady(async () => undefined);
    tasks.of(0).invalidate(new AuraError('FENCED', 'another instance took over'));
    await assert.rejects(tasks.of(0).whenReady(async () => undefined), (e: AuraError) => e.code === 'FENCED', 'no batch of a fenced partition is processed');
    tasks.assign(tp(0));
    await tasks.of(0).whenReady(async () => undefined);
  });

  it('transaction numbers keep increasing across resets, so an older commit never marks a newer fold durable', async () => {
    const { tasks } = await setUp();
    const fold = tasks.of(0).fold;
    const before = [fold.nextTx(), fold.nextTx()];
    tasks.of(0).reset();
    tasks.assign(tp(1));
    assert.deepEqual([...before, fold.nextTx()], [0, 1, 2], 'numbering goes on after a reset and an assignment');
  });
});

/** A folded transaction of `records` that writes nothing but the consumed offset. */
function transaction(records: PartitionBatch['records'], nextOffset: string): FoldedTransaction {
  return {
    tx: 0,
    topic: INPUT,
    partition: 0,
    records: [...records],
    nextOffset,
    snapshots: [],
    erasures: [],
    states: new Map(),
    streamTime: undefined,
    poison: [],
    counters: { accepted: 0, late: 0, duplicate: 0, erased: 0 },
    startedAt: 0,
  };
}

describe('TaskRun', () => {
  it('hands out every record first, and after a commit only the uncommitted rest', async () => {
    const { tasks } = await setUp();
    tasks.assign(tp(0));
    const batch = batchOf(0, [0, 1, 2, 3]);
    const run = tasks.of(0).run(batch);
    assert.deepEqual(run.uncommitted().map((r) => r.offset), ['0', '1', '2', '3'], 'the first try reads the whole batch');
    await tasks.of(0).whenReady(async () => undefined);
    const event = await run.commit(transaction(batch.records.slice(0, 3), '3'));
    assert.equal(event.type, 'committed', 'the first three records committed');
    assert.deepEqual(batch.resolved, ['2'], 'the batch is resolved up to the last committed record');
    assert.deepEqual(run.uncommitted().map((r) => r.offset), ['3'], 'a retry reads only the record not yet committed');
  });

  it('a transaction of a revoked partition is abandoned: not written, its windows dropped', async () => {
    const { tasks, warm } = await setUp();
    tasks.assign(tp(0));
    const batch = batchOf(0, [0, 1], true);
    const run = tasks.of(0).run(batch);
    warm(0, 2);
    const event = await run.commit(transaction(batch.records, '2'));
    assert.deepEqual(event, { type: 'abandoned', partition: 0, reason: 'partition revoked or stage stopping' });
    assert.equal(tasks.of(0).fold.cache.size, 0, 'the folds of the abandoned transaction are dropped');
    assert.deepEqual(batch.resolved, [], 'no offset of the batch is resolved');
    assert.deepEqual(run.uncommitted().map((r) => r.offset), ['0', '1'], 'a redelivery reads both records again');
  });

  it('retrying invalidates the task and says which partition retries with which error', async () => {
    const { tasks, warm } = await setUp();
    tasks.assign(tp(0));
    const run = tasks.of(0).run(batchOf(0, [0]));
    warm(0, 1);
    const error = new AuraError('BROKER_UNAVAILABLE', 'gone');
    assert.deepEqual(run.retrying(error), { type: 'retrying', partition: 0, error });
    assert.equal(tasks.of(0).fold.cache.size, 0, 'the retry starts from the store');
  });
});
