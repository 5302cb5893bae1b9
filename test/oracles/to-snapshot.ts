import type { SourcePosition, UserEvent } from '../../src/contracts/events.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { AuraError } from '../../src/errors.js';
import { snapshotOf, type SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';
import { activityStats, moodStats, recentNotes } from '../../src/pipeline/domain/snapshot-stats.js';
import type { WindowStatistics } from '../../src/pipeline/domain/window-state.js';

/**
 * The `ContextAggregated` emitted for an accepted `trigger` event, from the user's window after
 * that event, its statistics computed from the entries (the definition; the stage reads running
 * statistics through `snapshotOf`). `window_start` is the exclusive lower bound `end - windowDays` (in ms).
 */
export function toSnapshot(window: UserWindow, trigger: UserEvent, position: SourcePosition, config: SnapshotConfig): ContextAggregated {
  if (window.user_id !== trigger.user_id) {
    throw new AuraError('INTERNAL', `toSnapshot: window of user ${JSON.stringify(window.user_id)} with a trigger of user ${JSON.stringify(trigger.user_id)}`);
  }
  const statistics: WindowStatistics = {
    end: window.end,
    eventCount: window.entries.length,
    mood: moodStats(window.entries),
    activity: activityStats(window.entries, window.end),
    recentNotes: recentNotes(window.entries),
  };
  return snapshotOf(statistics, trigger, position, config);
}
