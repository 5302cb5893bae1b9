import { map, type OperatorFunction } from 'rxjs';
import type { ErasureCause } from '../../contracts/erasure.js';
import type { Emitted } from '../domain/batch-work.js';
import type { CommitTracker } from '../state/commit-tracker.js';

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
 * Marks every record of a stored batch done (kept and superseded alike: the winner is stored;
 * erased snapshots and erasure markers: the delete is confirmed) and reports it. Runs only after
 * the points are stored and deleted and their ContextVectorized and ErasureCompleted written.
 */
export function markDone(deps: { tracker: CommitTracker; now: () => number }): OperatorFunction<Emitted, StoredBatch> {
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
