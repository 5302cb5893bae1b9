import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ReplaySubject, Subject, VirtualAction, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { topicRecordSubject, type AvroSerde } from '../../src/adapters/avro-serde.js';
import { CONTEXT_ERASED_FULL_NAME, ERASURE_COMPLETED_FULL_NAME, type ContextErased, type ErasureCompleted } from '../../src/contracts/erasure.js';
import { createVectorizeCodec } from '../../src/adapters/codecs.js';
import { pointId } from '../../src/contracts/ids.js';
import type { ContextAggregated, ContextVectorized } from '../../src/contracts/snapshot.js';
import { AuraError } from '../../src/errors.js';
import type { OutRecord, PartitionBatch, RecordSource, RecordWriter, SourceRecord, TopicPartition, VectorizeCodec } from '../../src/ports.js';
import { DLQ_HEADERS } from '../../src/pipeline/index.js';
import { generateEvents } from '../../src/workload/index.js';
import { pointOracle } from '../oracles/point-oracle.js';
import { vectorizeTopology, type VectorizeEvent, type VectorizeTopologyConfig } from '../../topology/vectorize.js';
import { decodeSnapshots, type SnapshotRecord } from '../support/snapshots.js';
import { TopologyDriver, driverConfig } from '../support/topology-driver.js';
import { HashEmbedder, MemoryEmbeddingCache, hashVector } from '../support/fakes/embedder.js';
import { MemoryVectorSink } from '../support/fakes/vector-sink.js';

/**
 * The vectorize topology in-process (a "topology driver"), in virtual time: the real
 * topology, the real codec (Avro on the confluent mock registry with the real schemas/), real
 * snapshots (the aggregate topology's own output over a seeded workload), and fakes of the
 * consumer group, embedder, embedding cache, vector store and producer. Timers of batching and
 * back-off run on a VirtualTimeScheduler handed in through `ports.scheduler`.
 *
 * Every commit the topology makes is checked when it is made: each record below the committed
 * offset must be stored (its point holds it or a later snapshot of the same point) or dead-lettered.
 */

const IN = 'snapshots';
const OUT = 'vectorized';
const DLQ = 'snapshots.dlq';
const ERASED = 'erased';
const PARTITIONS = 3;
const DIM = 8;

const CONFIG: VectorizeTopologyConfig = {
  inputTopic: IN,
  outputTopic: OUT,
  erasedTopic: ERASED,
  dlqTopic: DLQ,
  batchMaxSize: 64,
  batchMaxWaitMs: 200,
  maxInFlightBatches: 2,
  retryInitialMs: 100,
  retryMaxMs: 1000,
};

// ── Fakes ────────────────────────────────────────────────────────────────────────────────────────

class CapturingWriter implements RecordWriter {
  readonly records: OutRecord[] = [];
  /** Consulted before each send: an error returned fails that send (nothing of it is written). */
  failSend: (records: OutRecord[]) => Error | undefined = () => undefined;
  async send(records: OutRecord[]): Promise<void> {
    const err = this.failSend(records);
    if (err) throw err;
    this.records.push(...records);
  }
  async close(): Promise<void> {}
  on(topic: string): OutRecord[] {
    return this.records.filter((r) => r.topic === topic);
  }
}

/**
 * A consumer group in memory whose deliveries the test drives: `deliver(partition, n)` hands the
 * next n records of a partition to the stage as one batch. Commits are captured and checked by
 * `onCommit` before they are accepted.
 */
class FakeSource implements RecordSource {
  readonly assignment$ = new ReplaySubject<TopicPartition[]>(1);
  readonly failure$ = new Subject<Error>();
  readonly log: SourceRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  readonly commits: Array<TopicPartition & { offset: string }> = [];
  readonly pauses: TopicPartition[][] = [];
  readonly resumes: TopicPartition[][] = [];
  private readonly position = new Array<number>(PARTITIONS).fill(0);
  private handler?: (batch: PartitionBatch) => Promise<void>;
  onCommit: (offsets: Array<TopicPartition & { offset: string }>) => void = () => undefined;

  append(partition: number, value: Buffer | null, key: string | null = null): SourceRecord {
    const r: SourceRecord = { topic: IN, partition, offset: String(this.log[partition]!.length), timestamp: '0', key: key === null ? null : Buffer.from(key), value, headers: {} };
    this.log[partition]!.push(r);
    return r;
  }

  async start(handler: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    this.handler = handler;
    this.assignment$.next(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: IN, partition })));
  }

  /** Delivers up to `n` undelivered records of `partition` (all by default); resolves when the stage took them. */
  async deliver(partition: number, n = Infinity): Promise<number> {
    const from = this.position[partition]!;
    const records = this.log[partition]!.slice(from, from + n);
    if (records.length === 0) return 0;
    this.position[partition] = from + records.length;
    assert.ok(this.handler, 'the stage started the source');
    await this.handler({
      topic: IN,
      partition,
      records,
      highWatermark: String(this.log[partition]!.length),
      heartbeat: async () => undefined,
      resolve: () => undefined,
      isStale: () => false,
    });
    return records.length;
  }

  /** A restarted consumer: the same log, read again from what `before` committed. */
  static restartedFrom(before: FakeSource): FakeSource {
    const source = new FakeSource();
    for (let p = 0; p < PARTITIONS; p++) {
      source.log[p]!.push(...before.log[p]!);
      source.position[p] = before.committed(p);
    }
    return source;
  }

  async deliverAll(): Promise<void> {
    for (let p = 0; p < PARTITIONS; p++) await this.deliver(p);
  }

  pause(partitions: TopicPartition[]): void {
    this.pauses.push(partitions);
  }
  resume(partitions: TopicPartition[]): void {
    this.resumes.push(partitions);
  }
  async commit(offsets: Array<TopicPartition & { offset: string }>): Promise<void> {
    this.onCommit(offsets);
    this.commits.push(...offsets);
  }
  async stop(): Promise<void> {}

  /** Highest committed next-offset per partition (0 when never committed). */
  committed(partition: number): number {
    return Math.max(0, ...this.commits.filter((c) => c.partition === partition).map((c) => Number(c.offset)));
  }
}

// ── Harness ──────────────────────────────────────────────────────────────────────────────────────

interface Harness {
  source: FakeSource;
  embedder: HashEmbedder;
  cache: MemoryEmbeddingCache;
  sink: MemoryVectorSink;
  writer: CapturingWriter;
  scheduler: VirtualTimeScheduler;
  events: VectorizeEvent[];
  /** Events with the virtual time they were emitted at. */
  timeline: Array<{ at: number; event: VectorizeEvent }>;
  errors: unknown[];
  /** Lets promises (codec, fakes) run, then fires virtual timers due up to now + ms; repeats until quiet. */
  advance(ms: number): Promise<void>;
  /** Advances virtual time in steps until nothing is pending. */
  drain(): Promise<void>;
  stop(): void;
}

const settle = async (rounds = 6) => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

let codec: VectorizeCodec;
let serde: AvroSerde;
/** Real ContextAggregated records: the aggregate topology's output over a seeded workload. */
let produced: SnapshotRecord[];
let producedValues: Map<string, Buffer>;

function harness(config: Partial<VectorizeTopologyConfig> = {}, parts: { source?: FakeSource; cache?: MemoryEmbeddingCache; sink?: MemoryVectorSink } = {}): Harness {
  const source = parts.source ?? new FakeSource();
  const embedder = new HashEmbedder(DIM);
  const cache = parts.cache ?? new MemoryEmbeddingCache();
  const sink = parts.sink ?? new MemoryVectorSink();
  const writer = new CapturingWriter();
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const events: VectorizeEvent[] = [];
  const timeline: Harness['timeline'] = [];
  const errors: unknown[] = [];
  const dlqOffsets = () => new Set(writer.on(DLQ).map((r) => `${String(r.headers?.[DLQ_HEADERS.partition])}:${String(r.headers?.[DLQ_HEADERS.offset])}`));

  // The commit invariant, checked at every commit: nothing unstored below the committed offset; an
  // erasure marker below it is confirmed; a snapshot whose point is gone was erased by a later marker.
  source.onCommit = (offsets) => {
    const dead = dlqOffsets();
    const confirmed = new Set(writer.on(ERASED).map((r) => `${erasedOf(r).snapshot_partition}:${erasedOf(r).snapshot_offset}`));
    for (const { partition, offset } of offsets) {
      const below = source.log[partition]!.slice(0, Number(offset));
      for (const r of below) {
        if (dead.has(`${partition}:${r.offset}`)) continue;
        const marker = erasureByValue.get(r.value?.toString('base64') ?? '');
        if (marker) {
          assert.ok(confirmed.has(`${partition}:${r.offset}`), `committed ${partition}@${offset} past the erasure marker ${partition}/${r.offset}, which is not confirmed`);
          continue;
        }
        const snap = decodedByValue.get(r.value?.toString('base64') ?? '');
        assert.ok(snap, `committed ${partition}@${offset} past ${partition}/${r.offset}, which is neither stored nor dead-lettered`);
        const erasedLater = below.some((m) => {
          const e = erasureByValue.get(m.value?.toString('base64') ?? '');
          return e !== undefined && e.user_id === snap.user_id && Number(m.offset) > Number(r.offset) && (e.before === null || snap.window_end < e.before);
        });
        if (erasedLater) continue;
        const point = sink.points.get(pointId(snap.user_id, snap.window_end));
        assert.ok(point, `committed ${partition}@${offset} but the point of ${partition}/${r.offset} is not stored`);
        const holds = point.payload.snapshot_partition === partition && point.payload.snapshot_offset >= Number(r.offset);
        assert.ok(holds, `committed ${partition}@${offset} but the point of ${partition}/${r.offset} holds ${point.payload.snapshot_partition}/${point.payload.snapshot_offset}`);
      }
    }
  };

  const merged = { ...CONFIG, ...config };
  const subscription: Subscription = vectorizeTopology(
    { source, codec, embedder, cache, sink, writer, scheduler, now: () => scheduler.now(), random: () => 0 },
    merged,
  ).subscribe({
    next: (event) => {
      events.push(event);
      timeline.push({ at: scheduler.now(), event });
    },
    error: (err: unknown) => errors.push(err),
  });

  const advance = async (ms: number) => {
    const target = scheduler.frame + ms;
    for (let i = 0; i < 200; i++) {
      await settle();
      scheduler.maxFrames = target;
      const pending = scheduler.actions.filter((a) => a.delay <= target).length;
      scheduler.flush();
      if (pending === 0) {
        await settle();
        if (scheduler.actions.filter((a) => a.delay <= target).length === 0) break;
      }
    }
    scheduler.frame = Math.max(scheduler.frame, target);
  };
  const drain = async () => {
    for (let i = 0; i < 100; i++) {
      await advance(50);
      if (scheduler.actions.length === 0) {
        await settle();
        if (scheduler.actions.length === 0) return;
      }
    }
    throw new Error('the topology did not go quiet within 100 steps of virtual time');
  };
  return { source, embedder, cache, sink, writer, scheduler, events, timeline, errors, advance, drain, stop: () => subscription.unsubscribe() };
}

/** Decoded snapshot by record value (base64), for the commit invariant and expectations. */
const decodedByValue = new Map<string, ContextAggregated>();
/** Erasure markers by record value (base64), for the commit invariant. */
const erasureByValue = new Map<string, ContextErased>();

/** A ContextErased record value of `user` (TopicRecordNameStrategy subject, as the aggregate stage writes it). */
function erasureValue(user: string, n: number, before: number | null = null): Buffer {
  const erasure: ContextErased = {
    erasure_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    user_id: user,
    cause: before === null ? 'user_deleted' : 'retention',
    requested_at: Date.UTC(2026, 0, 20),
    before,
    trace_id: `erase-${n}`,
    event_partition: 0,
    event_offset: n,
    aggregator_version: '1.0.0',
    requester: before === null ? 'ops@example' : 'system:retention',
    reason: before === null ? 'TICKET-1' : 'retention',
  };
  const value = serde.encode(topicRecordSubject(IN, CONTEXT_ERASED_FULL_NAME), CONTEXT_ERASED_FULL_NAME, erasure);
  erasureByValue.set(value.toString('base64'), erasure);
  return value;
}

/** The ErasureCompleted of a captured record (decoded with the local schema: synchronous). */
function erasedOf(r: OutRecord): ErasureCompleted {
  return serde.schema(ERASURE_COMPLETED_FULL_NAME).type.fromBuffer(r.value!.subarray(5)) as ErasureCompleted;
}

/** Appends the produced snapshots to the fake source, keeping their partitions and order. */
function loadProduced(h: Harness, records: readonly SnapshotRecord[] = produced, partition?: number): void {
  for (const r of records) h.source.append(partition ?? r.partition, producedValues.get(`${r.partition}:${r.offset}`)!, r.key);
}

/** The oracle's points over what the fake source holds (records of one partition in offset order). */
function oracleOver(source: FakeSource): Map<string, { snapshot: ContextAggregated; partition: number; offset: number }> {
  const out = new Map<string, { snapshot: ContextAggregated; partition: number; offset: number }>();
  for (let p = 0; p < PARTITIONS; p++) {
    const rows = source.log[p]!.flatMap((r) => {
      const snapshot = decodedByValue.get(r.value?.toString('base64') ?? '');
      return snapshot ? [{ snapshot, offset: Number(r.offset) }] : [];
    });
    for (const [id, snapshot] of pointOracle(rows)) {
      const offset = Math.max(...rows.filter((x) => x.snapshot === snapshot).map((x) => x.offset));
      out.set(id, { snapshot, partition: p, offset });
    }
  }
  return out;
}

/** The partition holding the most records. */
function biggest(source: FakeSource): number {
  return source.log.reduce((best, l, i) => (l.length > source.log[best]!.length ? i : best), 0);
}

function decodeOutputs(h: Harness): Promise<ContextVectorized[]> {
  return Promise.all(h.writer.on(OUT).map(async (r) => JSON.parse(JSON.stringify((await serde.decode(r.value)).value)) as ContextVectorized));
}

const ofType = <T extends VectorizeEvent['type']>(h: Harness, type: T) => h.events.filter((e): e is Extract<VectorizeEvent, { type: T }> => e.type === type);

// ── Tests ────────────────────────────────────────────────────────────────────────────────────────

describe('vectorize topology (in-process, virtual time, no broker)', () => {
  const open: Harness[] = [];
  const make = (config: Partial<VectorizeTopologyConfig> = {}, parts: Parameters<typeof harness>[1] = {}) => {
    const h = harness(config, parts);
    open.push(h);
    return h;
  };

  before(async () => {
    const driver = await TopologyDriver.create(driverConfig({ partitions: PARTITIONS, outputTopic: IN }));
    driver.pipeGenerated(generateEvents({ seed: 'vectorize-topology', users: 8, events: 400, startMs: Date.UTC(2026, 0, 5), poisonFraction: 0, lateFraction: 0, duplicateFraction: 0 }));
    const run = await driver.run();
    assert.equal(run.error, undefined, `the aggregate run that makes the snapshots failed: ${String(run.error)}`);
    serde = driver.serde;
    codec = await createVectorizeCodec(serde, { input: IN, output: OUT, erased: ERASED });
    const raw = driver.log.records(IN);
    produced = await decodeSnapshots(serde, raw);
    producedValues = new Map(raw.map((r) => [`${r.partition}:${r.offset}`, r.value!]));
    for (const r of raw) decodedByValue.set(r.value!.toString('base64'), produced.find((s) => s.partition === r.partition && s.offset === r.offset)!.snapshot);
    assert.ok(produced.length >= 300, `the workload yields enough snapshots (${produced.length})`);
  });

  after(() => {
    for (const h of open) h.stop();
  });

  test('stores exactly the oracle points (last snapshot per user and day), one ContextVectorized per stored point, and commits every partition to its end', async () => {
    const h = make();
    loadProduced(h);
    await h.source.deliverAll();
    await h.drain();
    assert.deepEqual(h.errors, [], 'the topology did not fail');

    const expected = oracleOver(h.source);
    assert.deepEqual([...h.sink.points.keys()].sort(), [...expected.keys()].sort(), 'the stored point ids are the oracle\'s');
    for (const [id, want] of expected) {
      const got = h.sink.points.get(id)!;
      assert.equal(got.payload.snapshot_id, want.snapshot.snapshot_id, `point ${id} holds the last snapshot of ${want.snapshot.user_id} on its day`);
      assert.equal(got.payload.text, want.snapshot.text, `point ${id} carries that snapshot's text`);
      assert.equal(got.payload.snapshot_offset, want.offset, `point ${id} names the record it came from`);
      assert.deepEqual(got.vector, hashVector(want.snapshot.text, DIM), `point ${id}'s vector is its text's embedding`);
    }

    const outputs = await decodeOutputs(h);
    const upserted = h.sink.upserts.flat();
    assert.equal(outputs.length, upserted.length, 'one ContextVectorized per point upserted');
    assert.deepEqual(
      outputs.map((o) => `${o.point_id}|${o.snapshot_id}`),
      upserted.map((p) => `${p.id}|${p.payload.snapshot_id}`),
      'each ContextVectorized names a stored point and its snapshot, in upsert order',
    );
    for (const o of outputs) assert.equal(o.dimension, DIM, 'ContextVectorized carries the model dimension');
    for (const batch of h.sink.upserts) assert.equal(new Set(batch.map((p) => p.id)).size, batch.length, 'an upsert never carries one point twice (coalesced)');

    const stored = ofType(h, 'stored');
    assert.equal(stored.reduce((n, e) => n + e.records, 0), produced.length, 'every record went through a stored batch once');
    assert.ok(stored.reduce((n, e) => n + e.superseded, 0) > 0, 'the workload coalesced some snapshots within batches');
    for (let p = 0; p < PARTITIONS; p++) assert.equal(h.source.committed(p), h.source.log[p]!.length, `partition ${p} committed to its end`);
  });

  test('a micro-batch closes at BATCH_MAX_WAIT_MS after its first record, not earlier, and at BATCH_MAX_SIZE at once', async () => {
    const h = make({ batchMaxSize: 64, batchMaxWaitMs: 200 });
    loadProduced(h);
    const p = biggest(h.source);
    assert.ok(h.source.log[p]!.length >= 150, `partition ${p} holds at least 150 records`);
    await h.source.deliver(p, 10);
    await h.advance(199);
    assert.equal(h.sink.attempts, 0, 'nothing is upserted before the batch waited 200 ms');
    await h.advance(1);
    const first = ofType(h, 'stored');
    assert.equal(first.length, 1, 'the batch closed at 200 ms');
    assert.equal(first[0]!.records, 10, 'with the 10 records delivered');
    assert.equal(h.timeline.find((t) => t.event.type === 'stored')!.at, 200, 'stored at virtual time 200');

    // 140 more records at once: two full batches close at once, the rest waits for the timer.
    await h.source.deliver(p, 140);
    await h.advance(0);
    assert.deepEqual(ofType(h, 'stored').map((e) => e.records), [10, 64, 64], 'two full batches of 64 without waiting');
    await h.advance(199);
    assert.equal(ofType(h, 'stored').length, 3, 'the remaining 12 wait for their timer');
    await h.advance(1);
    assert.deepEqual(ofType(h, 'stored').map((e) => e.records), [10, 64, 64, 12], 'the remainder closed 200 ms after it opened');
    assert.equal(h.source.committed(p), 150, `partition ${p} committed through the 150 records`);
  });

  test('snapshots of one point in one batch coalesce: the last by offset is stored, and the earlier ones are committed with it', async () => {
    const h = make();
    // The point with the most snapshots in the workload.
    const byPoint = new Map<string, SnapshotRecord[]>();
    for (const s of produced) {
      const id = pointId(s.snapshot.user_id, s.snapshot.window_end);
      byPoint.set(id, [...(byPoint.get(id) ?? []), s]);
    }
    const [id, same] = [...byPoint].sort((a, b) => b[1].length - a[1].length)[0]!;
    assert.ok(same.length >= 3, `some point has several snapshots (${same.length})`);
    const three = same.slice(0, 3);
    const other = produced.find((s) => pointId(s.snapshot.user_id, s.snapshot.window_end) !== id)!;
    loadProduced(h, [three[0]!, other, three[1]!, three[2]!], 0);
    await h.source.deliver(0);
    await h.drain();
    assert.equal(h.sink.upserts.length, 1, 'one upsert for the batch');
    assert.equal(h.sink.upserts[0]!.length, 2, 'two points: the coalesced one and the other');
    assert.equal(h.sink.points.get(id)!.payload.snapshot_id, three[2]!.snapshot.snapshot_id, 'the last snapshot by offset wins');
    assert.equal(h.sink.points.get(id)!.payload.snapshot_offset, 3, 'stored from offset 3');
    assert.deepEqual(h.embedder.texts.sort(), [three[2]!.snapshot.text, other.snapshot.text].sort(), 'superseded texts are never embedded');
    assert.equal(ofType(h, 'stored')[0]!.superseded, 2, 'two snapshots superseded');
    assert.equal((await decodeOutputs(h)).length, 2, 'ContextVectorized only for stored points');
    assert.equal(h.source.committed(0), 4, 'committed past the superseded records too');
  });

  test('the store unavailable: retries with backoff, nothing committed or produced while it is down, everything stored and committed after recovery', async () => {
    const h = make({ retryInitialMs: 100, retryMaxMs: 1000 });
    loadProduced(h);
    h.sink.failures = 4;
    await h.source.deliver(1, 30);
    await h.advance(200);
    assert.equal(h.sink.attempts, 1, 'the first upsert was tried at 200 ms');
    for (const [step, at] of [[100, 300], [200, 500], [400, 900]] as const) {
      assert.equal(h.source.commits.length, 0, `no commit while the store is down (t=${h.scheduler.now()})`);
      assert.equal(h.writer.on(OUT).length, 0, 'no ContextVectorized while the store is down');
      await h.advance(step - 1);
      const attempts: number = h.sink.attempts;
      await h.advance(1);
      assert.equal(h.sink.attempts, attempts + 1, `the next try comes after ${step} ms of back-off, at ${at}`);
    }
    assert.equal(h.source.commits.length, 0, 'still no commit after four failures');
    await h.advance(800);
    const retries = ofType(h, 'retrying');
    assert.deepEqual(retries.map((r) => r.delayMs), [100, 200, 400, 800], 'capped exponential back-off (jitter drawn as 0)');
    assert.ok(retries.every((r) => r.step === 'upsert' && r.error.code === 'STORE_UNAVAILABLE'), 'retries name the step and the error');
    assert.equal(ofType(h, 'stored').length, 1, 'stored once the store answered');
    assert.equal(h.timeline.find((t) => t.event.type === 'stored')!.at, 1700, 'after 100+200+400+800 ms of back-off');
    assert.equal(h.source.committed(1), 30, 'committed after recovery');
    assert.equal(h.source.commits.length, 1, 'one commit, after the store confirmed');

    // Nothing lost: the rest of the log goes through, equal to the oracle.
    await h.source.deliverAll();
    await h.drain();
    assert.deepEqual([...h.sink.points.keys()].sort(), [...oracleOver(h.source).keys()].sort(), 'every oracle point stored after the outage');
    assert.deepEqual(h.errors, [], 'the topology did not fail');
  });

  test('a fatal store error fails the stage without committing the batch', async () => {
    const h = make();
    loadProduced(h);
    h.sink.upsert = async () => {
      throw new AuraError('CONFIG', 'injected: wrong collection size');
    };
    await h.source.deliver(2, 5);
    await h.drain();
    assert.equal(h.errors.length, 1, 'the topology errored');
    assert.equal((h.errors[0] as AuraError).code, 'CONFIG', 'with the store\'s error');
    assert.equal(h.source.commits.length, 0, 'nothing committed');
    assert.equal(ofType(h, 'retrying').length, 0, 'a non-retriable error is not retried');
  });

  test('a poison snapshot goes to the DLQ with its error and is committed past, also when it is alone', async () => {
    const h = make();
    const few = produced.filter((s) => s.partition === 0).slice(0, 4);
    loadProduced(h, few.slice(0, 2));
    const poison = h.source.append(0, Buffer.from('{"not":"avro"}'), 'u-poison');
    loadProduced(h, few.slice(2));
    const alone = h.source.append(1, Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2]), 'u-poison-2');
    await h.source.deliver(0);
    await h.source.deliver(1);
    await h.drain();
    const dead = h.writer.on(DLQ);
    assert.equal(dead.length, 2, 'both poison records dead-lettered');
    const headers = (r: OutRecord, k: string) => String(r.headers?.[k]);
    assert.deepEqual(dead.map((r) => `${headers(r, DLQ_HEADERS.partition)}/${headers(r, DLQ_HEADERS.offset)}`).sort(), [`0/${poison.offset}`, `1/${alone.offset}`], 'the DLQ names where they were read');
    assert.equal(headers(dead.find((r) => headers(r, DLQ_HEADERS.partition) === '0')!, DLQ_HEADERS.code), 'WRONG_MAGIC_BYTE', 'with the decoding error code');
    assert.ok(dead.every((r) => headers(r, DLQ_HEADERS.stage) === 'vectorize'), 'and the stage');
    assert.deepEqual(dead.find((r) => headers(r, DLQ_HEADERS.partition) === '0')!.value, poison.value, 'the original bytes are kept');
    assert.equal(h.source.committed(0), 5, 'partition 0 committed past the poison and the records after it');
    assert.equal(h.source.committed(1), 1, 'a partition holding only poison is committed too');
    assert.equal(ofType(h, 'dead-lettered').length, 2, 'reported as dead-lettered');
    assert.equal(h.sink.points.size, new Set(few.map((s) => pointId(s.snapshot.user_id, s.snapshot.window_end))).size, 'the good records around it are stored');
  });

  test('equal texts are embedded once: a replay of the topic is served from the cache with the same vectors', async () => {
    const h = make();
    loadProduced(h);
    await h.source.deliverAll();
    await h.drain();
    const firstTexts = [...h.embedder.texts];
    assert.equal(new Set(firstTexts).size, firstTexts.length, 'no text was embedded twice in the first pass');
    const vectorsBefore = new Map([...h.sink.points].map(([id, p]) => [id, p.vector]));
    const outputsBefore = h.writer.on(OUT).length;

    // The same snapshots again at later offsets (a producer replay): every text is cached.
    loadProduced(h);
    await h.source.deliverAll();
    await h.drain();
    assert.deepEqual(h.embedder.texts, firstTexts, 'the replay embedded nothing');
    const replay = ofType(h, 'stored').slice(-1)[0]!;
    assert.equal(replay.cacheMisses, 0, 'the last batch had no cache miss');
    const outputs = (await decodeOutputs(h)).slice(outputsBefore);
    assert.ok(outputs.length > 0 && outputs.every((o) => o.cache_hit), 'ContextVectorized of the replay report cache hits');
    for (const [id, v] of vectorsBefore) assert.deepEqual(h.sink.points.get(id)!.vector, v, `point ${id} has the same vector after the replay`);
    assert.deepEqual([...h.sink.points.keys()].sort(), [...vectorsBefore.keys()].sort(), 'the replay rewrote the same points');
  });

  test('the consumer pauses when MAX_IN_FLIGHT_BATCHES batches are in flight and resumes below the low-water mark', async () => {
    const h = make({ maxInFlightBatches: 2, batchMaxSize: 16 });
    loadProduced(h);
    const p = biggest(h.source);
    h.sink.hold();
    await h.source.deliver(p, 16);
    await h.advance(0);
    assert.equal(ofType(h, 'paused').length, 0, 'one batch in flight: not paused');
    await h.source.deliver(p, 16);
    await h.advance(0);
    assert.equal(ofType(h, 'paused').length, 1, 'two batches in flight: paused');
    assert.equal(h.source.pauses.length, 1, 'the source was paused once');
    assert.deepEqual(h.source.pauses[0]!.map((p) => p.partition), [0, 1, 2], 'every assigned partition paused');
    await h.source.deliver(p, 16);
    await h.advance(0);
    assert.equal(h.source.pauses.length, 1, 'a batch arriving while paused does not pause again');
    assert.equal(h.source.resumes.length, 0, 'not resumed while the store holds the batches');
    h.sink.release();
    await h.drain();
    assert.equal(h.source.resumes.length, 1, 'resumed once the batches drained');
    assert.ok(h.timeline.findIndex((t) => t.event.type === 'resumed') > h.timeline.findIndex((t) => t.event.type === 'stored'), 'resumed after a batch was stored');
    assert.equal(h.source.committed(p), 48, 'all three batches stored and committed');
  });

  /** The user with the most snapshots in partition `p`, and their snapshots there. */
  const busiestUser = (p: number) => {
    const byUser = new Map<string, SnapshotRecord[]>();
    for (const r of produced.filter((x) => x.partition === p)) byUser.set(r.snapshot.user_id, [...(byUser.get(r.snapshot.user_id) ?? []), r]);
    return [...byUser].sort((a, b) => b[1].length - a[1].length)[0]!;
  };
  /** The partition whose produced snapshots come from the most users. */
  const partitionOfManyUsers = () =>
    [0, 1, 2].sort((a, b) => new Set(produced.filter((r) => r.partition === b).map((r) => r.snapshot.user_id)).size - new Set(produced.filter((r) => r.partition === a).map((r) => r.snapshot.user_id)).size)[0]!;
  const pointsOf = (h: Harness, user: string) => [...h.sink.points.values()].filter((p) => p.payload.user_id === user);

  test('an erasure marker deletes the user\'s points and cache entries, confirms on the erased topic, and is committed past; earlier snapshots of the user in its batch are never written', async () => {
    const h = make();
    const p = partitionOfManyUsers();
    const [user, mine] = busiestUser(p);
    const others = produced.filter((r) => r.partition === p && r.snapshot.user_id !== user);
    loadProduced(h, produced.filter((r) => r.partition === p), p);
    await h.source.deliver(p);
    await h.drain();
    const before = pointsOf(h, user).length;
    assert.ok(before >= 2, `${user} has points before the erasure (${before})`);
    assert.ok(h.cache.of(user) > 0, 'and cache entries');
    const otherPoints = new Map([...h.sink.points].filter(([, pt]) => pt.payload.user_id !== user));

    // One batch: a snapshot of the user (replayed), the marker, then another user's snapshot.
    loadProduced(h, [mine[0]!], p);
    const marker = h.source.append(p, erasureValue(user, 1), user);
    loadProduced(h, [others.at(-1)!], p);
    const upsertsBefore = h.sink.upserts.length;
    await h.source.deliver(p);
    await h.drain();
    assert.deepEqual(h.errors, [], 'the topology did not fail');

    assert.deepEqual(pointsOf(h, user), [], `no point of ${user} is left (the snapshot before the marker was not written)`);
    assert.ok(h.sink.upserts.slice(upsertsBefore).flat().every((pt) => pt.payload.user_id !== user), 'the batch upserted nothing of the user');
    for (const [id, pt] of otherPoints) assert.deepEqual(h.sink.points.get(id)?.payload.snapshot_id, pt.payload.snapshot_id, `the other users' point ${id} is untouched`);
    assert.equal(h.cache.of(user), 0, 'no cache entry of the user is left');

    const confirmations = h.writer.on(ERASED);
    assert.equal(confirmations.length, 1, 'one ErasureCompleted');
    const c = erasedOf(confirmations[0]!);
    assert.deepEqual(
      [c.user_id, c.cause, c.before, c.points_deleted, c.snapshot_topic, c.snapshot_partition, c.snapshot_offset, c.store, c.collection, c.trace_id],
      [user, 'user_deleted', null, before, IN, p, Number(marker.offset), 'qdrant', 'test', 'erase-1'],
      'the confirmation names the erasure, its counts and where the marker was read',
    );
    assert.ok(c.cache_entries_deleted > 0, 'it counts the removed cache entries');
    assert.equal(String(confirmations[0]!.key), user, 'keyed by user');
    const stored = ofType(h, 'stored').at(-1)!;
    assert.deepEqual([stored.erased, stored.erasures.length, stored.erasures[0]!.pointsDeleted], [1, 1, before]);
    assert.equal(h.source.committed(p), h.source.log[p]!.length, 'committed past the marker and the records around it');

    // A later snapshot of the user (new activity after the erasure) is written again.
    loadProduced(h, [mine.at(-1)!], p);
    await h.source.deliver(p);
    await h.drain();
    assert.equal(pointsOf(h, user).length, 1, 'a snapshot after the marker is stored');
  });

  test('a transient failure of the confirmation is retried: the confirmation keeps the first count and nothing is committed before it is acknowledged', async () => {
    const h = make({ retryInitialMs: 100, retryMaxMs: 100 });
    const p = partitionOfManyUsers();
    const [user] = busiestUser(p);
    loadProduced(h, produced.filter((r) => r.partition === p), p);
    await h.source.deliver(p);
    await h.drain();
    const count = pointsOf(h, user).length;
    const committed = h.source.committed(p);
    let failures = 2;
    h.writer.failSend = (records) => (records.some((r) => r.topic === ERASED) && failures-- > 0 ? new AuraError('BROKER_UNAVAILABLE', 'injected: broker down') : undefined);
    h.source.append(p, erasureValue(user, 2), user);
    await h.source.deliver(p);
    await h.advance(200);
    assert.equal(h.source.committed(p), committed, 'not committed while the confirmation is not acknowledged');
    assert.deepEqual(pointsOf(h, user), [], 'the points are already deleted');
    await h.drain();
    assert.deepEqual(ofType(h, 'retrying').map((r) => r.step), ['produce', 'produce']);
    const confirmations = h.writer.on(ERASED).map(erasedOf);
    assert.deepEqual(confirmations.map((c) => [c.user_id, c.points_deleted]), [[user, count]], 'one confirmation, with the count of the delete');
    assert.equal(h.source.committed(p), h.source.log[p]!.length, 'committed once acknowledged');
  });

  test('a crash between the delete and the confirmation replays the marker: the delete runs again (0 points), the confirmation is produced and the marker committed', async () => {
    const sink = new MemoryVectorSink();
    const cache = new MemoryEmbeddingCache();
    const first = make({}, { sink, cache });
    const p = partitionOfManyUsers();
    const [user] = busiestUser(p);
    loadProduced(first, produced.filter((r) => r.partition === p), p);
    await first.source.deliver(p);
    await first.drain();
    const count = pointsOf(first, user).length;
    assert.ok(count > 0);
    first.writer.failSend = (records) => (records.some((r) => r.topic === ERASED) ? new AuraError('INTERNAL', 'injected: the process dies here') : undefined);
    const marker = first.source.append(p, erasureValue(user, 3), user);
    await first.source.deliver(p);
    await first.drain();
    assert.equal(first.errors.length, 1, 'the stage died');
    assert.deepEqual(pointsOf(first, user), [], 'after deleting the points');
    assert.equal(cache.of(user), 0, 'and the cache entries');
    assert.equal(first.writer.on(ERASED).length, 0, 'but before the confirmation');
    assert.ok(first.source.committed(p) <= Number(marker.offset), 'the marker is not committed');
    first.stop();

    // The restarted stage reads from the committed offset: the marker comes again.
    const second = make({}, { sink, cache, source: FakeSource.restartedFrom(first.source) });
    await second.source.deliverAll();
    await second.drain();
    assert.deepEqual(second.errors, [], 'the restarted stage did not fail');
    assert.deepEqual(sink.deletes.filter(([u]) => u === user).length, 2, 'the delete ran again');
    const confirmations = second.writer.on(ERASED).map(erasedOf);
    assert.deepEqual(
      confirmations.map((c) => [c.user_id, c.points_deleted, c.cache_entries_deleted, c.snapshot_offset]),
      [[user, 0, 0, Number(marker.offset)]],
      'the confirmation of the replay reports 0 points and 0 cache entries',
    );
    assert.deepEqual(pointsOf(second, user), [], 'the user\'s points stay gone');
    assert.equal(second.source.committed(p), second.source.log[p]!.length, 'committed past the marker');
  });
});
