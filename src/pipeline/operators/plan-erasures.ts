import { map, type OperatorFunction } from 'rxjs';
import type { ErasureCause, ErasureCompleted } from '../../contracts/erasure.js';
import type { VectorWriter } from '../../ports.js';
import { isErasure, type AggregatedItem, type ErasureItem, type ErasureOutcome, type Planned, type SnapshotItem } from '../domain/batch-work.js';

export interface ErasurePlan {
  /** Snapshots still to write, in batch order (coalesced next). */
  snapshots: SnapshotItem[];
  /** Every erasure marker of the batch, in batch order: applied in this order, never dropped. */
  erasures: ErasureItem[];
  /** Snapshots a later marker of the same user erases: never written, done with the batch. */
  erased: SnapshotItem[];
}

/** Does marker `m` erase what snapshot `s` would write? Same user and partition, `s` earlier, `s` in m's range. */
function erases(m: ErasureItem, s: SnapshotItem): boolean {
  return (
    m.erasure.user_id === s.snapshot.user_id &&
    m.record.partition === s.record.partition &&
    m.record.topic === s.record.topic &&
    BigInt(s.record.offset) < BigInt(m.record.offset) &&
    (m.erasure.before === null || s.snapshot.window_end < m.erasure.before)
  );
}

/**
 * The erasure rule of one micro-batch (docs/ARCHITECTURE.md §6). The batch's effects run as if its
 * records were applied one by one in offset order, with every delete before every upsert:
 *
 * - A snapshot of user U at a lower offset than a marker of U (same partition: the key is the user
 *   id) is never written when that marker would delete its point (every marker without `before`;
 *   with `before`, a snapshot whose window ends earlier). It is `erased`: done with the batch.
 * - Snapshots after the marker (and retention-range survivors) stay; they are written after the
 *   deletes, so they survive the erasure as they would have one by one.
 * - Markers are kept in batch order, each one (two markers of a user are two deletes, two
 *   confirmations), none dropped or reordered.
 *
 * Pure; the input is not modified.
 */
export function erasurePlan(batch: readonly AggregatedItem[]): ErasurePlan {
  const erasures = batch.filter(isErasure);
  const snapshots: SnapshotItem[] = [];
  const erased: SnapshotItem[] = [];
  for (const item of batch) {
    if (isErasure(item)) continue;
    (erasures.some((m) => erases(m, item)) ? erased : snapshots).push(item);
  }
  return { snapshots, erasures, erased };
}

/** The batch as the later steps carry it: the batch and its erasure plan, nothing more yet. */
export function planErasures(): OperatorFunction<AggregatedItem[], Planned> {
  return map((batch) => ({ batch, ...erasurePlan(batch) }));
}

/** The confirmation of one applied erasure (keyed by user; no personal data beyond the id). */
export function toErasureCompleted(
  item: ErasureItem,
  outcome: ErasureOutcome,
  cacheEntriesDeleted: number,
  sink: Pick<VectorWriter, 'kind' | 'collection'>,
): ErasureCompleted {
  const e = item.erasure;
  return {
    erasure_id: e.erasure_id,
    user_id: e.user_id,
    cause: e.cause satisfies ErasureCause,
    requested_at: e.requested_at,
    before: e.before,
    completed_at: outcome.completedAt,
    store: sink.kind,
    collection: sink.collection,
    points_deleted: outcome.pointsDeleted,
    cache_entries_deleted: cacheEntriesDeleted,
    trace_id: e.trace_id,
    snapshot_topic: item.record.topic,
    snapshot_partition: item.record.partition,
    snapshot_offset: Number(item.record.offset),
    requester: e.requester ?? null,
    reason: e.reason ?? null,
  };
}
