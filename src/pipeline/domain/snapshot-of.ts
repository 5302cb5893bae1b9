import type { SourcePosition, UserEvent } from '../../contracts/events.js';
import { snapshotId } from '../../contracts/ids.js';
import type { ContextAggregated } from '../../contracts/snapshot.js';
import type { WindowConfig } from '../../contracts/window.js';
import { AuraError } from '../../errors.js';
import { renderText } from './render-text.js';
import type { SnapshotWithoutText } from './render-text.js';
import { DAY_MS } from './window-entries.js';
import type { WindowStatistics } from './window-state.js';

/** What the aggregate stage needs to build snapshots. */
export interface SnapshotConfig extends WindowConfig {
  /** Written into every snapshot (`aggregator_version`), e.g. the package version. */
  aggregatorVersion: string;
}

/**
 * A Kafka offset (int64 decimal string) as a number. Offsets beyond 2^53 cannot be represented
 * exactly; they are refused (INTERNAL) rather than silently rounded, since `seq` and
 * `source_offset` must stay exact.
 */
export function offsetToNumber(offset: string): number {
  const n = Number(offset);
  if (!/^\d+$/.test(offset) || !Number.isSafeInteger(n)) {
    throw new AuraError('INTERNAL', `offset ${JSON.stringify(offset)} is not a non-negative integer below 2^53`);
  }
  return n;
}

/** The snapshot of a user's window statistics (`trigger` names the user). */
export function snapshotOf(statistics: WindowStatistics, trigger: UserEvent, position: SourcePosition, config: SnapshotConfig): ContextAggregated {
  const withoutText: SnapshotWithoutText = {
    snapshot_id: snapshotId(trigger.user_id, trigger.event_id),
    user_id: trigger.user_id,
    window_start: statistics.end - config.windowDays * DAY_MS,
    window_end: statistics.end,
    window_days: config.windowDays,
    event_count: statistics.eventCount,
    mood: statistics.mood,
    activity: statistics.activity,
    recent_notes: statistics.recentNotes,
    trigger_event_id: trigger.event_id,
    trigger_type: trigger.type,
    trace_id: trigger.trace_id,
    source_topic: position.topic,
    source_partition: position.partition,
    source_offset: offsetToNumber(position.offset),
    aggregator_version: config.aggregatorVersion,
    source_timestamp: Number.isFinite(position.timestamp) && position.timestamp >= 0 ? position.timestamp : null,
  };
  return { ...withoutText, text: renderText(withoutText) };
}
