/**
 * Consumer lag from the broker's view, independent of the stage's own commits: a timer reads the
 * partitions' end offsets and the group's committed offsets, and this turns them into lag per
 * partition in records and in seconds. A consumer that hangs keeps its committed offset while the
 * end offset moves on, so its lag rises although it commits nothing (docs/runbook.md,
 * AuraStreamConsumerStuck).
 *
 * Lag in records = end offset − committed offset (no commit yet: end − log start offset). A stage
 * that holds nothing unconfirmed of a partition has consumed up to the high watermark its last
 * fetch reported (`consumedOffset`), which may lie above its committed offset: on a transactional
 * topic the commit markers after the last record are never "committed" past by a stage that commits
 * last record + 1, and would otherwise read as a lag of one record per transaction.
 * Lag in seconds, when the lag is above 0:
 *   - now − the Kafka timestamp of the oldest record the stage holds unconfirmed in that partition
 *     (UnconfirmedRecords),
 *     when it has fetched one (that record is the one at, or just after, the committed offset);
 *   - otherwise (nothing fetched: a consumer that stopped fetching, or one not yet started) now −
 *     the time this committed offset was first seen with records behind it, a lower bound that
 *     keeps rising while nothing is committed.
 * 0 when the partition is caught up.
 */
export interface PartitionOffsets {
  partition: number;
  /** High watermark (the next offset to be written), int64 decimal. */
  endOffset: string;
  /** Log start offset (the oldest retained), int64 decimal. */
  startOffset: string;
  /** The group's committed offset (the next to read); '-1' or '' when the group has none. */
  committedOffset: string;
  /** High watermark of the stage's last fetch when it holds nothing unconfirmed of the partition. */
  consumedOffset?: string;
}

export interface PartitionLag {
  partition: number;
  records: number;
  seconds: number;
  /** The committed offset used (the log start offset when the group has none). */
  committedOffset: number;
}

interface Seen {
  committed: bigint;
  /** Epoch ms at which `committed` was first seen with records behind it. */
  behindSince: number;
}

export class ConsumerLag {
  private readonly seen = new Map<number, Seen>();

  /**
   * Lag of the given partitions at `now` (epoch ms). `oldestUnconfirmed(p)` is the Kafka timestamp
   * of the oldest record of partition p fetched and not yet confirmed (undefined: none). Partitions
   * left out are forgotten.
   */
  update(offsets: readonly PartitionOffsets[], now: number, oldestUnconfirmed: (partition: number) => number | undefined): PartitionLag[] {
    const keep = new Set(offsets.map((o) => o.partition));
    for (const p of [...this.seen.keys()]) if (!keep.has(p)) this.seen.delete(p);
    return offsets.map((o) => {
      const end = BigInt(o.endOffset);
      const start = BigInt(o.startOffset);
      const hasCommit = /^\d+$/.test(o.committedOffset);
      // A committed offset below the log start (records deleted by retention) reads from the start.
      const committed = hasCommit && BigInt(o.committedOffset) > start ? BigInt(o.committedOffset) : start;
      const consumed = o.consumedOffset !== undefined && /^\d+$/.test(o.consumedOffset) ? BigInt(o.consumedOffset) : -1n;
      const position = consumed > committed ? (consumed < end ? consumed : end) : committed;
      const records = end > position ? Number(end - position) : 0;
      if (records === 0) {
        this.seen.delete(o.partition);
        return { partition: o.partition, records: 0, seconds: 0, committedOffset: Number(committed) };
      }
      let seen = this.seen.get(o.partition);
      if (seen === undefined || seen.committed !== position) {
        seen = { committed: position, behindSince: now };
        this.seen.set(o.partition, seen);
      }
      const held = oldestUnconfirmed(o.partition);
      const since = held !== undefined && Number.isFinite(held) && held >= 0 ? held : seen.behindSince;
      return { partition: o.partition, records, seconds: Math.max(0, (now - since) / 1000), committedOffset: Number(committed) };
    });
  }
}
