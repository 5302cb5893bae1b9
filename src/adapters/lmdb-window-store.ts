import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { StreamTime, WindowStore } from '../ports.js';
import { windowEndOf } from './codecs.js';

/** Version of the layout below; a folder written by an older layout is emptied at open and restored from the changelog. */
const LAYOUT = 2;
const PRESENT = Buffer.from([1]);

/**
 * LMDB window store, a cache of the changelog.
 *
 * Layout (one LMDB environment under `<dir>`):
 *   windows:     user_id (string) → encoded window (binary: the changelog value, see codecs.ts)
 *   checkpoints: changelog partition (uint) → next changelog offset to restore from (decimal string)
 *   activity:    partition (uint32 BE) + window end (uint64 BE, ms) + user_id (UTF-8) → 1: the users
 *                of each partition by the end of their window (the largest accepted occurred_at),
 *                oldest first, so retention finds the expired users by a range read instead of a
 *                scan of every window (binary keys: byte order is this order). A user's entry is
 *                replaced using the end in its stored value (a user's partition never changes).
 *   streamtime:  input partition (uint) → { time, offset }: the partition's stream time
 *   meta:        'layout' → LAYOUT
 * `apply` writes states, index, stream time and checkpoint in one synchronous transaction
 * (`transactionSync`: the async `transaction()` was seen to hang on these machines —
 * docs/ARCHITECTURE.md §8), so a crash leaves either the old states with the old checkpoint or the
 * new with the new; a replay from the checkpoint repairs the rest because changelog records are
 * whole states. The index is derived from the values alone (their window end), so a restore from
 * the changelog rebuilds it; a tombstone (null) removes the window and its index entry.
 */
export class LmdbWindowStore implements WindowStore {
  private readonly root: RootDatabase;
  private readonly windows: Database<Buffer, string>;
  private readonly checkpoints: Database<string, number>;
  private readonly activity: Database<Buffer, Buffer>;
  private readonly streamTimes: Database<StreamTime, number>;
  private readonly meta: Database<number, string>;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, maxDbs: 8, compression: false });
    this.windows = this.root.openDB<Buffer, string>({ name: 'windows', encoding: 'binary' });
    this.checkpoints = this.root.openDB<string, number>({ name: 'checkpoints' });
    this.activity = this.root.openDB<Buffer, Buffer>({ name: 'activity', encoding: 'binary', keyEncoding: 'binary' });
    this.streamTimes = this.root.openDB<StreamTime, number>({ name: 'streamtime' });
    this.meta = this.root.openDB<number, string>({ name: 'meta' });
    if (this.meta.get('layout') !== LAYOUT) {
      // Windows written without the index: dropped with their checkpoints, so the next restore
      // replays the whole changelog and indexes every window.
      this.root.transactionSync(() => {
        for (const db of [this.windows, this.checkpoints, this.activity, this.streamTimes]) db.clearSync();
        void this.meta.put('layout', LAYOUT);
      });
    }
  }

  get(userId: string): Buffer | undefined {
    return this.windows.get(userId);
  }

  apply(changelogPartition: number, states: Map<string, Buffer | null>, checkpoint: string, streamTime?: StreamTime): void {
    this.root.transactionSync(() => {
      for (const [userId, state] of states) {
        // A user's changelog partition never changes (keyed input, co-partitioned changelog): its
        // index key is this partition, the end held in its stored value, and the user.
        const stored = this.windows.getBinaryFast(userId);
        const oldEnd = stored === undefined ? undefined : endOrUndefined(stored);
        const end = state === null ? undefined : endOrUndefined(state);
        const user = Buffer.from(userId);
        if (oldEnd !== undefined && oldEnd !== end) void this.activity.remove(Buffer.concat([activityPrefix(changelogPartition, oldEnd), user]));
        if (state === null) void this.windows.remove(userId);
        else void this.windows.put(userId, state);
        // An unreadable value (the fold would dead-letter its user's events) is never expired.
        if (end !== undefined && end !== oldEnd) void this.activity.put(Buffer.concat([activityPrefix(changelogPartition, end), user]), PRESENT);
      }
      if (streamTime !== undefined) void this.streamTimes.put(changelogPartition, streamTime);
      void this.checkpoints.put(changelogPartition, checkpoint);
    });
  }

  checkpoint(changelogPartition: number): string {
    return this.checkpoints.get(changelogPartition) ?? '0';
  }

  streamTime(partition: number): StreamTime | undefined {
    return this.streamTimes.get(partition);
  }

  *expiring(partition: number, before: number): Iterable<{ userId: string; end: number }> {
    if (before <= 0) return;
    for (const key of this.activity.getKeys({ start: activityPrefix(partition, 0), end: activityPrefix(partition, before) })) {
      yield { userId: key.toString('utf8', 12), end: key.readUInt32BE(4) * 2 ** 32 + key.readUInt32BE(8) };
    }
  }

  /** Users held (for logs and tests). */
  stats(): { users: number; indexed: number } {
    return { users: this.windows.getKeysCount(), indexed: this.activity.getKeysCount() };
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

/** partition (uint32 BE) + end (uint64 BE; below 0 counts as 0: validated event times are after 2000). */
function activityPrefix(partition: number, end: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  const e = Math.max(0, Math.floor(end));
  b.writeUInt32BE(partition, 0);
  b.writeUInt32BE(Math.floor(e / 2 ** 32), 4);
  b.writeUInt32BE(e % 2 ** 32, 8);
  return b;
}

function endOrUndefined(value: Buffer): number | undefined {
  try {
    return windowEndOf(value);
  } catch {
    return undefined;
  }
}
