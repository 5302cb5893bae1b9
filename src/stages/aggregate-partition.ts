import type { SourcePosition, UserEvent } from '../contracts/events.js';
import type { ContextAggregated } from '../contracts/snapshot.js';
import type { UserWindow } from '../contracts/window.js';
import { rollWindow } from './roll-window.js';
import type { WindowOutcome } from './roll-window.js';
import { offsetToNumber, toSnapshot } from './to-snapshot.js';
import type { SnapshotConfig } from './to-snapshot.js';

/** A decoded, validated input record. */
export interface AggregateInput {
  position: SourcePosition;
  key: string | null;
  event: UserEvent;
}

export interface AggregateCounters {
  accepted: number;
  late: number;
  duplicate: number;
}

export interface AggregateBatchResult {
  /** One snapshot per accepted record, in input order. */
  snapshots: Array<{ position: SourcePosition; snapshot: ContextAggregated }>;
  /**
   * Final window per user whose window changed in this batch (at least one accepted event): what
   * goes to the changelog and, after commit, to the store. Users whose records were all late or
   * duplicates keep their stored state and are absent (their changelog record would be a no-op).
   */
  states: Map<string, UserWindow>;
  counters: AggregateCounters;
  /** Outcome of each input record, index-aligned with `records`. */
  outcomes: WindowOutcome[];
}

/**
 * The aggregate stage's fold over one partition batch: records must come in partition (offset)
 * order, already validated (poison is handled by the caller). An in-batch overlay holds each
 * touched user's latest window, so several events of one user in a batch see each other;
 * `lookup` (the store) is called at most once per user, and only for users not yet in the overlay.
 * `seq` of a window entry is the record's offset. Pure apart from calling `lookup`.
 */
export function aggregateBatch(
  records: readonly AggregateInput[],
  lookup: (userId: string) => UserWindow | undefined,
  config: SnapshotConfig,
): AggregateBatchResult {
  const overlay = new Map<string, UserWindow | undefined>();
  const states = new Map<string, UserWindow>();
  const snapshots: AggregateBatchResult['snapshots'] = [];
  const outcomes: WindowOutcome[] = [];
  const counters: AggregateCounters = { accepted: 0, late: 0, duplicate: 0 };

  for (const { position, event } of records) {
    const userId = event.user_id;
    if (!overlay.has(userId)) overlay.set(userId, lookup(userId));
    const { outcome, window } = rollWindow(overlay.get(userId), event, offsetToNumber(position.offset), config);
    outcomes.push(outcome);
    counters[outcome] += 1;
    if (outcome !== 'accepted') continue;
    overlay.set(userId, window);
    states.set(userId, window);
    snapshots.push({ position, snapshot: toSnapshot(window, event, position, config) });
  }
  return { snapshots, states, counters, outcomes };
}
