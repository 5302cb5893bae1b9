import { map, type MonoTypeOperatorFunction } from 'rxjs';
import type { BatchWork } from '../domain/batch-work.js';
import { coalesceByKey } from '../domain/coalesce.js';

/** One point per (user, UTC day) within the batch's remaining snapshots: the last snapshot by offset wins. */
export function coalescePoints(): MonoTypeOperatorFunction<BatchWork> {
  return map((work) => {
    const { kept, superseded } = coalesceByKey(work.snapshots, (i) => i.pointId, (i) => BigInt(i.record.offset) * 1_000_000n + BigInt(i.record.partition));
    return { ...work, kept, superseded };
  });
}
