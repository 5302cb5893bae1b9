import { pointId } from '../../src/contracts/ids.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';

/**
 * The final vector point per (user, UTC day of window_end): the last snapshot of that day in
 * offset order. `snapshots` are the records of the aggregated topic in topic-partition order (a
 * user's snapshots all live in one partition, since the topic is keyed by user).
 */
export function pointOracle(snapshots: ReadonlyArray<{ snapshot: ContextAggregated; offset: number }>): Map<string, ContextAggregated> {
  const points = new Map<string, { snapshot: ContextAggregated; offset: number }>();
  for (const s of snapshots) {
    const id = pointId(s.snapshot.user_id, s.snapshot.window_end);
    const seen = points.get(id);
    if (seen === undefined || s.offset >= seen.offset) points.set(id, s);
  }
  return new Map([...points].map(([id, s]) => [id, s.snapshot]));
}
