import type { MonoTypeOperatorFunction } from 'rxjs';
import type { OutRecord, SourceRecord, VectorPoint } from '../../ports.js';
import type { ContextErased } from '../../contracts/erasure.js';
import type { PointItem } from './to-point.js';

/** A decoded snapshot on its way through the vectorize stage (its whole source record kept). */
export interface SnapshotItem extends PointItem {
  record: SourceRecord;
}

/** A decoded erasure marker (ContextErased) with the record it was read from. */
export interface ErasureItem {
  record: SourceRecord;
  erasure: ContextErased;
}

/** What a vectorize micro-batch holds: snapshots and erasure markers, in arrival order. */
export type AggregatedItem = SnapshotItem | ErasureItem;

export function isErasure(item: AggregatedItem): item is ErasureItem {
  return 'erasure' in item;
}

/** The outcome of one erasure, as confirmed by the store. */
export interface ErasureOutcome {
  pointsDeleted: number;
  /** When the store confirmed the delete (epoch ms). */
  completedAt: number;
}

/**
 * What a vectorize micro-batch carries through its operators, one type per step, each adding
 * what its step made to what the earlier ones did:
 *
 *   AggregatedItem[] ─planErasures→ Planned ─coalescePoints→ Coalesced ─embedCached→ Embedded
 *   ─toPoints→ Prepared ─storeBatch→ Stored ─toVectorizedRecords→ Vectorized
 *   ─toErasedRecords→ Encoded ─produceOutRecords→ Emitted ─markDone→ StoredBatch (the report)
 *
 * Each operator is an `OperatorFunction` from one type to the next, so steps in a wrong order do
 * not compile (test/pipeline/operators/batch-steps.test.ts): a step never reads a field an earlier
 * step has not filled yet (nothing is pre-filled with empty values). Each async step is a
 * `concatMap`: batches pass every step strictly in order, so an older snapshot of a point is never
 * stored after a newer one, while batch n+1 may embed as batch n is upserted.
 */
export interface Planned {
  /** The micro-batch as decoded, in arrival order. */
  batch: AggregatedItem[];
  /** Snapshots no marker of the batch erases, in batch order (see erasurePlan). */
  snapshots: SnapshotItem[];
  /** The batch's erasure markers, in batch order. */
  erasures: ErasureItem[];
  /** Snapshots erased by a later marker of the same user in this batch: never written; done with the batch. */
  erased: SnapshotItem[];
}

/** One item per point chosen (coalescePoints). */
export interface Coalesced extends Planned {
  /** One item per point (last by offset), the ones stored. */
  kept: SnapshotItem[];
  /** Items that lost to a later snapshot of the same point in this batch; done with their winner. */
  superseded: SnapshotItem[];
}

/** Erased users' cache entries removed, and a vector per kept item (embedCached). */
export interface Embedded extends Coalesced {
  /** Per erasure: the user's embedding-cache entries removed (before the lookups). */
  cacheErased: number[];
  /** Per kept item: its vector and whether it came from the cache. */
  vectors: Float32Array[];
  cacheHit: boolean[];
  cacheHits: number;
  /** Distinct texts embedded by the model. */
  cacheMisses: number;
  embedSeconds: number;
}

/** The points to upsert, one per kept item (toPoints). */
export interface Prepared extends Embedded {
  points: VectorPoint[];
}

/** Erasures deleted and points upserted, both confirmed by the store (storeBatch). */
export interface Stored extends Prepared {
  /** Per erasure: the points deleted, as confirmed by the store (before the upsert). */
  erasureOutcomes: ErasureOutcome[];
  upsertSeconds: number;
  /** Epoch ms at which the store confirmed the batch's upsert. */
  storedAt: number;
}

/** One ContextVectorized record per stored point (toVectorizedRecords). */
export interface Vectorized extends Stored {
  vectorizedRecords: OutRecord[];
}

/** Every record the batch writes: its ContextVectorized, then its ErasureCompleted (toErasedRecords). */
export interface Encoded extends Vectorized {
  outputs: OutRecord[];
}

/** The outputs acknowledged by all in-sync replicas (produceOutRecords): only now may the batch's records be done. */
export interface Emitted extends Encoded {
  acknowledged: true;
}

/** Retries a step's Observable with the stage's back-off, naming the step in `retrying` events. */
export type RetryStep = <T>(step: string) => MonoTypeOperatorFunction<T>;

