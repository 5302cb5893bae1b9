import type { SourcePosition, UserEvent } from '../../src/contracts/events.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { UserWindow } from '../../src/contracts/window.js';
import type { AggregateCounters } from '../../src/pipeline/domain/fold-transactions.js';
import type { WindowOutcome } from '../../src/pipeline/domain/window-entries.js';
import { offsetToNumber, snapshotOf } from '../../src/pipeline/domain/snapshot-of.js';
import type { SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';
import { foldEvent, loadWindowState, statisticsOf, windowOf, type WindowState } from '../../src/pipeline/domain/window-state.js';

/** A decoded, validated input record. */
export interface AggregateInput {
  position: SourcePosition;
  key: string | null;
  event: UserEvent;
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
 * The aggregate fold over one partition batch, on stored windows: records must come in partition
 * (offset) order, already validated (poison is handled by the caller). Each touched user's window
 * is loaded once (`lookup`, at most one call per user) into its running state, so several events
 * of one user in a batch see each other. `seq` of a window entry is the record's offset. Pure
 * apart from calling `lookup`. The stage folds through `foldTransactions`, which keeps the running
 * states between batches; this is the same fold for callers holding plain windows.
 */
export function aggregateBatch(
  records: readonly AggregateInput[],
  lookup: (userId: string) => UserWindow | undefined,
  config: SnapshotConfig,
): AggregateBatchResult {
  const overlay = new Map<string, WindowState | undefined>();
  const changed = new Set<string>();
  const snapshots: AggregateBatchResult['snapshots'] = [];
  const outcomes: WindowOutcome[] = [];
  const counters: AggregateCounters = { accepted: 0, late: 0, duplicate: 0 };

  for (const { position, event } of records) {
    const userId = event.user_id;
    if (!overlay.has(userId)) {
      const stored = lookup(userId);
      overlay.set(userId, stored === undefined ? undefined : loadWindowState(stored));
    }
    const { outcome, state } = foldEvent(overlay.get(userId), event, offsetToNumber(position.offset), config);
    outcomes.push(outcome);
    counters[outcome] += 1;
    if (outcome !== 'accepted') continue;
    overlay.set(userId, state);
    changed.add(userId);
    snapshots.push({ position, snapshot: snapshotOf(statisticsOf(state), event, position, config) });
  }
  const states = new Map<string, UserWindow>();
  for (const userId of changed) states.set(userId, windowOf(overlay.get(userId)!));
  return { snapshots, states, counters, outcomes };
}
