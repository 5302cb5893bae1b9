import type { UserEvent } from '../../contracts/events.js';
import type { WindowEntry } from '../../contracts/window.js';

/** Milliseconds in one day: the window length is `windowDays * DAY_MS` of event time. */
export const DAY_MS = 86_400_000;

export type WindowOutcome = 'accepted' | 'late' | 'duplicate';

/**
 * The window entry of an event. `seq` is the record's input offset, the tie-breaker between equal
 * `occurred_at`. Tags and notes are stored as sent; normalisation (trim, lower-case, cut) belongs
 * to the statistics, so a change of those rules needs no state migration. Keys are written in a
 * fixed order so equal entries encode to equal bytes in the store and changelog.
 */
export function toEntry(event: UserEvent, seq: number): WindowEntry {
  if (event.type === 'MoodCreated') {
    return {
      kind: 'mood',
      event_id: event.event_id,
      occurred_at: event.occurred_at,
      seq,
      level: event.level,
      tags: [...event.tags],
      note: event.note,
    };
  }
  return {
    kind: 'activity',
    event_id: event.event_id,
    occurred_at: event.occurred_at,
    seq,
    activity_type: event.activity_type,
    intensity: event.intensity,
    duration_minutes: event.duration_minutes,
    notes: event.notes,
  };
}

/** Orders entries by (occurred_at, seq) ascending: event time, then input order. */
export function compareEntries(a: WindowEntry, b: WindowEntry): number {
  return a.occurred_at - b.occurred_at || a.seq - b.seq;
}

/** First index whose entry sorts after `entry` (entries are sorted by compareEntries). */
export function upperBound(entries: readonly WindowEntry[], entry: WindowEntry): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntries(entries[mid]!, entry) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
