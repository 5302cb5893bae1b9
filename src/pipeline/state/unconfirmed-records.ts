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
