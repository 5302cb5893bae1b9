import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, from, lastValueFrom, of, tap, toArray, type MonoTypeOperatorFunction } from 'rxjs';
import type { ContextAggregated } from '../../../src/contracts/snapshot.js';
import { AuraError } from '../../../src/errors.js';
import type { Embedder, EmbeddingCache, OutRecord, SourceRecord, TopicPartition } from '../../../src/ports.js';
import { CommitTracker, DLQ_HEADERS, coalescePoints, commitDone, committer, decodeOrDeadLetter, embedCached, markDone, planErasures, produceOutRecords, storeBatch, toErasedRecords, toVectorizedRecords, toPoints, trackRecords, type Encoded, type RetryStep, type SnapshotItem } from '../../../src/pipeline/index.js';
import { fixtureSnapshot } from '../../support/snapshot-fixture.js';

// The vectorize stage's operators one by one, on plain values (the whole pipe runs in
// test/topology/vectorize.test.ts).

const record = (partition: number, offset: number, value = `v${partition}-${offset}`): SourceRecord => ({
  topic: 'in',
  partition,
  offset: String(offset),
  timestamp: '1000',
  key: Buffer.from('u1'),
  value: Buffer.from(value),
  headers: {},
});

/** A snapshot of `user` whose text is `text`: these tests look only at the user, the text and the trace id. */
const snapshot = (user: string, text: string, trace: string | null = null): ContextAggregated => ({ ...fixtureSnapshot(user, Date.UTC(2026, 0, 5, 12), 7), text, trace_id: trace });

const item = (partition: number, offset: number, user: string, text: string, pointId = `${user}-day`): SnapshotItem => ({
  record: record(partition, offset),
  snapshot: snapshot(user, text, `t-${offset}`),
  pointId,
});

const noRetry: RetryStep = <T>() => ((s) => s) as MonoTypeOperatorFunction<T>;

describe('trackRecords', () => {
  it('tracks every record, resolves and acks the batch, and hands the records on in order; a stale batch is acked and dropped', async () => {
    const tracker = new CommitTracker();
    const acks: string[] = [];
    const resolved: string[] = [];
    const batch = (records: SourceRecord[], stale = false) => ({ batch: { records, resolve: (o: string) => resolved.push(o), isStale: () => stale }, ack: () => acks.push(records[0]?.offset ?? '-') });
    const out = await lastValueFrom(from([batch([record(0, 5), record(0, 6)]), batch([record(1, 9)], true)]).pipe(trackRecords(tracker), toArray()));
    assert.deepEqual(out.map((r) => `${r.partition}/${r.offset}`), ['0/5', '0/6'], 'the records of the live batch, in order');
    assert.deepEqual(resolved, ['6'], 'the live batch resolved through its last offset');
    assert.deepEqual(acks, ['5', '9'], 'both batches acknowledged');
    assert.equal(tracker.pendingCount('in', 0), 2, 'the live records are held by the tracker');
    assert.equal(tracker.pendingCount('in', 1), 0, 'the stale one is not tracked');
  });
});

describe('decodeOrDeadLetter', () => {
  it('passes decoded records on and sends poison to the DLQ with its reason before reporting it', async () => {
    const sent: OutRecord[] = [];
    const dead: string[] = [];
    const decode = (r: SourceRecord) => {
      if (r.value?.toString() === 'bad') throw new AuraError('UNDECODABLE', 'not avro');
      return r.value!.toString().toUpperCase();
    };
    const out = await lastValueFrom(
      from([record(0, 1, 'a'), record(0, 2, 'bad'), record(0, 3, 'c')]).pipe(
        decodeOrDeadLetter({
          decode,
          writer: { send: async (rs) => void sent.push(...rs) },
          stage: 'vectorize',
          dlqTopic: 'in.dlq',
          retry: noRetry,
          onDeadLettered: async (r, e) => void dead.push(`${r.offset}:${e.code}:${sent.length}`),
        }),
        toArray(),
      ),
    );
    assert.deepEqual(out.map((d) => `${d.record.offset}=${d.value}`), ['1=A', '3=C']);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.topic, 'in.dlq');
    assert.equal(sent[0]!.value?.toString(), 'bad', 'the original bytes');
    assert.equal(String(sent[0]!.headers?.[DLQ_HEADERS.code]), 'UNDECODABLE');
    assert.deepEqual(dead, ['2:UNDECODABLE:1'], 'reported after the DLQ write');
  });

  it('does not dead-letter a fault of the world: the error goes on to the retry policy', async () => {
    const err = await lastValueFrom(
      of(record(0, 1)).pipe(
        decodeOrDeadLetter({
          decode: () => {
            throw new AuraError('REGISTRY_UNAVAILABLE', 'registry down');
          },
          writer: { send: async () => assert.fail('nothing dead-lettered') },
          stage: 'vectorize',
          dlqTopic: 'in.dlq',
          retry: noRetry,
          onDeadLettered: async () => assert.fail('nothing dead-lettered'),
        }),
      ),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof AuraError && err.code === 'REGISTRY_UNAVAILABLE');
  });
});

describe('planErasures → coalescePoints → embedCached → toPoints → storeBatch → toVectorizedRecords → toErasedRecords → produceOutRecords → markDone', () => {
  /** A store and a writer that confirm everything: the steps between toPoints and markDone, not under test here. */
  const passingSink = { kind: 'qdrant' as const, collection: 'c', upsert: async () => undefined, deleteUser: async () => 0 };
  const acknowledging = { send: async () => undefined, close: async () => undefined };
  const noRetry: RetryStep = () => (source) => source;
  const vector = (text: string) => Float32Array.from([text.length, 1]);
  const embedder = (calls: string[][]): Embedder => ({
    modelId: 'm',
    modelVersion: 'v',
    manifestSha256: 'h',
    queryPrefix: '',
    dimension: 2,
    embed: async (texts) => (calls.push(texts), texts.map(vector)),
    embedQueries: async () => assert.fail('the stage embeds documents, never queries'),
    close: async () => undefined,
  });
  const cache = (): EmbeddingCache & { map: Map<string, Float32Array> } => {
    const map = new Map<string, Float32Array>([['u3|cached text', Float32Array.from([9, 9])], ['u1|old', Float32Array.from([7, 7])]]);
    const userOf = (k: string) => k.slice(0, k.indexOf('|'));
    return {
      map,
      hits: 0,
      misses: 0,
      getMany: (ks) => ks.map((k) => map.get(`${k.userId}|${k.text}`)),
      putMany: async (es) => void es.forEach((e) => map.set(`${e.userId}|${e.text}`, e.vector)),
      deleteUser: async (userId) => [...map.keys()].filter((k) => userOf(k) === userId && map.delete(k)).length,
      close: async () => undefined,
    };
  };

  it('keeps the last snapshot per point, embeds each distinct missing text once, caches it, and reports every record done', async () => {
    const calls: string[][] = [];
    const c = cache();
    const tracker = new CommitTracker();
    const batch = [item(0, 1, 'u1', 'old'), item(0, 2, 'u2', 'same text'), item(1, 3, 'u3', 'cached text'), item(0, 4, 'u1', 'same text'), item(0, 5, 'u4', 'same text')];
    for (const i of batch) tracker.track(i.record.topic, i.record.partition, i.record.offset);
    const e = embedder(calls);
    let work: Encoded | undefined;
    const stored = await firstValueFrom(
      of(batch).pipe(
        planErasures(),
        coalescePoints(),
        embedCached({ embedder: e, cache: c, now: () => 0 }),
        toPoints(e),
      ).pipe(
        storeBatch({ sink: passingSink, now: () => 0, retry: noRetry }),
        toVectorizedRecords({ outputTopic: 'out', codec: { encodeVectorized: (v) => Buffer.from(JSON.stringify(v)) }, embedder: e, sink: passingSink }),
        toErasedRecords({ erasedTopic: 'erased', codec: { encodeErasureCompleted: (v) => Buffer.from(JSON.stringify(v)) }, sink: passingSink }),
        tap((w) => (work = w)),
        produceOutRecords({ writer: acknowledging, retry: noRetry }),
        markDone({ tracker, now: () => 3000 }),
      ),
    );
    assert.ok(work);
    assert.deepEqual(work.kept.map((i) => i.record.offset), ['2', '3', '4', '5'], 'u1@1 lost to u1@4');
    assert.deepEqual(work.superseded.map((i) => i.record.offset), ['1']);
    assert.deepEqual(calls, [['same text']], 'one model call, the one distinct missing text once');
    assert.deepEqual([...c.map.keys()].filter((k) => k.endsWith('|same text')).sort(), ['u1|same text', 'u2|same text', 'u4|same text'], 'the fresh vector is cached for each user of the text');
    assert.deepEqual(c.map.get('u2|same text'), vector('same text'), 'the fresh vector is cached');
    assert.deepEqual(work.cacheHit, [false, true, false, false]);
    assert.deepEqual(work.points.map((p) => [p.id, Array.from(p.vector)]), [
      ['u2-day', [9, 1]],
      ['u3-day', [9, 9]],
      ['u1-day', [9, 1]],
      ['u4-day', [9, 1]],
    ]);
    assert.equal(work.points[1]!.payload.snapshot_offset, 3, 'the payload names its record');
    const out = work.outputs.map((o) => JSON.parse(o.value!.toString()) as { point_id: string; cache_hit: boolean; dimension: number });
    assert.deepEqual(out.map((o) => [o.point_id, o.cache_hit, o.dimension]), [
      ['u2-day', false, 2],
      ['u3-day', true, 2],
      ['u1-day', false, 2],
      ['u4-day', false, 2],
    ]);
    assert.deepEqual(work.outputs.map((o) => [o.topic, String(o.key), String(o.headers?.trace_id)]), [
      ['out', 'u2', 't-2'],
      ['out', 'u3', 't-3'],
      ['out', 'u1', 't-4'],
      ['out', 'u4', 't-5'],
    ]);
    assert.deepEqual([stored.records, stored.points, stored.superseded, stored.erased, stored.erasures.length, stored.cacheHits, stored.cacheMisses], [5, 4, 1, 0, 0, 1, 1]);
    assert.deepEqual(stored.e2eSeconds, [2, 2, 2, 2, 2], 'now minus each record timestamp');
    assert.deepEqual(tracker.committable().map((o) => `${o.partition}@${o.offset}`).sort(), ['0@6', '1@4'], 'every record done, superseded included');
  });

  it('freshness runs from each snapshot\'s source event timestamp to the store\'s confirmation, superseded snapshots included', async () => {
    const tracker = new CommitTracker();
    const withTs = (i: SnapshotItem, ts: number | null | undefined): SnapshotItem => {
      const { source_timestamp: _, ...rest } = i.snapshot;
      return { ...i, snapshot: ts === undefined ? rest : { ...rest, source_timestamp: ts } };
    };
    // u1@1 is superseded by u1@2 (same point); u2@3 comes from a writer without the field; u3@4 has null
    const batch = [withTs(item(0, 1, 'u1', 'a'), 10_000), withTs(item(0, 2, 'u1', 'b'), 12_500), withTs(item(0, 3, 'u2', 'c'), undefined), withTs(item(0, 4, 'u3', 'd'), null)];
    for (const i of batch) tracker.track(i.record.topic, i.record.partition, i.record.offset);
    const e = embedder([]);
    let clock = 20_000;
    const upserted: number[] = [];
    const sink = {
      kind: 'qdrant' as const,
      collection: 'c',
      upsert: async (points: unknown[]) => {
        upserted.push(points.length);
        clock = 21_000; // the store confirms one second after the upsert started
      },
      deleteUser: async () => 0,
    };
    const retry: RetryStep = () => (source) => source;
    const stored = await firstValueFrom(
      of(batch).pipe(
        planErasures(),
        coalescePoints(),
        embedCached({ embedder: e, cache: cache(), now: () => 0 }),
        toPoints(e),
      ).pipe(
        storeBatch({ sink: sink as never, now: () => clock, retry }),
        tap(() => (clock = 99_000)), // later steps (produce) must not count
        toVectorizedRecords({ outputTopic: 'out', codec: { encodeVectorized: (v) => Buffer.from(JSON.stringify(v)) }, embedder: e, sink: passingSink }),
        toErasedRecords({ erasedTopic: 'erased', codec: { encodeErasureCompleted: (v) => Buffer.from(JSON.stringify(v)) }, sink: passingSink }),
        produceOutRecords({ writer: acknowledging, retry }),
        markDone({ tracker, now: () => clock }),
      ),
    );
    assert.deepEqual(upserted, [3], 'one upsert of the three points');
    assert.deepEqual(stored.freshnessSeconds.sort((a, b) => a - b), [8.5, 11], 'u1@2: 21.0-12.5 s, u1@1 (superseded, searchable in u1@2): 21.0-10.0 s; no timestamp: left out');
  });

  it('an embedder that returns the wrong number of vectors fails the batch (never a made-up vector)', async () => {
    const bad: Embedder = { modelId: 'm', modelVersion: 'v', manifestSha256: 'h', queryPrefix: '', dimension: 2, embed: async () => [], embedQueries: async () => [], close: async () => undefined };
    const err = await firstValueFrom(of([item(0, 1, 'u1', 'fresh')]).pipe(planErasures(), coalescePoints(), embedCached({ embedder: bad, cache: cache(), now: () => 0 }))).catch((e: unknown) => e);
    assert.ok(err instanceof AuraError && err.code === 'INTERNAL' && /0 vectors for 1 texts/.test(err.message));
  });
});

describe('committer → commitDone', () => {
  it('reports the batch, commits only assigned partitions that moved, then releases the batch', async () => {
    const tracker = new CommitTracker();
    for (const [p, o] of [[0, 0], [0, 1], [1, 0]] as const) tracker.track('in', p, String(o));
    tracker.done('in', 0, '0');
    tracker.done('in', 1, '0');
    const commits: Array<TopicPartition & { offset: string }> = [];
    let assigned: TopicPartition[] = [{ topic: 'in', partition: 0 }];
    const commit = committer({ tracker, source: { commit: async (o) => void commits.push(...o) }, assigned: () => assigned });
    const order: string[] = [];
    const out = await lastValueFrom(
      of('batch-1').pipe(
        commitDone<string>({ commit, retry: (s) => s, released: () => order.push('released') }),
        toArray(),
      ),
    );
    assert.deepEqual(out, ['batch-1', { committed: [{ topic: 'in', partition: 0, offset: '1' }] }], 'partition 1 is not assigned here');
    assert.deepEqual(order, ['released']);
    assert.deepEqual(commits, [{ topic: 'in', partition: 0, offset: '1' }]);
    assigned = [];
    const again = await lastValueFrom(of('batch-2').pipe(commitDone<string>({ commit, retry: (s) => s, released: () => undefined }), toArray()));
    assert.deepEqual(again, ['batch-2'], 'nothing moved: no committed report');
  });
});
