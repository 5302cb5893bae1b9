import { map, type MonoTypeOperatorFunction, type OperatorFunction } from 'rxjs';
import type { EmbedderInfo, OutRecord, SourceRecord, VectorPoint } from '../ports.js';
import { coalesceByKey } from './coalesce.js';
import { toPoint, type PointItem } from './to-point.js';

/** A decoded snapshot on its way through the vectorize stage (its whole source record kept). */
export interface SnapshotItem extends PointItem {
  record: SourceRecord;
}

/**
 * What a vectorize micro-batch carries through its operators, in pipe order: coalescePoints →
 * embedCached → toPoints → storeBatch → toVectorizedRecords → produceOutRecords. Each takes and returns the batch's
 * `BatchWork`, adding what its step made, so every later step (and the `stored` event) sees what
 * the earlier ones did. Each async step is a `concatMap`: batches pass every step strictly in
 * order, so an older snapshot of a point is never stored after a newer one, while batch n+1 may
 * embed as batch n is upserted.
 */
export interface BatchWork {
  /** The micro-batch as decoded, in arrival order. */
  batch: SnapshotItem[];
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
  outputs: OutRecord[];
}

/** Retries a step's Observable with the stage's back-off, naming the step in `retrying` events. */
export type RetryStep = <T>(step: string) => MonoTypeOperatorFunction<T>;

/** One point per (user, UTC day) within the batch: the last snapshot by offset wins. */
export function coalescePoints(): OperatorFunction<SnapshotItem[], BatchWork> {
  return map((batch) => {
    const { kept, superseded } = coalesceByKey(batch, (i) => i.pointId, (i) => BigInt(i.record.offset) * 1_000_000n + BigInt(i.record.partition));
    return { batch, kept, superseded, vectors: [], cacheHit: [], cacheHits: 0, cacheMisses: 0, embedSeconds: 0, points: [], upsertSeconds: 0, outputs: [] };
  });
}

/** The points to upsert: one per kept item, with its vector (see toPoint). */
export function toPoints(embedder: Pick<EmbedderInfo, 'modelId' | 'modelVersion'>): MonoTypeOperatorFunction<BatchWork> {
  return map((work) => ({ ...work, points: work.kept.map((item, i) => toPoint(item, work.vectors[i]!, embedder)) }));
}

