import type { StreamTime } from '../../ports.js';
import type { WindowState } from '../domain/window-state.js';

/**
 * The running window states of one input partition, kept between transactions so a user's window
 * is decoded once rather than once per transaction. Holds states that are committed and states
 * folded by transactions still in flight (pipelining folds the next transaction while the previous
 * commits), so it is the partition's only source of truth while it lives:
 *
 * - `take` returns the cached state or loads it (from the store, which holds committed states);
 *   a user is never loaded while a transaction that touched it is in flight, because such a user
 *   is never dropped (below).
 * - `touch(user, state, tx)` records that transaction `tx` (increasing per partition) changed the
 *   state; `state` undefined = the user has no window (erased), and `take` answers that without
 *   loading the store's (older) window until the erasing transaction is committed.
 * - `committed(tx)` says every transaction up to `tx` is in the store; only then may users last
 *   touched by them be dropped, least recently touched first, down to `maxUsers`.
 * - `clear()` after a failed transaction or a lost partition: the states may hold folds that never
 *   committed; the next use reloads from the store after the partition is restored.
 *
 * It also holds the partition's running stream time (folded records included), loaded from the
 * store on first use and after `clear()`.
 */
export class WindowCache {
  private readonly states = new Map<string, { state: WindowState | undefined; tx: number }>();
  private committedTx = -1;
  private stream: { value: StreamTime | undefined } | undefined;

  constructor(private readonly maxUsers: number) {}

  get size(): number {
    return this.states.size;
  }

  take(userId: string, load: (userId: string) => WindowState | undefined): WindowState | undefined {
    const hit = this.states.get(userId);
    if (hit) return hit.state;
    const state = load(userId);
    this.states.set(userId, { state, tx: -1 });
    return state;
  }

  /** The partition's stream time: the running one, or `load`ed (the committed one) when there is none. */
  streamTime(load: () => StreamTime | undefined): StreamTime | undefined {
    this.stream ??= { value: load() };
    return this.stream.value;
  }

  /** Moves the stream time to `time` (the record at `offset`) when that is later; never back. */
  advance(time: number, offset: string, load: () => StreamTime | undefined): void {
    const current = this.streamTime(load);
    if (Number.isFinite(time) && time >= 0 && (current === undefined || time > current.time)) {
      this.stream = { value: { time, offset, ...(current?.erasures && { erasures: current.erasures }) } };
    }
  }

  /**
   * Records an accepted erasure request of the partition: false when `requestId` was accepted
   * before (a replay). Requests older than `keepAfter` (stream time − ERASURE_MAX_AGE_MS) are
   * pruned: they are refused by age anyway. Needs a stream time (the request's record set one).
   */
  acceptErasure(requestId: string, requestedAt: number, keepAfter: number, load: () => StreamTime | undefined): boolean {
    const current = this.streamTime(load);
    if (current === undefined) return true;
    const seen = current.erasures ?? {};
    if (Object.hasOwn(seen, requestId)) return false;
    const erasures: Record<string, number> = {};
    for (const [id, at] of Object.entries(seen)) if (at >= keepAfter) erasures[id] = at;
    erasures[requestId] = requestedAt;
    this.stream = { value: { ...current, erasures } };
    return true;
  }

  touch(userId: string, state: WindowState | undefined, tx: number): void {
    this.states.delete(userId);
    this.states.set(userId, { state, tx });
  }

  committed(tx: number): void {
    this.committedTx = Math.max(this.committedTx, tx);
    this.trim();
  }

  /** Drops committed or untouched users, least recently touched first, while over the bound. */
  trim(): void {
    if (this.states.size <= this.maxUsers) return;
    for (const [userId, entry] of this.states) {
      if (this.states.size <= this.maxUsers) return;
      if (entry.tx > this.committedTx) continue;
      this.states.delete(userId);
    }
  }

  clear(): void {
    this.states.clear();
    this.committedTx = -1;
    this.stream = undefined;
  }
}
