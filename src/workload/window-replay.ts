import type { UserEvent } from '../contracts/events.js';
import { cloneEvent } from './event-content.js';

/**
 * The newest `keep` entries of a user's window as docs/ARCHITECTURE.md §3 defines it. The stage's window is the
 * accepted events with occurred_at in (end - window, end], cut to the newest maxEvents by
 * (occurred_at, seq). Time eviction drops a prefix of that order and the cap keeps a suffix, so
 * with keep ≤ maxEvents the newest `keep` accepted events, time-evicted, are exactly the newest
 * `keep` entries of the stage's window: a duplicate of any of them is one the stage still knows,
 * and memory stays at `keep` events per user.
 */
export interface SimWindow {
  /** Largest accepted occurred_at, as the stage's `end`. */
  end: number;
  /** Sorted by (occurred_at, seq) ascending. */
  entries: { seq: number; event: UserEvent }[];
}

export function accept(window: SimWindow, event: UserEvent, seq: number, windowMs: number, keep: number): void {
  const { entries } = window;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const entry = entries[mid] as SimWindow['entries'][number];
    if (entry.event.occurred_at < event.occurred_at || (entry.event.occurred_at === event.occurred_at && entry.seq < seq)) lo = mid + 1;
    else hi = mid;
  }
  entries.splice(lo, 0, { seq, event: cloneEvent(event) });
  window.end = Math.max(window.end, event.occurred_at);
  let evicted = 0;
  while (evicted < entries.length && (entries[evicted] as SimWindow['entries'][number]).event.occurred_at <= window.end - windowMs) evicted++;
  evicted = Math.max(evicted, entries.length - keep);
  if (evicted > 0) entries.splice(0, evicted);
}
