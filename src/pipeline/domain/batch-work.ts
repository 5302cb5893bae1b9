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
 * What a vectorize micro-batch carries through its operators, in pipe order: planErasures →
 * coalescePoints → embedCached → toPoints → storeBatch → toVectorizedRecords → toErasedRecords →
 * produceOutRecords. Each takes and returns the batch's
 * `BatchWork`, adding what its step made, so every later step (and the `stored` event) sees what
 * the earlier ones did. Each async step is a `concatMap`: batches pass every step strictly in
 * order, so an older snapshot of a point is never stored after a newer one, while batch n+1 may
 * embed as batch n is upserted.
 */
export interface BatchWork {
  /** The micro-batch as decoded, in arrival order. */
  batch: AggregatedItem[];
  /** Snapshots no marker of the batch erases, in batch order (see erasurePlan). */
  snapshots: SnapshotItem[];
  /** The batch's erasure markers, in batch order. */
  erasures: ErasureItem[];
  /** Snapshots erased by a later marker of the same user in this batch: never written; done with the batch. */
  erased: SnapshotItem[];
  /** Per erasure: the user's embedding-cache entries removed (embedCached, before its lookups). */
  cacheErased: number[];
  /** Per erasure: the points deleted, as confirmed by the store (storeBatch, before the upsert). */
  erasureOutcomes: ErasureOutcome[];
  /** One item per point (last by offset), the ones stored. */
  kept: SnapshotItem[];
  /** Items that lost to a later snapshot of the same point in this batch; done with their winner. */
  superseded: SnapshotItem[];
  /** Per kept item: its vector and whether it came from the cache. */
  vectors: Float32Array[];
  cacheHit: boolean[];
  cacheHits: number;
  /** Distinct texts embedded by the model. */
  cacheMisses: number;
  embedSeconds: number;
  points: VectorPoint[];
  upsertSeconds: number;
  /** Epoch ms at which the store confirmed the batch's upsert (0 until then). */
  storedAt: number;
  outputs: OutRecord[];
}

/** Retries a step's Observable with the stage's back-off, naming the step in `retrying` events. */
export type RetryStep = <T>(step: string) => MonoTypeOperatorFunction<T>;

