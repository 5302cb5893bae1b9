import { EMPTY, Observable, concat, concatMap, defer, filter, finalize, from, map, mergeMap, tap, type SchedulerLike } from 'rxjs';
import { pointId, utcDay } from '../src/contracts/ids.js';
import type { ContextVectorized } from '../src/contracts/snapshot.js';
import { AuraError, classify, type ErrorCode } from '../src/errors.js';
import type { Embedder, EmbeddingCache, OutRecord, RecordSource, RecordWriter, SourceRecord, TopicPartition, VectorizeCodec, VectorWriter } from '../src/ports.js';
import { CommitTracker, InFlightGate, coalesceByKey, decodeOrPoison, microBatch, retryWithBackoff, toDeadLetter, toPoint, type CommittableOffset, type PointItem } from '../src/stages/index.js';
import { batches$ } from './sources.js';

export const VECTORIZE_STAGE = 'vectorize';

export interface VectorizeTopologyConfig {
  inputTopic: string;
  outputTopic: string;
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
  | { type: 'dead-lettered'; partition: number; offset: string; code: ErrorCode; message: string }
  | {
      type: 'stored';
      records: number;
      points: number;
      superseded: number;
      cacheHits: number;
      cacheMisses: number;
      embedSeconds: number;
      upsertSeconds: number;
      e2eSeconds: number[];
      traceIds: string[];
    }
  | { type: 'committed'; offsets: CommittableOffset[] }
  | { type: 'retrying'; step: string; attempt: number; delayMs: number; error: AuraError }
  | { type: 'paused' }
  | { type: 'resumed' };

interface Item extends PointItem {
  record: SourceRecord;
}

/**
 * Stage `vectorize`, top to bottom:
 *
 *   source$ (consumer group, read_committed)      every record tracked in the commit tracker
 *     → decode                                     registry → reader schema; poison → DLQ (then done)
 *     → microBatch(BATCH_MAX_SIZE, BATCH_MAX_WAIT_MS)   bounded: the consumer pauses at MAX_IN_FLIGHT_BATCHES
 *     → coalesce                                   one point per (user, UTC day): last by offset wins
 *     → embed                                      cache by hash(model, text); misses embedded once per distinct text
 *     → upsert                                     vector store, confirmed; transient faults retried with backoff
 *     → produce                                    ContextVectorized per stored point
 *     → commit                                     per partition, the highest offset below which all is done
 *
 * Batches are stored strictly in order, so a later snapshot of a point is never overwritten by an
 * earlier one. Transient faults are retried with capped exponential backoff and jitter while the
 * offsets stay uncommitted; nothing is committed that is not stored.
 */
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
    const retrying = <T>(step: string) =>
      retryWithBackoff<T>({
        initialMs: config.retryInitialMs,
        maxMs: config.retryMaxMs,
        factor: 2,
        jitter: 0.5,
        isRetriable: (e) => classify(e).retriable,
        onRetry: (e, attempt, delayMs) => emit({ type: 'retrying', step, attempt, delayMs, error: classify(e) }),
        ...(ports.scheduler && { scheduler: ports.scheduler }),
        ...(ports.random && { random: ports.random }),
      });

    const assignments = ports.source.assignment$.subscribe((next) => {
      // Eager rebalancing: after every join the client fetches every assigned partition again from
      // its committed offset, so all tracking starts over (in-flight records are re-read; their
      // points are rewritten with the same content).
      for (const p of assigned) tracker.reset(p.topic, p.partition);
      assigned = next;
      if (gate.paused) ports.source.pause(assigned);
      emit({ type: 'assigned', partitions: next.map((p) => p.partition) });
    });

    const decode = (record: SourceRecord): Observable<Item | null> =>
      defer(async () => {
        const decoded = await decodeOrPoison(record, (r) => ports.codec.decodeSnapshot(r.value));
        if ('value' in decoded) return { record, snapshot: decoded.value, pointId: pointId(decoded.value.user_id, decoded.value.window_end) };
        const e = decoded.poison;
        await ports.writer.send([toDeadLetter(record, e, VECTORIZE_STAGE, config.dlqTopic)]);
        tracker.done(record.topic, record.partition, record.offset);
        emit({ type: 'dead-lettered', partition: record.partition, offset: record.offset, code: e.code, message: e.message });
        // A run of poison alone must still move the committed offset; a failed try waits for the next batch.
        await commitNow().catch(() => undefined);
        return null;
      }).pipe(retrying('decode'));

    const embed = async (kept: Item[]) => {
      const texts = kept.map((i) => i.snapshot.text);
      const cached = ports.cache.getMany(texts);
      const missing = [...new Set(texts.filter((_, i) => cached[i] === undefined))];
      const started = now();
      const fresh = missing.length > 0 ? await ports.embedder.embed(missing) : [];
      const embedSeconds = (now() - started) / 1000;
      if (fresh.length !== missing.length) throw new AuraError('INTERNAL', `embedder returned ${fresh.length} vectors for ${missing.length} texts`);
      const byText = new Map(missing.map((t, i) => [t, fresh[i]!]));
      if (fresh.length > 0) await ports.cache.putMany(missing.map((text, i) => ({ text, vector: fresh[i]! })));
      const vectors = texts.map((t, i) => cached[i] ?? byText.get(t)!);
      return { vectors, hits: cached.filter((v) => v !== undefined).length, misses: missing.length, embedSeconds, cacheHit: cached.map((v) => v !== undefined) };
    };

    const store = (batch: Item[]): Observable<VectorizeEvent> => {
      const { kept, superseded } = coalesceByKey(batch, (i) => i.pointId, (i) => BigInt(i.record.offset) * 1_000_000n + BigInt(i.record.partition));
      return defer(() => embed(kept)).pipe(
        concatMap((embedded) => {
          const points = kept.map((item, i) => toPoint(item, embedded.vectors[i]!, ports.embedder));
          let upsertSeconds = 0;
          const upsert$ = defer(async () => {
            const t = now();
            await ports.sink.upsert(points);
            upsertSeconds = (now() - t) / 1000;
          }).pipe(retrying('upsert'));
          const outputs: OutRecord[] = kept.map((item, i) => ({
            topic: config.outputTopic,
            key: item.snapshot.user_id,
            value: ports.codec.encodeVectorized(vectorized(item, embedded.cacheHit[i]!)),
            ...(item.snapshot.trace_id && { headers: { trace_id: item.snapshot.trace_id } }),
          }));
          const produce$ = defer(() => ports.writer.send(outputs)).pipe(retrying('produce'));
          return upsert$.pipe(
            concatMap(() => produce$),
            map((): VectorizeEvent => {
              for (const item of [...kept, ...superseded]) tracker.done(item.record.topic, item.record.partition, item.record.offset);
              const t = now();
              return {
                type: 'stored',
                records: batch.length,
                points: points.length,
                superseded: superseded.length,
                cacheHits: embedded.hits,
                cacheMisses: embedded.misses,
                embedSeconds: embedded.embedSeconds,
                upsertSeconds,
                e2eSeconds: batch.map((i) => Math.max(0, (t - Number(i.record.timestamp)) / 1000)),
                traceIds: kept.flatMap((i) => (i.snapshot.trace_id ? [i.snapshot.trace_id] : [])),
              };
            }),
          );
        }),
      );
    };

    const commitNow = async (): Promise<CommittableOffset[]> => {
      const mine = new Set(assigned.map((p) => `${p.topic}:${p.partition}`));
      const offsets = tracker.committable().filter((o) => mine.has(`${o.topic}:${o.partition}`));
      if (offsets.length > 0) {
        await ports.source.commit(offsets);
        tracker.markCommitted(offsets);
      }
      return offsets;
    };
    const commit = (): Observable<VectorizeEvent> =>
      defer(commitNow).pipe(
        retrying('commit'),
        filter((offsets) => offsets.length > 0),
        map((offsets): VectorizeEvent => ({ type: 'committed', offsets })),
      );

    function vectorized(item: Item, cacheHit: boolean): ContextVectorized {
      const s = item.snapshot;
      return {
        point_id: item.pointId,
        store: ports.sink.kind,
        collection: ports.sink.collection,
        model_id: ports.embedder.modelId,
        model_version: ports.embedder.modelVersion,
        dimension: ports.embedder.dimension,
        snapshot_id: s.snapshot_id,
        user_id: s.user_id,
        day: utcDay(s.window_end),
        window_end: s.window_end,
        trace_id: s.trace_id,
        snapshot_topic: item.record.topic,
        snapshot_partition: item.record.partition,
        snapshot_offset: Number(item.record.offset),
        event_partition: s.source_partition,
        event_offset: s.source_offset,
        cache_hit: cacheHit,
      };
    }

    const work = batches$(ports.source)
      .pipe(
        // Records are handed on at once and held by the commit tracker, not by the source, so that
        // records of several partitions fill one micro-batch.
        mergeMap(({ batch, ack }) => {
          if (batch.isStale()) {
            ack();
            return EMPTY;
          }
          for (const r of batch.records) tracker.track(r.topic, r.partition, r.offset);
          batch.resolve(batch.records[batch.records.length - 1]!.offset);
          ack();
          return from(batch.records);
        }),
        concatMap(decode),
        filter((item): item is Item => item !== null),
        microBatch<Item>({ maxSize: config.batchMaxSize, maxWaitMs: config.batchMaxWaitMs, ...(ports.scheduler && { scheduler: ports.scheduler }) }),
        tap(() => gate.acquire()),
        concatMap((batch) => concat(store(batch), commit()).pipe(finalize(() => gate.release()))),
      )
      .subscribe(subscriber);
    return () => {
      assignments.unsubscribe();
      work.unsubscribe();
    };
  });
}
