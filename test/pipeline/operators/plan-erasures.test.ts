import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, of, tap, type MonoTypeOperatorFunction } from 'rxjs';
import type { ContextErased, ErasureCompleted } from '../../../src/contracts/erasure.js';
import type { ContextAggregated } from '../../../src/contracts/snapshot.js';
import { AuraError } from '../../../src/errors.js';
import type { Embedder, SourceRecord, VectorPoint, VectorWriter } from '../../../src/ports.js';
import { CommitTracker, coalescePoints, produceOutRecords, embedCached, erasurePlan, markDone, planErasures, retryWithBackoff, storeBatch, toErasedRecords, toPoints, toVectorizedRecords, type AggregatedItem, type Encoded, type ErasureItem, type RetryStep, type SnapshotItem } from '../../../src/pipeline/index.js';
import { MemoryEmbeddingCache } from '../../support/fakes/embedder.js';
import { fixtureSnapshot } from '../../support/snapshot-fixture.js';
import { MemoryVectorSink } from '../../support/fakes/vector-sink.js';

// The per-batch erasure rule (src/pipeline/operators/plan-erasures.ts) and the steps that apply it.

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12);

const record = (partition: number, offset: number): SourceRecord => ({
  topic: 'agg',
  partition,
  offset: String(offset),
  timestamp: '1000',
  key: null,
  value: null,
  headers: {},
});

const snapshot = (user: string, windowEnd: number, offset: number): ContextAggregated => ({ ...fixtureSnapshot(user, windowEnd, offset), snapshot_id: `s${offset}`, text: `${user} text ${offset}` });

const snap = (partition: number, offset: number, user: string, windowEnd = T0): SnapshotItem => ({
  record: record(partition, offset),
  snapshot: snapshot(user, windowEnd, offset),
  pointId: `${user}@${new Date(windowEnd).toISOString().slice(0, 10)}`,
});

const marker = (partition: number, offset: number, user: string, before: number | null = null): ErasureItem => ({
  record: record(partition, offset),
  erasure: {
    erasure_id: `00000000-0000-4000-8000-${String(offset).padStart(12, '0')}`,
    user_id: user,
    cause: before === null ? 'user_deleted' : 'retention',
    requested_at: T0 + 5 * DAY,
    before,
    trace_id: before === null ? `trace-${offset}` : null,
    event_partition: 3,
    event_offset: 42,
    aggregator_version: '1.0.0',
    requester: before === null ? 'ops@example' : 'system:retention',
    reason: before === null ? 'TICKET-1' : 'retention',
  } satisfies ContextErased,
});

const offsets = (items: readonly { record: SourceRecord }[]) => items.map((i) => `${i.record.partition}/${i.record.offset}`);

describe('erasurePlan', () => {
  it('erases a snapshot of the user before the marker, keeps the one after it and every other user', () => {
    const batch: AggregatedItem[] = [snap(0, 1, 'u1'), snap(0, 2, 'u2'), marker(0, 3, 'u1'), snap(0, 4, 'u1', T0 + DAY), snap(1, 5, 'u3')];
    const plan = erasurePlan(batch);
    assert.deepEqual(offsets(plan.erased), ['0/1'], 'u1 before the marker is never written');
    assert.deepEqual(offsets(plan.snapshots), ['0/2', '0/4', '1/5'], 'u1 after the marker, u2 and u3 are written, in batch order');
    assert.deepEqual(offsets(plan.erasures), ['0/3'], 'the marker itself');
  });

  it('keeps two markers of a user in order, erasing what precedes each, and never drops one', () => {
    const batch: AggregatedItem[] = [snap(0, 1, 'u1'), marker(0, 2, 'u1'), snap(0, 3, 'u1'), marker(0, 4, 'u1'), snap(0, 5, 'u1', T0 + DAY), marker(0, 6, 'u2')];
    const plan = erasurePlan(batch);
    assert.deepEqual(offsets(plan.erasures), ['0/2', '0/4', '0/6'], 'every marker, in batch order (a marker without snapshots too)');
    assert.deepEqual(offsets(plan.erased), ['0/1', '0/3'], 'the snapshot between the two markers is erased by the second');
    assert.deepEqual(offsets(plan.snapshots), ['0/5'], 'the snapshot after both is written');
  });

  it('a retention marker erases only earlier snapshots whose window ends before `before`', () => {
    const before = T0;
    const batch: AggregatedItem[] = [snap(0, 1, 'u1', T0 - DAY), snap(0, 2, 'u1', T0), snap(0, 3, 'u2', T0 - 2 * DAY), marker(0, 4, 'u1', before), snap(0, 5, 'u1', T0 - 3 * DAY)];
    const plan = erasurePlan(batch);
    assert.deepEqual(offsets(plan.erased), ['0/1'], 'the earlier snapshot ending before `before`');
    assert.deepEqual(offsets(plan.snapshots), ['0/2', '0/3', '0/5'], 'one ending at `before` (exclusive bound), another user, and one after the marker stay');
  });

  it('a marker erases nothing of another partition (same user id) and nothing at a higher offset', () => {
    const plan = erasurePlan([snap(1, 1, 'u1'), marker(0, 5, 'u1'), snap(0, 9, 'u1')]);
    assert.deepEqual(offsets(plan.erased), []);
    assert.deepEqual(offsets(plan.snapshots), ['1/1', '0/9']);
  });

  it('compares int64 offsets as numbers, not as text', () => {
    const plan = erasurePlan([snap(0, 9, 'u1'), marker(0, 10, 'u1')]);
    assert.deepEqual(offsets(plan.erased), ['0/9'], '"9" < "10" numerically');
  });
});

describe('planErasures → … → storeBatch → toErasedRecords → markDone', () => {
  const vectors = async (ts: string[]) => ts.map((t) => Float32Array.from([t.length, 1]));
  const embedder: Embedder = { modelId: 'm', modelVersion: 'v', manifestSha256: 'h', queryPrefix: '', dimension: 2, embed: vectors, embedQueries: vectors, close: async () => undefined };
  const noRetry: RetryStep = <T>() => ((s) => s) as MonoTypeOperatorFunction<T>;
  const codec = {
    encodeVectorized: (v: unknown) => Buffer.from(JSON.stringify(v)),
    encodeErasureCompleted: (v: ErasureCompleted) => Buffer.from(JSON.stringify(v)),
  };
  const point = (user: string, day: number): VectorPoint => ({
    id: `${user}@${new Date(T0 + day * DAY).toISOString().slice(0, 10)}`,
    vector: Float32Array.from([1, 0]),
    payload: { user_id: user, window_end: T0 + day * DAY } as VectorPoint['payload'],
  });

  /** A sink that logs deletes and upserts in the order the store saw them. */
  const loggingSink = (log: string[]) => {
    const sink = new MemoryVectorSink('c');
    const del = sink.deleteUser.bind(sink);
    const up = sink.upsert.bind(sink);
    sink.deleteUser = async (u, b) => {
      const n = await del(u, b);
      log.push(`delete ${u}${b === undefined ? '' : ` <${b}`} → ${n}`);
      return n;
    };
    sink.upsert = async (ps) => {
      await up(ps);
      log.push(`upsert ${ps.map((p) => p.id).join(',')}`);
    };
    return sink;
  };

  const run = async (batch: AggregatedItem[], sink: VectorWriter, cache: MemoryEmbeddingCache, tracker: CommitTracker, retry: RetryStep = noRetry) => {
    for (const i of batch) tracker.track(i.record.topic, i.record.partition, i.record.offset);
    let work: Encoded | undefined;
    const stored = await firstValueFrom(
      of(batch).pipe(
        planErasures(),
        coalescePoints(),
        embedCached({ embedder, cache, now: () => 0 }),
        toPoints(embedder),
      ).pipe(
        storeBatch({ sink, now: () => 7777, retry }),
        toVectorizedRecords({ outputTopic: 'vec', codec, embedder, sink }),
        toErasedRecords({ erasedTopic: 'erased', codec, sink }),
        tap((w) => (work = w)),
        produceOutRecords({ writer: { send: async () => undefined, close: async () => undefined }, retry }),
        markDone({ tracker, now: () => 2000 }),
      ),
    );
    return { stored, work: work! };
  };

  it('deletes before it upserts, writes only snapshots after the marker, confirms each erasure with its counts, and marks every record done', async () => {
    const log: string[] = [];
    const sink = loggingSink(log);
    await sink.upsert([point('u1', -3), point('u1', -2), point('u2', -2)]);
    log.length = 0;
    const cache = new MemoryEmbeddingCache();
    await cache.putMany([{ userId: 'u1', text: 'old', vector: Float32Array.from([1, 1]) }, { userId: 'u2', text: 'old', vector: Float32Array.from([2, 2]) }]);
    const tracker = new CommitTracker();
    const batch: AggregatedItem[] = [snap(0, 10, 'u1', T0 - DAY), snap(0, 11, 'u2', T0), marker(0, 12, 'u1'), snap(0, 13, 'u1', T0 + DAY), snap(0, 14, 'u1', T0 + DAY)];
    const { stored, work } = await run(batch, sink, cache, tracker);

    assert.deepEqual(log, ['delete u1 → 2', `upsert u2@2026-01-10,u1@2026-01-11`], 'the delete is confirmed before the upsert; u1@10 is never written');
    assert.deepEqual([...sink.points.keys()].sort(), ['u1@2026-01-11', 'u2@2026-01-08', 'u2@2026-01-10'], 'u1 only has the point written after the marker');
    assert.equal(cache.of('u1'), 1, 'u1\'s old cache entry is gone; only the text embedded after the marker is cached');
    assert.equal(cache.of('u2'), 2, 'u2\'s entries are untouched');

    const confirmations = work.outputs.filter((o) => o.topic === 'erased');
    assert.equal(confirmations.length, 1);
    assert.equal(String(confirmations[0]!.key), 'u1', 'keyed by user');
    assert.equal(String(confirmations[0]!.headers?.trace_id), 'trace-12', 'the marker\'s trace id');
    const c = JSON.parse(confirmations[0]!.value!.toString()) as ErasureCompleted;
    assert.deepEqual(c, {
      erasure_id: '00000000-0000-4000-8000-000000000012',
      user_id: 'u1',
      cause: 'user_deleted',
      requested_at: T0 + 5 * DAY,
      before: null,
      completed_at: 7777,
      store: 'qdrant',
      collection: 'c',
      points_deleted: 2,
      cache_entries_deleted: 1,
      trace_id: 'trace-12',
      snapshot_topic: 'agg',
      snapshot_partition: 0,
      snapshot_offset: 12,
      requester: 'ops@example',
      reason: 'TICKET-1',
    });
    assert.deepEqual(work.outputs.map((o) => o.topic), ['vec', 'vec', 'erased'], 'ContextVectorized of the two points, then the confirmation');
    assert.deepEqual([stored.records, stored.points, stored.superseded, stored.erased], [5, 2, 1, 1], 'u1@13 superseded by u1@14, u1@10 erased');
    assert.deepEqual(stored.erasures, [{ userId: 'u1', cause: 'user_deleted', pointsDeleted: 2, cacheEntriesDeleted: 1 }]);
    assert.deepEqual(tracker.committable(), [{ topic: 'agg', partition: 0, offset: '15' }], 'erased, superseded and marker offsets are done with the batch');
  });

  it('a retention marker deletes only the points ending before `before`, and its confirmation carries `before`', async () => {
    const log: string[] = [];
    const sink = loggingSink(log);
    await sink.upsert([point('u1', -3), point('u1', 0)]);
    log.length = 0;
    const { work } = await run([marker(0, 1, 'u1', T0)], sink, new MemoryEmbeddingCache(), new CommitTracker());
    assert.deepEqual(log, [`delete u1 <${T0} → 1`], 'no upsert for a batch without points');
    assert.deepEqual([...sink.points.keys()], ['u1@2026-01-10'], 'the point ending at `before` stays');
    const c = JSON.parse(work.outputs[0]!.value!.toString()) as ErasureCompleted;
    assert.deepEqual([c.cause, c.before, c.points_deleted, c.trace_id], ['retention', T0, 1, null]);
    assert.equal(work.outputs[0]!.headers, undefined, 'no trace header without a trace id');
  });

  it('a transient delete failure is retried from the first unconfirmed erasure: counts of confirmed ones are kept, nothing is deleted twice', async () => {
    const log: string[] = [];
    const sink = loggingSink(log);
    await sink.upsert([point('u1', -1), point('u2', -1), point('u2', -2)]);
    log.length = 0;
    const inner = sink.deleteUser.bind(sink);
    let failOn = 'u2';
    sink.deleteUser = async (u, b) => {
      if (u === failOn) {
        failOn = '';
        throw new AuraError('STORE_UNAVAILABLE', 'injected');
      }
      return inner(u, b);
    };
    const retry: RetryStep = <T>() => retryWithBackoff<T>({ initialMs: 1, maxMs: 1, factor: 2, jitter: 0, isRetriable: (e) => e instanceof AuraError && e.retriable });
    const { work } = await run([marker(0, 1, 'u1'), marker(0, 2, 'u2')], sink, new MemoryEmbeddingCache(), new CommitTracker(), retry);
    assert.deepEqual(log, ['delete u1 → 1', 'delete u2 → 2'], 'u1 deleted once, u2 after the retry');
    const counts = work.outputs.map((o) => (JSON.parse(o.value!.toString()) as ErasureCompleted).points_deleted);
    assert.deepEqual(counts, [1, 2], 'each confirmation reports its first confirmed delete');
  });

  it('a fatal store error stops the batch before any record is marked done', async () => {
    const sink = new MemoryVectorSink('c');
    sink.deleteUser = async () => {
      throw new AuraError('CONFIG', 'injected');
    };
    const tracker = new CommitTracker();
    const err = await run([snap(0, 1, 'u2'), marker(0, 2, 'u1')], sink, new MemoryEmbeddingCache(), tracker).catch((e: unknown) => e);
    assert.ok(err instanceof AuraError && err.code === 'CONFIG');
    assert.deepEqual(tracker.committable(), [], 'nothing committable');
    assert.equal(sink.points.size, 0, 'and nothing upserted (deletes come first)');
  });
});
