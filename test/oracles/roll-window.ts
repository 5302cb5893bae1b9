import type { UserEvent } from '../../src/contracts/events.js';
import type { UserWindow, WindowConfig } from '../../src/contracts/window.js';
import { AuraError } from '../../src/errors.js';
import { DAY_MS, toEntry, upperBound, type WindowOutcome } from '../../src/pipeline/domain/window-entries.js';

export interface RollResult {
  outcome: WindowOutcome;
  /** The window after the event: a new object when accepted, the input object otherwise. */
  window: UserWindow;
}

/**
 * Folds one event into a user's window (docs/ARCHITECTURE.md §3b). Pure: the input window
 * is never mutated; entries are shared between the old and the new window, never changed.
 *
 * - late: `occurred_at <= end - windowDays` with the end BEFORE this event. Checked before the
 *   duplicate rule; a redelivered event that is still in the window has the same occurred_at, so
 *   it is never late and counts as a duplicate.
 * - duplicate: the event_id is in the window now. An id that was evicted (by time or by the cap)
 *   is no longer known: the window is the whole idempotence memory, as docs/ARCHITECTURE.md §3b defines it.
 * - accepted: placed by (occurred_at, seq); end = max(end, occurred_at); entries with
 *   `occurred_at <= end - windowDays` are evicted, then only the `maxEvents` greatest by
 *   (occurred_at, seq) are kept. An accepted event older than every kept entry of a full window
 *   is cut by the cap at once; it still counts as accepted (and the stage emits a snapshot for it,
 *   1:1 with accepted events).
 * - The first event of a user (no window) is always accepted.
 */
export function rollWindow(window: UserWindow | undefined, event: UserEvent, seq: number, config: WindowConfig): RollResult {
  const windowMs = config.windowDays * DAY_MS;
  if (window !== undefined) {
    if (window.user_id !== event.user_id) {
      throw new AuraError('INTERNAL', 'rollWindow: a window handed an event of another user (user ids not shown: they are personal data and this message reaches the log)');
    }
    if (event.occurred_at <= window.end - windowMs) return { outcome: 'late', window };
    if (window.entries.some((e) => e.event_id === event.event_id)) return { outcome: 'duplicate', window };
  }

  const entry = toEntry(event, seq);
  const previous = window?.entries ?? [];
  const end = window === undefined ? event.occurred_at : Math.max(window.end, event.occurred_at);
  const at = upperBound(previous, entry);
  const placed = [...previous.slice(0, at), entry, ...previous.slice(at)];

  const horizon = end - windowMs;
  const firstInWindow = placed.findIndex((e) => e.occurred_at > horizon);
  const inWindow = firstInWindow < 0 ? [] : placed.slice(firstInWindow);
  const capped = inWindow.length > config.maxEvents ? inWindow.slice(inWindow.length - Math.max(0, config.maxEvents)) : inWindow;

  return { outcome: 'accepted', window: { user_id: event.user_id, end, entries: capped } };
}
