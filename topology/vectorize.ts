import { Observable, map, tap, type SchedulerLike } from 'rxjs';
import { pointId } from '../src/contracts/ids.js';
import type { AuraError, ErrorCode } from '../src/errors.js';
import type { AggregatedRecord, Embedder, EmbeddingCache, RecordSource, RecordWriter, TopicPartition, VectorizeCodec, VectorWriter } from '../src/ports.js';
import { CommitTracker, InFlightGate, coalescePoints, commitDone, committer, decodeOrDeadLetter, embedCached, markDone, microBatch, planErasures, produceOutRecords, stageRetry, storeBatch, toErasedRecords, toVectorizedRecords, toPoints, trackRecords, type AggregatedItem, type CommittableOffset, type RetryStep, type StoredBatch } from '../src/pipeline/index.js';
import type { TopologyStep } from './steps.js';
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

export type VectorizeEvent =
  | { type: 'assigned'; partitions: number[] }
  /** `message` may quote the record (DLQ headers only, never a log); `field` names the field at fault. */
  | { type: 'dead-lettered'; partition: number; offset: string; code: ErrorCode; message: string; field: string | undefined }
  | ({ type: 'stored' } & StoredBatch)
  | { type: 'committed'; offsets: CommittableOffset[] }
  | { type: 'retrying'; step: string; attempt: number; delayMs: number; error: AuraError }
  | { type: 'paused' }
  | { type: 'resumed' };

/**
 * Stage `vectorize`: VECTORIZE_STEPS, run top to bottom by the one pipe below under the same
 * names. `aura-stream describe` and docs/pipeline.md print the same list.
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
export const VECTORIZE_STEPS: readonly TopologyStep[] = [
  { name: 'source', describe: (n) => `${n.aggregatedTopic} (consumer group, read_committed; ContextAggregated, ContextErased)` },
  { name: 'trackRecords', describe: () => 'every record held in the commit tracker, so records of all partitions fill one micro-batch' },
  { name: 'decodeOrDeadLetter', describe: (n) => `registry → reader schema by record name (snapshot or erasure marker); poison → ${n.aggregatedDlqTopic} (then done)` },
  { name: 'microBatch', describe: () => 'flush at BATCH_MAX_SIZE records or BATCH_MAX_WAIT_MS after the first; the consumer pauses at MAX_IN_FLIGHT_BATCHES' },
  { name: 'planErasures', describe: () => 'markers kept in order; a snapshot before a marker of its user (in the marker\'s range) is erased, never written' },
  { name: 'coalescePoints', describe: () => 'one point per (user, UTC day): the last snapshot by offset wins' },
  { name: 'embedCached', describe: () => 'erased users\' cache entries removed first; LMDB cache by (user, hash(model, text)); each distinct missing text embedded once, one forward pass per text, in a worker thread' },
  { name: 'toPoints', describe: () => 'point id UUIDv5(user, day); payload = snapshot fields, text, model, source offsets' },
  { name: 'storeBatch', describe: () => 'per marker in order: count + delete the user\'s points by filter, confirmed; then upsert, confirmed (wait=true); retried with capped backoff + jitter' },
  { name: 'toVectorizedRecords', describe: () => 'one ContextVectorized per stored point (never the vector)' },
  { name: 'toErasedRecords', describe: (n) => `one ErasureCompleted per marker (points and cache entries deleted) → ${n.erasedTopic}` },
  { name: 'produceOutRecords', describe: (n) => `${n.vectorizedTopic}, ${n.erasedTopic}, acknowledged by all in-sync replicas; retried` },
  { name: 'markDone', describe: () => 'the batch\'s records (stored, superseded, erased, markers) done in the commit tracker' },
  { name: 'commitDone', describe: () => 'per partition, up to the highest offset below which everything is stored, erased (confirmed) or dead-lettered' },
];

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
      .pipe(
        trackRecords(tracker),
        decodeOrDeadLetter<AggregatedRecord>({
          decode: (r) => ports.codec.decodeAggregated(r.value),
          writer: ports.writer,
          stage: VECTORIZE_STAGE,
          dlqTopic: config.dlqTopic,
          retry,
          onDeadLettered: async (record, e) => {
            tracker.done(record.topic, record.partition, record.offset);
            emit({ type: 'dead-lettered', partition: record.partition, offset: record.offset, code: e.code, message: e.message, field: e.field });
            // A run of poison alone must still move the committed offset; a failed try waits for the next batch.
            await commit().catch(() => undefined);
          },
        }),
        map(({ record, value }): AggregatedItem =>
          value.kind === 'erasure' ? { record, erasure: value.erasure } : { record, snapshot: value.snapshot, pointId: pointId(value.snapshot.user_id, value.snapshot.window_end) },
        ),
        microBatch<AggregatedItem>({ maxSize: config.batchMaxSize, maxWaitMs: config.batchMaxWaitMs, ...(ports.scheduler && { scheduler: ports.scheduler }) }),
        tap(() => gate.acquire()),
        planErasures(),
        coalescePoints(),
        embedCached({ embedder: ports.embedder, cache: ports.cache, now }),
        toPoints(ports.embedder),
      )
      // (one pipe, continued: rxjs types a pipe of at most nine operators)
      .pipe(
        storeBatch({ sink: ports.sink, now, retry }),
        toVectorizedRecords({ outputTopic: config.outputTopic, codec: ports.codec, embedder: ports.embedder, sink: ports.sink }),
        toErasedRecords({ erasedTopic: config.erasedTopic, codec: ports.codec, sink: ports.sink }),
        produceOutRecords({ writer: ports.writer, retry }),
        markDone({ tracker, now }),
        commitDone<StoredBatch>({ commit, retry: retry<CommittableOffset[]>('commit'), released: () => gate.release() }),
        map((e): VectorizeEvent => ('committed' in e ? { type: 'committed', offsets: e.committed } : { type: 'stored', ...e })),
      )
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
