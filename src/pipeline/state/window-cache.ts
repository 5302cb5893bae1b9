import type { StreamTime } from '../../ports.js';
import type { WindowState } from '../domain/window-state.js';

/**
 * Heap bytes a cached window costs, estimated from its encoded length: `HEAP_PER_ENCODED_CHAR ·
 * encodedLength + HEAP_PER_WINDOW`, fitted by bench/state-size.ts through the `produce` default
 * and heavy profiles (decoded entries, their encoded strings, the id set and running statistics).
 * An erased user (no window) costs a map entry.
 */
export const HEAP_PER_ENCODED_CHAR = 3.1;
export const HEAP_PER_WINDOW = 12_288;
const HEAP_PER_ABSENT = 128;

export function estimateWindowBytes(state: WindowState | undefined): number {
  return state === undefined ? HEAP_PER_ABSENT : Math.ceil(HEAP_PER_ENCODED_CHAR * state.encodedLength) + HEAP_PER_WINDOW;
}

/**
 * A byte budget shared by the window caches of one process (one per input partition), so the
 * bound holds however many partitions the process owns: AGGREGATE_CACHE_MAX_BYTES.
 */
export class CacheBudget {
  used = 0;
  constructor(readonly maxBytes: number) {}
  get over(): boolean {
    return this.used > this.maxBytes;
  }
}

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
 *   touched by them be dropped, least recently touched first, down to `maxUsers` and until the
 *   process's `budget` (estimated bytes, shared by all partitions' caches) is no longer exceeded.
 *   Windows in flight are never dropped, so either bound may be exceeded by one transaction's users.
 * - `clear()` after a failed transaction or a lost partition: the states may hold folds that never
 *   committed; the next use reloads from the store after the partition is restored.
 *
 * It also holds the partition's running stream time (folded records included), loaded from the
 * store on first use and after `clear()`.
 */
export class WindowCache {
  private readonly states = new Map<string, { state: WindowState | undefined; tx: number; bytes: number }>();
  private committedTx = -1;
  private stream: { value: StreamTime | undefined } | undefined;
  /** Estimated bytes of this cache's entries (also counted in the shared budget). */
  private ownBytes = 0;

  constructor(
    private readonly maxUsers: number,
    private readonly budget: CacheBudget = new CacheBudget(Number.POSITIVE_INFINITY),
  ) {}

  get size(): number {
    return this.states.size;
  }

  /** Estimated heap bytes of the cached windows. */
  get bytes(): number {
    return this.ownBytes;
  }

  take(userId: string, load: (userId: string) => WindowState | undefined): WindowState | undefined {
    const hit = this.states.get(userId);
    if (hit) return hit.state;
    const state = load(userId);
    this.put(userId, state, -1);
    return state;
  }

  private put(userId: string, state: WindowState | undefined, tx: number): void {
    this.remove(userId);
    const bytes = estimateWindowBytes(state);
    this.states.set(userId, { state, tx, bytes });
    this.ownBytes += bytes;
    this.budget.used += bytes;
  }

  private remove(userId: string): void {
    const old = this.states.get(userId);
    if (!old) return;
    this.states.delete(userId);
    this.ownBytes -= old.bytes;
    this.budget.used -= old.bytes;
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
    this.put(userId, state, tx);
  }

  committed(tx: number): void {
    this.committedTx = Math.max(this.committedTx, tx);
    this.trim();
  }

  /** Drops committed or untouched users, least recently touched first, while over either bound. */
  trim(): void {
    const over = () => this.states.size > this.maxUsers || (this.budget.over && this.ownBytes > 0);
    if (!over()) return;
    for (const [userId, entry] of this.states) {
      if (!over()) return;
      if (entry.tx > this.committedTx) continue;
      this.remove(userId);
    }
  }

  clear(): void {
    this.budget.used -= this.ownBytes;
    this.ownBytes = 0;
    this.states.clear();
    this.committedTx = -1;
    this.stream = undefined;
  }
}
