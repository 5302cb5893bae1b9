import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { WindowStore } from '../ports.js';

/**
 * LMDB window store, a cache of the changelog.
 *
 * Layout (one LMDB environment under `<dir>`):
 *   windows:     user_id (string) → encoded window (binary: the changelog value, see codecs.ts)
 *   checkpoints: changelog partition (uint) → next changelog offset to restore from (decimal string)
 * `apply` writes states and checkpoint in one synchronous transaction (`transactionSync`: the async
 * `transaction()` was seen to hang on these machines — docs/ARCHITECTURE.md §8), so a crash leaves either the
 * old states with the old checkpoint or the new with the new; a replay from the checkpoint repairs
 * the rest because changelog records are whole states.
 */
export class LmdbWindowStore implements WindowStore {
  private readonly root: RootDatabase;
  private readonly windows: Database<Buffer, string>;
  private readonly checkpoints: Database<string, number>;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, maxDbs: 4, compression: false });
    this.windows = this.root.openDB<Buffer, string>({ name: 'windows', encoding: 'binary' });
    this.checkpoints = this.root.openDB<string, number>({ name: 'checkpoints' });
  }

  get(userId: string): Buffer | undefined {
    return this.windows.get(userId);
  }

  apply(changelogPartition: number, states: Map<string, Buffer | null>, checkpoint: string): void {
    this.root.transactionSync(() => {
      for (const [userId, state] of states) {
        if (state === null) void this.windows.remove(userId);
        else void this.windows.put(userId, state);
      }
      void this.checkpoints.put(changelogPartition, checkpoint);
    });
  }

  checkpoint(changelogPartition: number): string {
    return this.checkpoints.get(changelogPartition) ?? '0';
  }

  /** Users and entries held (for logs and tests). */
  stats(): { users: number } {
    return { users: this.windows.getKeysCount() };
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
