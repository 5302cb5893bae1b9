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
 *   activity:    [partition, window end, user_id] → 1: the users of each partition by the end of
 *                their window (the largest accepted occurred_at), oldest first, so retention finds
 *                the expired users by a range read instead of a scan of every window
 *   ends:        user_id → [partition, window end]: the user's `activity` key, to replace it
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
  private readonly activity: Database<Buffer, [number, number, string]>;
  private readonly ends: Database<[number, number], string>;
  private readonly streamTimes: Database<StreamTime, number>;
  private readonly meta: Database<number, string>;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, maxDbs: 8, compression: false });
    this.windows = this.root.openDB<Buffer, string>({ name: 'windows', encoding: 'binary' });
    this.checkpoints = this.root.openDB<string, number>({ name: 'checkpoints' });
    this.activity = this.root.openDB<Buffer, [number, number, string]>({ name: 'activity', encoding: 'binary' });
    this.ends = this.root.openDB<[number, number], string>({ name: 'ends' });
    this.streamTimes = this.root.openDB<StreamTime, number>({ name: 'streamtime' });
    this.meta = this.root.openDB<number, string>({ name: 'meta' });
    if (this.meta.get('layout') !== LAYOUT) {
      // Windows written without the index: dropped with their checkpoints, so the next restore
      // replays the whole changelog and indexes every window.
      this.root.transactionSync(() => {
        for (const db of [this.windows, this.checkpoints, this.activity, this.ends, this.streamTimes]) db.clearSync();
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
        const old = this.ends.get(userId);
        if (old !== undefined) void this.activity.remove([old[0], old[1], userId]);
        if (state === null) {
          void this.windows.remove(userId);
          void this.ends.remove(userId);
          continue;
        }
        void this.windows.put(userId, state);
        const end = endOrUndefined(state);
        if (end === undefined) {
          // Not readable as a window (the fold would dead-letter its user's events): never expired.
          void this.ends.remove(userId);
          continue;
        }
        void this.activity.put([changelogPartition, end, userId], PRESENT);
        void this.ends.put(userId, [changelogPartition, end]);
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
    for (const key of this.activity.getKeys({ start: [partition, -Number.MAX_SAFE_INTEGER, ''], end: [partition, before, ''] })) {
      yield { userId: key[2], end: key[1] };
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

function endOrUndefined(value: Buffer): number | undefined {
  try {
    return windowEndOf(value);
  } catch {
    return undefined;
  }
}
