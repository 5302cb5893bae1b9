import { gzipSync } from 'node:zlib';
import kafkajs, { type Admin, type Message, type RecordMetadata, type TopicMessages } from 'kafkajs';
import type { OutRecord, WrittenOffsets } from '../../ports.js';
import { batchBudget, recordBytes, splitByBytes } from '../../pipeline/index.js';
import { DLQ_HEADERS } from '../../pipeline/domain/dead-letter.js';

// kafkajs is CommonJS: Node's ESM loader only sees the names its static analysis finds.
const { CompressionTypes, ConfigResourceTypes } = kafkajs;
type CompressionTypes = kafkajs.CompressionTypes;

/** Kafka's default `max.message.bytes` (1 MiB + 12), used for a topic whose limit was not read. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Reads `max.message.bytes` of `topics` (the effective value: topic override or broker default). */
export async function readMaxMessageBytes(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const unique = [...new Set(topics)];
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: unique.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
  });
  const limits = new Map<string, number>();
  for (const r of resources) {
    const value = Number(r.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    if (Number.isSafeInteger(value) && value > 0) limits.set(r.resourceName, value);
  }
  return limits;
}

/** Header set on a dead letter whose original value (and headers) had to be dropped to fit the DLQ. */
export const DLQ_DROPPED_HEADER = 'aura.error.dropped_bytes';

export interface ProduceLimitsOptions {
  /** `max.message.bytes` per topic; others get DEFAULT_MAX_MESSAGE_BYTES. */
  maxMessageBytes: Map<string, number>;
  /** Largest produce request (sum of its records), PRODUCE_REQUEST_MAX_BYTES. */
  maxRequestBytes: number;
  /** Topics whose records are sent GZIP-compressed (the changelog). */
  compressed?: ReadonlySet<string>;
  /** Dead-letter topics: a record too large for them keeps its error headers and loses its value. */
  deadLetterTopics?: ReadonlySet<string>;
}

export interface ProduceRequest {
  topicMessages: TopicMessages[];
  compression: CompressionTypes;
  /** The records of the request, in order (for the offsets they got). */
  records: OutRecord[];
}

/**
 * The broker's limits for one producer: which record can never be written (`oversize`), and how
 * a write is cut into produce requests the broker accepts (`requests`; see splitByBytes).
 */
export class ProduceLimits {
  private readonly compressed: ReadonlySet<string>;
  private readonly deadLetterTopics: ReadonlySet<string>;

  constructor(private readonly options: ProduceLimitsOptions) {
    this.compressed = options.compressed ?? new Set();
    this.deadLetterTopics = options.deadLetterTopics ?? new Set();
  }

  maxMessageBytes(topic: string): number {
    return this.options.maxMessageBytes.get(topic) ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** The largest batch of one record `topic` takes: its max.message.bytes, bounded by the request size. */
  maxRecordBytes(topic: string): number {
    return Math.min(this.maxMessageBytes(topic), this.options.maxRequestBytes);
  }

  /** Why `record` cannot be written even alone in its batch, or undefined when it fits. */
  oversize(record: OutRecord): string | undefined {
    const limit = Math.min(this.maxMessageBytes(record.topic), this.options.maxRequestBytes);
    const budget = batchBudget(limit);
    let size = recordBytes(record);
    if (size <= budget) return undefined;
    let how = '';
    if (this.compressed.has(record.topic) && record.value !== null) {
      // A batch of one compresses the record's framing, key, headers and value together; the
      // value dominates, and gzip's own header and trailer are inside recordBytes' framing slack.
      size = recordBytes({ ...record, value: gzipSync(record.value) });
      how = ' after GZIP';
      if (size <= budget) return undefined;
    }
    const which = limit === this.options.maxRequestBytes ? `PRODUCE_REQUEST_MAX_BYTES ${limit}` : `max.message.bytes ${limit} of topic ${record.topic}`;
    return `a record of ${size} bytes${how} exceeds ${which}`;
  }

  /**
   * A dead letter that cannot fit its topic keeps key and error headers and drops its value and
   * original headers, recording how many bytes were dropped: the DLQ still says what failed and
   * where (topic, partition, offset), the record itself stays in its input topic.
   */
  fitDeadLetter(record: OutRecord): OutRecord {
    if (!this.deadLetterTopics.has(record.topic) || this.oversize(record) === undefined) return record;
    const headers: Record<string, Buffer | string> = {};
    for (const name of Object.values(DLQ_HEADERS)) {
      const v = record.headers?.[name];
      if (v !== undefined) headers[name] = v;
    }
    headers[DLQ_DROPPED_HEADER] = String(recordBytes(record));
    const key = record.key !== null && recordBytes({ key: record.key, value: null }) > 1024 ? null : record.key;
    return { topic: record.topic, key, value: null, headers };
  }

  /** `records` as produce requests to send one after another: uncompressed topics, then compressed ones. */
  requests(records: readonly OutRecord[]): ProduceRequest[] {
    const fitted = this.deadLetterTopics.size > 0 ? records.map((r) => this.fitDeadLetter(r)) : records;
    const plain = fitted.filter((r) => !this.compressed.has(r.topic));
    const packed = fitted.filter((r) => this.compressed.has(r.topic));
    const split = (list: OutRecord[], compression: CompressionTypes): ProduceRequest[] =>
      splitByBytes(list, { maxMessageBytes: (t) => this.maxMessageBytes(t), maxRequestBytes: this.options.maxRequestBytes }).map((group) => ({
        topicMessages: toTopicMessages(group),
        compression,
        records: group,
      }));
    return [...split(plain, CompressionTypes.None), ...split(packed, CompressionTypes.GZIP)];
  }
}

export function toTopicMessages(records: readonly OutRecord[]): TopicMessages[] {
  const by = new Map<string, Message[]>();
  for (const r of records) {
    const m: Message = { key: r.key, value: r.value };
    if (r.partition !== undefined) m.partition = r.partition;
    if (r.headers) m.headers = r.headers;
    const list = by.get(r.topic);
    if (list) list.push(m);
    else by.set(r.topic, [m]);
  }
  return [...by].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * The last offset written per topic-partition that records were sent to *explicitly* (the
 * changelog), over requests sent in order: base offset + records of that request there - 1, the
 * latest request winning. Key-partitioned records are not reported.
 */
export function lastOffsets(sent: ReadonlyArray<{ records: readonly OutRecord[]; meta: readonly RecordMetadata[] }>): WrittenOffsets {
  const last = new Map<string, WrittenOffsets[number]>();
  for (const { records, meta } of sent) {
    for (const m of meta) {
      const count = records.filter((r) => r.topic === m.topicName && r.partition === m.partition).length;
      if (count === 0 || m.baseOffset === undefined) continue;
      last.set(`${m.topicName}:${m.partition}`, { topic: m.topicName, partition: m.partition, lastOffset: (BigInt(m.baseOffset) + BigInt(count) - 1n).toString() });
    }
  }
  return [...last.values()];
}
