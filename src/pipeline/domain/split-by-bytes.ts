import type { OutRecord } from '../../ports.js';

/**
 * Cutting one write into produce requests that the broker accepts.
 *
 * kafkajs 2.2.4 puts every message of one partition of one request into a single record batch and
 * never splits it; the broker refuses a batch larger than the topic's `max.message.bytes` whole
 * ("message larger than the max message size"). A key-partitioned record's partition is only
 * known inside kafkajs, so the bound is kept per topic: all of a request's records of one topic,
 * even if they all hashed to one partition, fit one batch. A request as a whole also stays under
 * `maxRequestBytes` (the producer's request size).
 */

/** Record batch v2 header (baseOffset … recordCount), bytes. */
export const RECORD_BATCH_OVERHEAD_BYTES = 61;
/** Head room under a limit for what the estimate leaves out (request and topic framing). */
export const LIMIT_MARGIN_BYTES = 512;

function bytesOf(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

/**
 * Upper bound of a record's size inside a v2 record batch, uncompressed: its key, value and
 * headers plus the varint framing (length, attributes, timestamp and offset deltas, key, value
 * and header lengths; at most 41 bytes, and 10 per header).
 */
export function recordBytes(record: Pick<OutRecord, 'key' | 'value' | 'headers'>): number {
  let n = 41 + bytesOf(record.key) + bytesOf(record.value);
  for (const [k, v] of Object.entries(record.headers ?? {})) n += 10 + bytesOf(k) + bytesOf(v);
  return n;
}

/** Bytes of records a batch of `maxMessageBytes` holds once its header and margin are taken off. */
export function batchBudget(maxMessageBytes: number): number {
  return Math.max(0, maxMessageBytes - RECORD_BATCH_OVERHEAD_BYTES - LIMIT_MARGIN_BYTES);
}

export interface SplitOptions {
  /** The topic's `max.message.bytes`. */
  maxMessageBytes: (topic: string) => number;
  /** The producer's request size: the sum over a request's records stays at or under it. */
  maxRequestBytes: number;
}

/**
 * Splits `records` (in the order given) into consecutive requests such that, in each request,
 * the records of one topic fit one record batch of that topic and all records fit the request
 * size. Order is kept within every topic (and so within every partition): requests are meant to
 * be sent one after another. A record that alone exceeds a budget travels in a request of its
 * own; whether it can fit at all (e.g. compressed) is the caller's check, made before.
 */
export function splitByBytes(records: readonly OutRecord[], options: SplitOptions): OutRecord[][] {
  const requests: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let currentBytes = 0;
  let perTopic = new Map<string, number>();
  const requestBudget = batchBudget(options.maxRequestBytes);
  for (const record of records) {
    const size = recordBytes(record);
    const topicBytes = perTopic.get(record.topic) ?? 0;
    const fits = topicBytes + size <= batchBudget(options.maxMessageBytes(record.topic)) && currentBytes + size <= requestBudget;
    if (!fits && current.length > 0) {
      requests.push(current);
      current = [];
      currentBytes = 0;
      perTopic = new Map();
    }
    current.push(record);
    currentBytes += size;
    perTopic.set(record.topic, (perTopic.get(record.topic) ?? 0) + size);
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
