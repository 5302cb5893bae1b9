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
 *   - now − the Kafka timestamp of the oldest record the stage holds unconfirmed in that partition,
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

/**
 * Per partition, the Kafka timestamps of records fetched and not yet confirmed (committed or, for
 * a transactional stage, resolved after its transaction committed), in offset order. Offsets are
 * added ascending; a record fetched again (after an abandoned batch) is not added twice. The head
 * of each partition is its oldest unconfirmed record: `oldest` drives the per-stage gauge
 * aura_oldest_unconfirmed_record_age_seconds and the lag in seconds.
 */
export class UnconfirmedRecords {
  private readonly partitions = new Map<number, { offsets: bigint[]; timestamps: number[]; head: number; last: bigint; highWatermark: string | undefined }>();

  /** A fetched batch's records, and the partition's high watermark that fetch reported. */
  fetched(partition: number, records: ReadonlyArray<{ offset: string; timestamp: string }>, highWatermark?: string): void {
    let p = this.partitions.get(partition);
    if (p === undefined) {
      p = { offsets: [], timestamps: [], head: 0, last: -1n, highWatermark: undefined };
      this.partitions.set(partition, p);
    }
    if (highWatermark !== undefined) p.highWatermark = highWatermark;
    for (const r of records) {
      const offset = BigInt(r.offset);
      if (offset <= p.last) continue;
      p.last = offset;
      p.offsets.push(offset);
      p.timestamps.push(Number(r.timestamp));
    }
  }

  /** Records of `partition` below `nextOffset` (Kafka's "next offset to read") are confirmed. */
  confirmed(partition: number, nextOffset: string): void {
    const p = this.partitions.get(partition);
    if (p === undefined) return;
    const next = BigInt(nextOffset);
    while (p.head < p.offsets.length && p.offsets[p.head]! < next) p.head += 1;
    // Drop the confirmed prefix now and then, not on every call (shifting is O(n)).
    if (p.head > 1024 && p.head * 2 > p.offsets.length) {
      p.offsets.splice(0, p.head);
      p.timestamps.splice(0, p.head);
      p.head = 0;
    }
  }

  /**
   * The high watermark of the partition's last fetch when every record fetched so far is confirmed
   * (the stage has consumed up to there), else undefined.
   */
  consumedThrough(partition: number): string | undefined {
    const p = this.partitions.get(partition);
    return p !== undefined && p.head === p.offsets.length ? p.highWatermark : undefined;
  }

  /** Forgets every partition (a rebalance: the next owner reads from the committed offsets). */
  clear(): void {
    this.partitions.clear();
  }

  /** Kafka timestamp of the oldest unconfirmed record of one partition, or of all; undefined: none. */
  oldest(partition?: number): number | undefined {
    let min: number | undefined;
    for (const [n, p] of this.partitions) {
      if (partition !== undefined && n !== partition) continue;
      const ts = p.timestamps[p.head];
      if (ts !== undefined && Number.isFinite(ts) && ts >= 0 && (min === undefined || ts < min)) min = ts;
    }
    return min;
  }

  /** Unconfirmed records held, over all partitions. */
  get size(): number {
    let n = 0;
    for (const p of this.partitions.values()) n += p.offsets.length - p.head;
    return n;
  }
}
