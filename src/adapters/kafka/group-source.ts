import { ReplaySubject, Subject } from 'rxjs';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { PartitionBatch, RecordSource, SourceRecord, TopicPartition } from '../../ports.js';
import type { Logger } from '../../logger.js';
import { UnconfirmedRecords } from '../../pipeline/state/unconfirmed-records.js';
import { kafkaCall, kafkaError } from './errors.js';

export interface GroupSourceOptions {
  groupId: string;
  topic: string;
  /** Partitions processed concurrently by this process (each still strictly in order). */
  partitionsConsumedConcurrently: number;
  /** KAFKA_SESSION_TIMEOUT_MS: how long a dead member keeps its partitions. */
  sessionTimeoutMs: number;
  /** Bytes fetched per partition per request. */
  maxBytesPerPartition: number;
  logger: Logger;
  /** Called with the duration of each offset commit made through `commit` (metrics). */
  onCommit?: (seconds: number) => void;
  /**
   * What confirms a fetched record (for `unconfirmed`): `commit`, an offset commit through this
   * source (a stage that commits after its sink confirms), or `resolve`, a batch's `resolve`
   * (a stage that resolves only after its transaction committed). Default `commit`.
   */
  confirmedBy?: 'commit' | 'resolve';
}

function toSourceRecord(topic: string, partition: number, m: KafkaMessage): SourceRecord {
  const headers: Record<string, Buffer | undefined> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    headers[k] = one === undefined ? undefined : Buffer.isBuffer(one) ? one : Buffer.from(String(one));
  }
  return { topic, partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value ?? null, headers };
}

/**
 * kafkajs consumer-group source: read_committed, no auto-commit (offsets are committed by the stage,
 * in the transaction or after the sink confirms), `eachBatch` without auto-resolve so that an
 * abandoned or failed batch is fetched again.
 */
export class KafkaGroupSource implements RecordSource {
  /** Emits after every join, never before the first: a stage is not ready until it has joined the group. */
  readonly assignment$ = new ReplaySubject<TopicPartition[]>(1);
  readonly failure$ = new Subject<Error>();
  private consumer: Consumer | undefined;
  /** Records fetched and not yet confirmed, per partition (oldest-record age and lag in seconds). */
  readonly unconfirmed = new UnconfirmedRecords();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: GroupSourceOptions,
  ) {}

  async start(handler: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    const { groupId, topic, logger } = this.options;
    const consumer = this.kafka.consumer({
      groupId,
      readUncommitted: false,
      sessionTimeout: this.options.sessionTimeoutMs,
      // kafkajs wants heartbeats well inside the session: a third of it, at most every 3 s
      heartbeatInterval: Math.min(3000, Math.floor(this.options.sessionTimeoutMs / 3)),
      maxBytesPerPartition: this.options.maxBytesPerPartition,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = Object.entries(e.payload.memberAssignment).flatMap(([t, parts]) => parts.map((partition) => ({ topic: t, partition })));
      logger.info({ groupId, memberId: e.payload.memberId, isLeader: e.payload.isLeader, assigned }, 'joined consumer group');
      // Eager protocol: every partition is fetched again from its committed offset.
      this.unconfirmed.clear();
      this.assignment$.next(assigned);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
      if (!e.payload.restart) this.failure$.next(kafkaError(e.payload.error));
    });
    await kafkaCall(() => consumer.connect());
    await kafkaCall(() => consumer.subscribe({ topics: [topic], fromBeginning: true }));
    await kafkaCall(() => consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0) return;
        this.unconfirmed.fetched(batch.partition, batch.messages, batch.highWatermark);
        const byResolve = this.options.confirmedBy === 'resolve';
        await handler({
          topic: batch.topic,
          partition: batch.partition,
          records: batch.messages.map((m) => toSourceRecord(batch.topic, batch.partition, m)),
          highWatermark: batch.highWatermark,
          heartbeat,
          resolve: (offset) => {
            resolveOffset(offset);
            if (byResolve) this.unconfirmed.confirmed(batch.partition, (BigInt(offset) + 1n).toString());
          },
          isStale: () => !isRunning() || isStale(),
        });
        // Offsets are resolved by the handler (batch.resolve) only for what it committed; an
        // abandoned or failed remainder is fetched again.
        await heartbeat();
      },
    }));
  }

  pause(partitions: TopicPartition[]): void {
    this.consumer?.pause(groupByTopic(partitions));
  }

  resume(partitions: TopicPartition[]): void {
    this.consumer?.resume(groupByTopic(partitions));
  }

  async commit(offsets: Array<TopicPartition & { offset: string }>): Promise<void> {
    if (!this.consumer || offsets.length === 0) return;
    const started = process.hrtime.bigint();
    const consumer = this.consumer;
    await kafkaCall(() => consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset }))));
    for (const o of offsets) if (o.topic === this.options.topic) this.unconfirmed.confirmed(o.partition, o.offset);
    this.options.onCommit?.(Number(process.hrtime.bigint() - started) / 1e9);
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    if (c) await kafkaCall(() => c.disconnect());
    this.assignment$.complete();
    this.failure$.complete();
  }
}

function groupByTopic(partitions: TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const by = new Map<string, number[]>();
  for (const { topic, partition } of partitions) by.set(topic, [...(by.get(topic) ?? []), partition]);
  return [...by].map(([topic, parts]) => ({ topic, partitions: parts }));
}
