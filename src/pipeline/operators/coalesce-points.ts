import { map, type OperatorFunction } from 'rxjs';
import type { Coalesced, Planned } from '../domain/batch-work.js';
import { coalesceByKey } from '../domain/coalesce.js';

/** One point per (user, UTC day) within the batch's remaining snapshots: the last snapshot by offset wins. */
export function coalescePoints(): OperatorFunction<Planned, Coalesced> {
  return map((work) => {
    const { kept, superseded } = coalesceByKey(work.snapshots, (i) => i.pointId, (i) => BigInt(i.record.offset) * 1_000_000n + BigInt(i.record.partition));
    return { ...work, kept, superseded };
  });
}
