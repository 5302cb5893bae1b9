import type { Kafka, Producer, RecordMetadata, Transaction } from 'kafkajs';
import { AuraError } from '../../errors.js';
import { kafkaError } from './errors.js';
import type { BatchWriter, OutRecord, RecordSource, TopicPartition, WrittenOffsets } from '../../ports.js';
import type { Logger } from '../../logger.js';
import { type ProduceLimits, lastOffsets } from './produce-limits.js';

/**
 * Sends `records` as the produce requests `limits` cuts them into, one after another (never one
 * record batch above a topic's max.message.bytes), and returns the changelog offsets they got.
 */
async function sendWithin(limits: ProduceLimits, sender: Pick<Producer | Transaction, 'sendBatch'>, records: OutRecord[]): Promise<WrittenOffsets> {
  const sent: Array<{ records: OutRecord[]; meta: RecordMetadata[] }> = [];
  for (const request of limits.requests(records)) {
    const meta = await sender.sendBatch({ topicMessages: request.topicMessages, compression: request.compression, acks: -1 });
    sent.push({ records: request.records, meta });
  }
  return lastOffsets(sent);
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
    private readonly options: {
      applicationId: string;
      groupId: string;
      /** TRANSACTION_TIMEOUT_MS: the broker aborts a transaction left open this long. */
      transactionTimeoutMs: number;
      logger: Logger;
      /** The broker's limits, read at start (PRODUCE_REQUEST_MAX_BYTES and each topic's max.message.bytes). */
      limits: ProduceLimits;
      /** Called with the duration of each offsets-plus-commit step of a transaction (metrics). */
      onCommit?: (seconds: number) => void;
    },
  ) {}

  oversize(record: OutRecord): string | undefined {
    return this.options.limits.oversize(record);
  }

  maxRecordBytes(topic: string): number {
    return this.options.limits.maxRecordBytes(topic);
  }

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
      transactionTimeout: this.options.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      // The broker answers CONCURRENT_TRANSACTIONS to the next transaction's first send while it
      // still writes the previous one's markers (a few ms). kafkajs retries that with the client's
      // back-off (200 ms first), which left back-to-back transactions idle most of the time; the
      // Java producer uses 20 ms for this case. Same retry count, so the give-up time stays bounded.
      retry: { initialRetryTime: 20, retries: 12, maxRetryTime: 5000 },
    });
    try {
      await producer.connect();
      // Begin + abort of an empty transaction: runs InitProducerId now, which bumps the epoch
      // (fencing a zombie owner) and completes the abort of any transaction it left open.
      const tx = await producer.transaction();
      await tx.abort();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw kafkaError(err);
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
      // Several produce requests inside the one transaction: all commit or none.
      const written = await sendWithin(this.options.limits, tx, records);
      const committing = process.hrtime.bigint();
      await tx.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic: input.topic, partitions: [{ partition: input.partition, offset: input.nextOffset }] }],
      });
      await tx.commit();
      this.options.onCommit?.(Number(process.hrtime.bigint() - committing) / 1e9);
      return written;
    } catch (err) {
      await tx.abort().catch(() => undefined);
      // The producer's transaction state is unknown now: drop it; the next claim re-initialises it.
      await this.release(input.topic, input.partition);
      throw kafkaError(err);
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
    private readonly limits: ProduceLimits,
  ) {}

  oversize(record: OutRecord): string | undefined {
    return this.limits.oversize(record);
  }

  maxRecordBytes(topic: string): number {
    return this.limits.maxRecordBytes(topic);
  }

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
      throw kafkaError(err);
    }
  }

  async release(): Promise<void> {}

  async write(input: TopicPartition & { nextOffset: string }, records: OutRecord[]): Promise<WrittenOffsets> {
    try {
      const producer = await this.connected();
      // Every request acknowledged before the offset commit: a crash in between replays, never loses.
      const written = await sendWithin(this.limits, producer, records);
      await this.source.commit([{ topic: input.topic, partition: input.partition, offset: input.nextOffset }]);
      return written;
    } catch (err) {
      throw kafkaError(err);
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

  constructor(
    private readonly kafka: Kafka,
    private readonly limits: ProduceLimits,
  ) {}

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
      await sendWithin(this.limits, producer, records);
    } catch (err) {
      throw kafkaError(err);
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await (await p.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}
