import { Observable, type SchedulerLike } from 'rxjs';
import type { AuraError } from '../src/errors.js';
import type { AggregatedRecord, Embedder, EmbeddingCache, RecordSource, RecordWriter, TopicPartition, VectorizeCodec, VectorWriter } from '../src/ports.js';
import { CommitTracker, InFlightGate, acquireInFlight, coalescePoints, commitDone, committer, decodeOrDeadLetter, embedCached, markDone, microBatch, planErasures, produceOutRecords, stageRetry, storeBatch, toAggregatedItems, toErasedRecords, toPoints, toVectorizedRecords, toVectorizeEvents, trackRecords, type AggregatedItem, type CommittableOffset, type HandedBatch, type RetryStep, type StoredBatch, type VectorizeEvent } from '../src/pipeline/index.js';
import { Pipe } from './steps.js';
import { batches$ } from './sources.js';


export const VECTORIZE_STAGE = 'vectorize';

/**
 * Everything the vectorize pipe is told, every field required: compiled once from the
 * configuration by `compileVectorizeOptions` (src/cli/options.ts), where the defaults live
 * (src/config.ts); nothing here has a default of its own.
 */
export interface VectorizeTopologyConfig {
  inputTopic: string;
  outputTopic: string;
  /** ErasureCompleted confirmations (ERASED_TOPIC). */
  erasedTopic: string;
  dlqTopic: string;
  batchMaxSize: number;
  batchMaxWaitMs: number;
  maxInFlightBatches: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface VectorizePorts {
  source: RecordSource;
  codec: VectorizeCodec;
  embedder: Embedder;
  cache: EmbeddingCache;
  sink: VectorWriter;
  writer: RecordWriter;
  now?: () => number;
  /** Timers of batching and back-off (virtual in tests). */
  scheduler?: SchedulerLike;
  /** Jitter source of the back-off. */
  random?: () => number;
}

export type { VectorizeEvent };

/** What the vectorize steps are made from: the stage's ports and options and its shared state. */
interface VectorizeContext {
  ports: VectorizePorts;
  config: VectorizeTopologyConfig;
  now: () => number;
  tracker: CommitTracker;
  gate: InFlightGate;
  retry: RetryStep;
  commit: () => Promise<CommittableOffset[]>;
  emit: (e: VectorizeEvent) => void;
}

/**
 * Stage `vectorize`: the consumer group feeds partition batches through these operators, built
 * from this list (`aura-stream describe` and docs/pipeline.md print it).
 *
 * Batches pass every step strictly in order, so a later snapshot of a point is never overwritten
 * by an earlier one. Erasure markers (ContextErased) ride in the same micro-batches: within a
 * batch the deletes run (confirmed) before the upserts, and a snapshot that a later marker of its
 * user erases is never written (planErasures); the batch's ErasureCompleted confirmations are
 * acknowledged before its offsets are marked done, so a crash replays the marker (the delete is
 * idempotent, the confirmation repeats with 0 points). Transient faults are retried with capped
 * exponential backoff and jitter while the offsets stay uncommitted; nothing is committed that is
 * not stored, erased (confirmed) or dead-lettered.
 */
export const VECTORIZE_PIPE = Pipe.from<VectorizeContext, HandedBatch>({ name: 'source', describe: (n) => `${n.aggregatedTopic} (consumer group, read_committed; ContextAggregated, ContextErased)` })
  .then('trackRecords', () => 'every record held in the commit tracker, so records of all partitions fill one micro-batch', (c) => trackRecords(c.tracker))
  .then('decodeOrDeadLetter', (n) => `registry → reader schema by record name (snapshot or erasure marker); poison → ${n.aggregatedDlqTopic} (then done)`, (c) =>
    decodeOrDeadLetter<AggregatedRecord>({
      decode: (r) => c.ports.codec.decodeAggregated(r.value),
      writer: c.ports.writer,
      stage: VECTORIZE_STAGE,
      dlqTopic: c.config.dlqTopic,
      retry: c.retry,
      onDeadLettered: async (record, e) => {
        c.tracker.done(record.topic, record.partition, record.offset);
        c.emit({ type: 'dead-lettered', partition: record.partition, offset: record.offset, code: e.code, message: e.message, field: e.field });
        // A run of poison alone must still move the committed offset; a failed try waits for the next batch.
        await c.commit().catch(() => undefined);
      },
    }),
  )
  .then('toAggregatedItems', () => 'a snapshot with its point id UUIDv5(user, day), or an erasure marker', () => toAggregatedItems())
  .then('microBatch', () => 'flush at BATCH_MAX_SIZE records or BATCH_MAX_WAIT_MS after the first', (c) =>
    microBatch<AggregatedItem>({ maxSize: c.config.batchMaxSize, maxWaitMs: c.config.batchMaxWaitMs, ...(c.ports.scheduler && { scheduler: c.ports.scheduler }) }),
  )
  .then('acquireInFlight', () => 'the batch counted in flight; the consumer pauses at MAX_IN_FLIGHT_BATCHES', (c) => acquireInFlight<AggregatedItem[]>(c.gate))
  .then('planErasures', () => 'markers kept in order; a snapshot before a marker of its user (in the marker\'s range) is erased, never written', () => planErasures())
  .then('coalescePoints', () => 'one point per (user, UTC day): the last snapshot by offset wins', () => coalescePoints())
  .then('embedCached', () => 'erased users\' cache entries removed first; LMDB cache by (user, hash(model, text)); each distinct missing text embedded once, one forward pass per text, in a worker thread', (c) =>
    embedCached({ embedder: c.ports.embedder, cache: c.ports.cache, now: c.now }),
  )
  .then('toPoints', () => 'point id UUIDv5(user, day); payload = snapshot fields, text, model, source offsets', (c) => toPoints(c.ports.embedder))
  .then('storeBatch', () => 'per marker in order: count + delete the user\'s points by filter, confirmed; then upsert, confirmed (wait=true); retried with capped backoff + jitter', (c) =>
    storeBatch({ sink: c.ports.sink, now: c.now, retry: c.retry }),
  )
  .then('toVectorizedRecords', () => 'one ContextVectorized per stored point (never the vector)', (c) =>
    toVectorizedRecords({ outputTopic: c.config.outputTopic, codec: c.ports.codec, embedder: c.ports.embedder, sink: c.ports.sink }),
  )
  .then('toErasedRecords', (n) => `one ErasureCompleted per marker (points and cache entries deleted) → ${n.erasedTopic}`, (c) =>
    toErasedRecords({ erasedTopic: c.config.erasedTopic, codec: c.ports.codec, sink: c.ports.sink }),
  )
  .then('produceOutRecords', (n) => `${n.vectorizedTopic}, ${n.erasedTopic}, acknowledged by all in-sync replicas; retried`, (c) => produceOutRecords({ writer: c.ports.writer, retry: c.retry }))
  .then('markDone', () => 'the batch\'s records (stored, superseded, erased, markers) done in the commit tracker', (c) => markDone({ tracker: c.tracker, now: c.now }))
  .then('commitDone', () => 'per partition, up to the highest offset below which everything is stored, erased (confirmed) or dead-lettered; the batch no longer in flight', (c) =>
    commitDone<StoredBatch>({ commit: c.commit, retry: c.retry<CommittableOffset[]>('commit'), released: () => c.gate.release() }),
  )
  .then('toVectorizeEvents', () => 'a stored batch or the committed offsets, as the stage\'s events', () => toVectorizeEvents());

export function vectorizeTopology(ports: VectorizePorts, config: VectorizeTopologyConfig): Observable<VectorizeEvent> {
  const now = ports.now ?? Date.now;
  return new Observable<VectorizeEvent>((subscriber) => {
    const emit = (e: VectorizeEvent) => subscriber.next(e);
    const tracker = new CommitTracker();
    let assigned: TopicPartition[] = [];
    const gate = new InFlightGate(
      config.maxInFlightBatches,
      () => {
        ports.source.pause(assigned);
        emit({ type: 'paused' });
      },
      () => {
        ports.source.resume(assigned);
        emit({ type: 'resumed' });
      },
    );
    const retry: RetryStep = <T>(step: string) =>
      stageRetry<T>({
        initialMs: config.retryInitialMs,
        maxMs: config.retryMaxMs,
        onRetry: (error, attempt, delayMs) => emit({ type: 'retrying', step, attempt, delayMs, error }),
        ...(ports.scheduler && { scheduler: ports.scheduler }),
        ...(ports.random && { random: ports.random }),
      });
    const commit = committer({ tracker, source: ports.source, assigned: () => assigned });

    const assignments = ports.source.assignment$.subscribe((next) => {
      // Eager rebalancing: after every join the client fetches every assigned partition again from
      // its committed offset, so all tracking starts over (in-flight records are re-read; their
      // points are rewritten with the same content).
      for (const p of assigned) tracker.reset(p.topic, p.partition);
      assigned = next;
      if (gate.paused) ports.source.pause(assigned);
      emit({ type: 'assigned', partitions: next.map((p) => p.partition) });
    });

    const work = batches$(ports.source)
      .pipe(VECTORIZE_PIPE.build({ ports, config, now, tracker, gate, retry, commit, emit }))
      .subscribe(subscriber);
    return () => {
      assignments.unsubscribe();
      work.unsubscribe();
    };
  });
}

/** The committed offsets a `committed` event carries. */
export type { CommittableOffset };
export type { AuraError };
