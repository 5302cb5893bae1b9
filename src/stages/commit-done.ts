import { EMPTY, concat, concatMap, defer, filter, map, of, type MonoTypeOperatorFunction, type Observable, type OperatorFunction } from 'rxjs';
import type { RecordSource, TopicPartition } from '../ports.js';
import type { ErasureCause } from '../contracts/erasure.js';
import type { BatchWork } from './batch-work.js';
import type { CommitTracker, CommittableOffset } from './commit-tracker.js';

/** What a stored micro-batch reports (the stage's `stored` event without its type). */
export interface StoredBatch {
  records: number;
  points: number;
  superseded: number;
  /** Snapshots erased by a later marker of their user in the batch (never written). */
  erased: number;
  /** The batch's applied erasures, in order. */
  erasures: Array<{ userId: string; cause: ErasureCause; pointsDeleted: number; cacheEntriesDeleted: number }>;
  cacheHits: number;
  cacheMisses: number;
  embedSeconds: number;
  upsertSeconds: number;
  /** Per input record: now minus its Kafka timestamp. */
  e2eSeconds: number[];
  /**
   * Per snapshot made searchable by this batch (kept or superseded by a later one of its point):
   * the store's confirmation time minus the input event's Kafka timestamp (`source_timestamp`);
   * snapshots without one are left out.
   */
  freshnessSeconds: number[];
  traceIds: string[];
}

/**
 * Commits, per assigned partition, the highest offset below which every tracked record is done;
 * returns what it committed (nothing when nothing moved). Offsets of partitions no longer
 * assigned are never committed.
 */
export function committer(deps: { tracker: CommitTracker; source: Pick<RecordSource, 'commit'>; assigned: () => TopicPartition[] }): () => Promise<CommittableOffset[]> {
  return async () => {
    const mine = new Set(deps.assigned().map((p) => `${p.topic}:${p.partition}`));
    const offsets = deps.tracker.committable().filter((o) => mine.has(`${o.topic}:${o.partition}`));
    if (offsets.length > 0) {
      await deps.source.commit(offsets);
      deps.tracker.markCommitted(offsets);
    }
    return offsets;
  };
}

/**
 * Marks every record of a stored batch done (kept and superseded alike: the winner is stored;
 * erased snapshots and erasure markers: the delete is confirmed) and reports it. Runs only after
 * the points are stored and deleted and their ContextVectorized and ErasureCompleted written.
 */
export function markDone(deps: { tracker: CommitTracker; now: () => number }): OperatorFunction<BatchWork, StoredBatch> {
  return map((work) => {
    for (const item of [...work.kept, ...work.superseded, ...work.erased, ...work.erasures]) deps.tracker.done(item.record.topic, item.record.partition, item.record.offset);
    const t = deps.now();
    return {
      records: work.batch.length,
      points: work.points.length,
      superseded: work.superseded.length,
      erased: work.erased.length,
      erasures: work.erasures.map((e, i) => ({ userId: e.erasure.user_id, cause: e.erasure.cause, pointsDeleted: work.erasureOutcomes[i]?.pointsDeleted ?? 0, cacheEntriesDeleted: work.cacheErased[i] ?? 0 })),
      cacheHits: work.cacheHits,
      cacheMisses: work.cacheMisses,
      embedSeconds: work.embedSeconds,
      upsertSeconds: work.upsertSeconds,
      e2eSeconds: work.batch.map((i) => Math.max(0, (t - Number(i.record.timestamp)) / 1000)),
      freshnessSeconds: [...work.kept, ...work.superseded].flatMap(({ snapshot: { source_timestamp: ts } }) => (typeof ts === 'number' ? [Math.max(0, (work.storedAt - ts) / 1000)] : [])),
      traceIds: work.kept.flatMap((i) => (i.snapshot.trace_id ? [i.snapshot.trace_id] : [])),
    };
  });
}

/**
 * After each stored batch: the batch's report, then a commit of what is done (retried), then
 * `released` (the batch is out of flight). Emits `{ committed }` only when offsets moved.
 */
export function commitDone<T>(deps: {
  commit: () => Promise<CommittableOffset[]>;
  retry: MonoTypeOperatorFunction<CommittableOffset[]>;
  released: () => void;
}): OperatorFunction<T, T | { committed: CommittableOffset[] }> {
  return concatMap((stored): Observable<T | { committed: CommittableOffset[] }> => {
    const commit$ = defer(deps.commit).pipe(
      deps.retry,
      filter((offsets) => offsets.length > 0),
      map((committed) => ({ committed })),
    );
    const release$ = defer(() => {
      deps.released();
      return EMPTY;
    });
    return concat(of(stored), commit$, release$);
  });
}
