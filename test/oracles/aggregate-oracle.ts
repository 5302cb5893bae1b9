import type { SourcePosition, UserEvent, UserRecord } from '../../src/contracts/events.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { WindowConfig, WindowEntry } from '../../src/contracts/window.js';
import { toSnapshot } from './to-snapshot.js';
import type { SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';

/**
 * The aggregate oracle (docs/ARCHITECTURE.md §3b): what the pipeline must end with, computed from the whole input log by
 * re-deriving the window from its definition at every step instead of folding it incrementally.
 * It shares nothing with rollWindow/aggregateBatch (only the statistics and the snapshot builder,
 * which have their own hand-computed tests). Quadratic; meant for test-sized logs.
 *
 * Definitions used (docs/ARCHITECTURE.md §3b), per user, over the events accepted so far:
 *   end(A)    = max occurred_at of A
 *   window(A) = the events of A with occurred_at in (end - windowDays, end], keeping the
 *               maxEvents greatest by (occurred_at, offset), sorted ascending
 *   an event e is late      when A is non-empty and e.occurred_at <= end(A) - windowDays
 *               duplicate when e.event_id is the id of an event in window(A) (checked after late)
 *               accepted  otherwise, and joins A
 *   a UserDeleted empties A (erased): the user's next event starts from nothing
 */

const DAY = 24 * 60 * 60 * 1000;

export interface OracleRecord {
  position: SourcePosition;
  key: string | null;
  event: UserRecord;
}

export interface OracleResult {
  /** Per user with a window at the end: the snapshot of the user's last accepted event. */
  finalSnapshot: Map<string, ContextAggregated>;
  accepted: number;
  late: number;
  duplicate: number;
  /** UserDeleted records. */
  erased: number;
  /** Users whose last record was a UserDeleted: no window at the end. */
  erasedUsers: Set<string>;
  acceptedEventIds: Set<string>;
}

interface Accepted {
  event: UserEvent;
  position: SourcePosition;
  offset: number;
}

/** Runs the definitions over `log` (partition order; records of one user in offset order). */
export function aggregateOracle(log: readonly OracleRecord[], config: SnapshotConfig): OracleResult {
  const acceptedByUser = new Map<string, Accepted[]>();
  const result: OracleResult = { finalSnapshot: new Map(), accepted: 0, late: 0, duplicate: 0, erased: 0, erasedUsers: new Set(), acceptedEventIds: new Set() };

  for (const { position, event } of log) {
    if (event.type === 'UserDeleted') {
      acceptedByUser.delete(event.user_id);
      result.erased += 1;
      result.erasedUsers.add(event.user_id);
      continue;
    }
    result.erasedUsers.delete(event.user_id);
    const accepted = acceptedByUser.get(event.user_id) ?? [];
    if (accepted.length > 0) {
      if (event.occurred_at <= endOf(accepted) - config.windowDays * DAY) {
        result.late += 1;
        continue;
      }
      if (windowOf(accepted, config).some((a) => a.event.event_id === event.event_id)) {
        result.duplicate += 1;
        continue;
      }
    }
    accepted.push({ event, position, offset: Number(position.offset) });
    acceptedByUser.set(event.user_id, accepted);
    result.accepted += 1;
    result.acceptedEventIds.add(event.event_id);
  }

  for (const [userId, accepted] of acceptedByUser) {
    const last = accepted[accepted.length - 1]!;
    const window = { user_id: userId, end: endOf(accepted), entries: windowOf(accepted, config).map(entryOf) };
    result.finalSnapshot.set(userId, toSnapshot(window, last.event, last.position, config));
  }
  return result;
}

function endOf(accepted: readonly Accepted[]): number {
  let end = -Infinity;
  for (const a of accepted) if (a.event.occurred_at > end) end = a.event.occurred_at;
  return end;
}

function windowOf(accepted: readonly Accepted[], config: WindowConfig): Accepted[] {
  const end = endOf(accepted);
  const inTime = accepted.filter((a) => a.event.occurred_at > end - config.windowDays * DAY);
  inTime.sort((a, b) => (a.event.occurred_at !== b.event.occurred_at ? a.event.occurred_at - b.event.occurred_at : a.offset - b.offset));
  return config.maxEvents <= 0 ? [] : inTime.slice(-config.maxEvents);
}

function entryOf(a: Accepted): WindowEntry {
  const e = a.event;
  if (e.type === 'MoodCreated') {
    return { kind: 'mood', event_id: e.event_id, occurred_at: e.occurred_at, seq: a.offset, level: e.level, tags: e.tags, note: e.note };
  }
  return {
    kind: 'activity',
    event_id: e.event_id,
    occurred_at: e.occurred_at,
    seq: a.offset,
    activity_type: e.activity_type,
    intensity: e.intensity,
    duration_minutes: e.duration_minutes,
    notes: e.notes,
  };
}
