import type { Admin, Kafka } from 'kafkajs';
import { ConsumerLag, type PartitionLag, type PartitionOffsets } from '../../pipeline/state/consumer-lag.js';

/** The two admin calls the monitor makes (kafkajs `Admin`, or a fake in unit tests). */
export type LagAdmin = Pick<Admin, 'connect' | 'disconnect' | 'fetchTopicOffsets' | 'fetchOffsets'>;

export interface LagMonitorOptions {
  groupId: string;
  topic: string;
  /** LAG_REFRESH_MS: how often the broker is asked. */
  intervalMs: number;
  /** Partitions this process owns now: only those are reported (another pod reports the rest). */
  owned: () => readonly number[];
  /** Kafka timestamp of the oldest fetched, unconfirmed record of a partition (undefined: none). */
  oldestUnconfirmed: (partition: number) => number | undefined;
  /** The stage's own position: the high watermark of its last fetch once all of it is confirmed (undefined: unknown). */
  consumedThrough?: (partition: number) => string | undefined;
  onLag: (rows: PartitionLag[]) => void;
  onError: (err: unknown) => void;
  now?: () => number;
}

/**
 * Lag read from the broker on a timer, whatever the stage is doing: the topic's end and start
 * offsets (ListOffsets) against the group's committed offsets (OffsetFetch), for the partitions
 * this process owns. A hung consumer keeps its committed offset while the end offset moves on, so
 * its lag rises although it commits nothing. One admin connection per monitor, kept open; a
 * refresh still running when the timer fires again is not doubled. Failures go to `onError` and
 * the next tick tries again.
 */
export class LagMonitor {
  private readonly lag = new ConsumerLag();
  private timer: NodeJS.Timeout | undefined;
  private connected: Promise<void> | undefined;
  private running: Promise<PartitionLag[]> | undefined;

  constructor(
    private readonly admin: LagAdmin,
    private readonly options: LagMonitorOptions,
  ) {}

  static forKafka(kafka: Kafka, options: LagMonitorOptions): LagMonitor {
    return new LagMonitor(kafka.admin(), options);
  }

  /** Reads now and then every `intervalMs` (idempotent). */
  start(): void {
    if (this.timer) return;
    void this.refresh().catch(this.options.onError);
    this.timer = setInterval(() => void this.refresh().catch(this.options.onError), this.options.intervalMs);
    this.timer.unref();
  }

  /** One reading now (also what the timer runs): the rows reported to `onLag`. */
  refresh(): Promise<PartitionLag[]> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    if (this.connected) {
      this.connected = undefined;
      await this.admin.disconnect().catch(() => undefined);
    }
  }

  private async read(): Promise<PartitionLag[]> {
    const owned = new Set(this.options.owned());
    if (owned.size === 0) return [];
    this.connected ??= this.admin.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    await this.connected;
    const { topic, groupId } = this.options;
    const [ends, groups] = await Promise.all([this.admin.fetchTopicOffsets(topic), this.admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committed = new Map((groups.find((g) => g.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]));
    const offsets: PartitionOffsets[] = ends
      .filter((e) => owned.has(e.partition))
      .map((e): PartitionOffsets => {
        const consumed = this.options.consumedThrough?.(e.partition);
        return { partition: e.partition, endOffset: e.high, startOffset: e.low, committedOffset: committed.get(e.partition) ?? '-1', ...(consumed !== undefined && { consumedOffset: consumed }) };
      });
    const rows = this.lag.update(offsets, (this.options.now ?? Date.now)(), this.options.oldestUnconfirmed);
    this.options.onLag(rows);
    return rows;
  }
}
