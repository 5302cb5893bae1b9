import type { Kafka, Message, Producer, RecordMetadata, TopicMessages } from 'kafkajs';
import { AuraError, classify } from '../../errors.js';
import type { BatchWriter, OutRecord, RecordSource, TopicPartition, WrittenOffsets } from '../../ports.js';
import type { Logger } from '../../logger.js';

function toTopicMessages(records: OutRecord[]): TopicMessages[] {
  const by = new Map<string, Message[]>();
  for (const r of records) {
    const m: Message = { key: r.key, value: r.value };
    if (r.partition !== undefined) m.partition = r.partition;
    if (r.headers) m.headers = r.headers;
    by.set(r.topic, [...(by.get(r.topic) ?? []), m]);
  }
  return [...by].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * The last offset written per topic-partition that records were sent to *explicitly* (the
 * changelog): base offset + records sent there - 1. Key-partitioned records are not reported.
 */
function lastOffsets(records: OutRecord[], meta: RecordMetadata[]): WrittenOffsets {
  return meta.flatMap((m) => {
    const count = records.filter((r) => r.topic === m.topicName && r.partition === m.partition).length;
    if (count === 0 || m.baseOffset === undefined) return [];
    return [{ topic: m.topicName, partition: m.partition, lastOffset: (BigInt(m.baseOffset) + BigInt(count) - 1n).toString() }];
  });
}

/**
 * Exactly-once writer: one transactional producer per assigned input partition, transactional id
 * `<applicationId>-<topic>-<partition>`. Initialising it (claim) fences a previous owner of the
 * partition and aborts its open transaction. Each `write` is one transaction holding the output,
 * changelog and DLQ records and the consumed offset (`sendOffsets`, next offset = last + 1).
 */
export class TransactionalBatchWriter implements BatchWriter {
  private readonly producers = new Map<string, Producer>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: { applicationId: string; groupId: string; transactionTimeoutMs?: number; logger: Logger },
  ) {}

  transactionalId(topic: string, partition: number): string {
    return `${this.options.applicationId}-${topic}-${partition}`;
  }

  async claim(topic: string, partition: number): Promise<void> {
    const key = `${topic}:${partition}`;
    if (this.producers.has(key)) return;
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId(topic, partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
    });
    try {
      await producer.connect();
      // Begin + abort of an empty transaction: runs InitProducerId now, which bumps the epoch
      // (fencing a zombie owner) and completes the abort of any transaction it left open.
      const tx = await producer.transaction();
      await tx.abort();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw classify(err);
    }
    this.producers.set(key, producer);
    this.options.logger.debug({ transactionalId: this.transactionalId(topic, partition) }, 'claimed partition');
  }

  async release(topic: string, partition: number): Promise<void> {
    const key = `${topic}:${partition}`;
    const p = this.producers.get(key);
    this.producers.delete(key);
    if (p) await p.disconnect().catch(() => undefined);
  }

  async write(input: TopicPartition & { nextOffset: string }, records: OutRecord[]): Promise<WrittenOffsets> {
    const producer = this.producers.get(`${input.topic}:${input.partition}`);
    if (!producer) throw new AuraError('INTERNAL', `partition ${input.topic}[${input.partition}] written before it was claimed`);
    const tx = await producer.transaction();
    try {
      const meta = records.length > 0 ? await tx.sendBatch({ topicMessages: toTopicMessages(records), acks: -1 }) : [];
      await tx.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic: input.topic, partitions: [{ partition: input.partition, offset: input.nextOffset }] }],
      });
      await tx.commit();
      return lastOffsets(records, meta);
    } catch (err) {
      await tx.abort().catch(() => undefined);
      // The producer's transaction state is unknown now: drop it; the next claim re-initialises it.
      await this.release(input.topic, input.partition);
      throw classify(err);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.values()].map((p) => p.disconnect().catch(() => undefined)));
    this.producers.clear();
  }
}

/**
 * At-least-once writer: one idempotent producer; records are acknowledged by all in-sync replicas,
 * then the consumed offset is committed through the group. A crash in between replays the batch;
 * event-id dedupe in the window absorbs the replay.
 */
export class AtLeastOnceBatchWriter implements BatchWriter {
  /** One connection shared by every partition; concurrent claims (one per assigned partition) wait for the same one. */
  private producer: Promise<Producer> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly source: Pick<RecordSource, 'commit'>,
  ) {}

  private connected(): Promise<Producer> {
    if (!this.producer) {
      const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      const connecting = p.connect().then(() => p);
      this.producer = connecting;
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined;
      });
    }
    return this.producer;
  }

  async claim(): Promise<void> {
    try {
      await this.connected();
    } catch (err) {
      throw classify(err);
    }
  }

  async release(): Promise<void> {}

  async write(input: TopicPartition & { nextOffset: string }, records: OutRecord[]): Promise<WrittenOffsets> {
    try {
      const producer = await this.connected();
      const meta = records.length > 0 ? await producer.sendBatch({ topicMessages: toTopicMessages(records), acks: -1 }) : [];
      await this.source.commit([{ topic: input.topic, partition: input.partition, offset: input.nextOffset }]);
      return lastOffsets(records, meta);
    } catch (err) {
      throw classify(err);
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.then((producer) => producer.disconnect()).catch(() => undefined);
  }
}

/** Idempotent producer for the vectorize stage's outputs and DLQ records. */
export class KafkaRecordWriter {
  /** One connection shared by concurrent senders; a failed connect is forgotten and retried. */
  private producer: Promise<Producer> | undefined;

  constructor(private readonly kafka: Kafka) {}

  async send(records: OutRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      this.producer ??= (async () => {
        const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
        await p.connect();
        return p;
      })().catch((err: unknown) => {
        this.producer = undefined;
        throw err;
      });
      const producer = await this.producer;
      await producer.sendBatch({ topicMessages: toTopicMessages(records), acks: -1 });
    } catch (err) {
      throw classify(err);
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await (await p.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}
