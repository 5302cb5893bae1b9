import { AuraError, classify } from '../../errors.js';
import type { BatchWriter, ChangelogReader, TopicPartition, WindowStore } from '../../ports.js';

export interface RestoreReport {
  partition: number;
  records: number;
  nextOffset: string;
  seconds: number;
}

/**
 * Ownership of input partitions by the aggregate stage. A partition is processed only once it is
 * *ready*: its writer claimed (in exactly-once mode this fences any previous owner and aborts its
 * open transaction) and its window state restored from the changelog checkpoint to the end.
 * Newly assigned partitions are made ready together (one changelog replay); a partition whose
 * write failed is made ready again before its batch is retried, since an ambiguous commit may
 * have landed. A fenced partition stays blocked until the next assignment names it again.
 */
export class PartitionGate {
  private readonly ready = new Map<number, Promise<void>>();
  private readonly fenced = new Set<number>();
  private assigned = new Set<number>();

  constructor(
    private readonly ports: { writer: BatchWriter; changelog: ChangelogReader; store: WindowStore },
    private readonly topic: string,
    private readonly onRestored: (report: RestoreReport) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new assignment: release what was lost, start making the new partitions ready (returned). */
  assign(partitions: TopicPartition[]): number[] {
    const next = new Set(partitions.filter((p) => p.topic === this.topic).map((p) => p.partition));
    for (const p of this.assigned) {
      if (!next.has(p)) {
        this.ready.delete(p);
        void this.ports.writer.release(this.topic, p);
      }
    }
    this.fenced.clear();
    const fresh = [...next].filter((p) => !this.ready.has(p));
    this.assigned = next;
    if (fresh.length > 0) this.prepare(fresh);
    return fresh;
  }

  /** Resolves when `partition` may be processed; heartbeats while waiting. */
  async whenReady(partition: number, heartbeat: () => Promise<void>): Promise<void> {
    if (this.fenced.has(partition)) {
      throw new AuraError('FENCED', `partition ${this.topic}[${partition}] was taken over by another instance; waiting for the next rebalance`);
    }
    if (!this.ready.has(partition)) this.prepare([partition]);
    const p = this.ready.get(partition)!;
    const timer = setInterval(() => void heartbeat().catch(() => undefined), 3000);
    try {
      await p;
    } finally {
      clearInterval(timer);
    }
  }

  /** After a failed write: the next batch must claim and restore again. */
  invalidate(partition: number, error: AuraError): void {
    this.ready.delete(partition);
    if (error.code === 'FENCED') this.fenced.add(partition);
  }

  private prepare(partitions: number[]): void {
    const all = (async () => {
      await Promise.all(partitions.map((p) => this.ports.writer.claim(this.topic, p)));
      const started = this.now();
      const result = await this.ports.changelog.restore(
        partitions.map((p) => ({ partition: p, fromOffset: this.ports.store.checkpoint(p) })),
        (partition, records) => {
          // Changelog values are the store's values: copied in as they are, never decoded here.
          const states = new Map<string, Buffer | null>();
          for (const r of records) {
            if (!r.key) continue;
            states.set(r.key.toString('utf8'), r.value);
          }
          this.ports.store.apply(partition, states, (BigInt(records[records.length - 1]!.offset) + 1n).toString());
        },
      );
      for (const [partition, r] of result) {
        if (r.nextOffset !== this.ports.store.checkpoint(partition)) this.ports.store.apply(partition, new Map(), r.nextOffset);
        this.onRestored({ partition, records: r.records, nextOffset: r.nextOffset, seconds: (this.now() - started) / 1000 });
      }
    })();
    for (const p of partitions) {
      const mine = all.catch((err: unknown) => {
        if (this.ready.get(p) === mine) this.ready.delete(p);
        throw classify(err);
      });
      mine.catch(() => undefined);
      this.ready.set(p, mine);
    }
  }
}

