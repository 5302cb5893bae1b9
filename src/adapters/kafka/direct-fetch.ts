import { createRequire } from 'node:module';
import type { Kafka, KafkaMessage } from 'kafkajs';

/**
 * Reading partitions without a consumer group, through kafkajs' cluster and broker objects.
 *
 * kafkajs (2.x) offers no manual partition assignment: its only public reader is a consumer group,
 * whose join, sync and offset fetch cost more than replaying a small changelog. Its cluster object
 * (metadata, leaders, ListOffsets) and broker object (`fetch`, documented in its source) are not part
 * of the typed API; the client keeps the factory under a symbol. `directFetchOf` returns undefined
 * when that factory is not there (another kafkajs), and the caller falls back to a consumer group.
 */

/** Messages as kafkajs' fetch decodes them: control records and aborted ones included. */
type RawMessage = KafkaMessage & { isControlRecord?: boolean };

interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  /** Read-committed end at the broker when it answered (fetch v4 and later). */
  lastStableOffset?: string;
  abortedTransactions: Array<{ producerId: string; firstOffset: string }>;
  messages: RawMessage[];
}

interface Broker {
  fetch(request: {
    replicaId?: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchedPartition[] }> }>;
}

interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<Broker>;
  fetchTopicsOffset(topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning: boolean }>): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

/** kafkajs' consumer batch: drops records of aborted transactions and control records (read_committed). */
interface BatchClass {
  new (topic: string, fetchedOffset: string, partition: FetchedPartition): { messages: KafkaMessage[]; messagesWithinOffset: RawMessage[] };
}

const require = createRequire(import.meta.url);
/** kafkajs' isolation level READ_COMMITTED. */
const READ_COMMITTED = 1;

/** What one fetch of one partition gave: committed records at or after the fetch offset, and where the next fetch starts. */
export interface PartitionFetch {
  messages: KafkaMessage[];
  /** Offset after the last record returned (control records included), or undefined when nothing at or after the fetch offset came back. */
  next: bigint | undefined;
  /** The partition's read-committed end when the broker answered (its high watermark before fetch v4), undefined when the partition was missing from the answer. */
  stableEnd: bigint | undefined;
}

/** A connection that reads partitions by offset, read_committed. */
export interface DirectFetch {
  /** Read-committed end offsets (last stable offset) of `partitions`. */
  endOffsets(topic: string, partitions: number[]): Promise<Map<number, bigint>>;
  /**
   * One fetch of one partition from `offset` (alone in its request, so a record batch larger than
   * `maxBytes` still comes back whole: the broker always returns the first batch of the first partition).
   */
  fetch(topic: string, partition: number, offset: bigint, maxBytes: number, maxWaitMs: number): Promise<PartitionFetch>;
  /** Refreshes leaders after a leadership error. */
  refresh(): Promise<void>;
  disconnect(): Promise<void>;
}

/** A direct reader on `kafka`'s connection settings, or undefined when this kafkajs does not expose its cluster factory. */
export async function directFetchOf(kafka: Kafka, topic: string): Promise<DirectFetch | undefined> {
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = factory === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function') return undefined;
  let Batch: BatchClass;
  try {
    Batch = require('kafkajs/src/consumer/batch.js') as BatchClass;
  } catch {
    return undefined;
  }
  const cluster = (create as (options: Record<string, unknown>) => Cluster).call(kafka, { allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
  } catch (err) {
    await cluster.disconnect().catch(() => undefined);
    throw err;
  }

  const leaderOf = async (t: string, partition: number): Promise<Broker> => {
    const byLeader = cluster.findLeaderForPartitions(t, [partition]);
    const nodeId = Object.keys(byLeader)[0];
    if (nodeId === undefined) throw Object.assign(new Error(`no leader known for ${t}[${partition}]`), { retriable: true, type: 'LEADER_NOT_AVAILABLE' });
    return cluster.findBroker({ nodeId });
  };

  // kafkajs opens a broker's fetch connection on the broker's first fetch, and two first fetches at
  // once each open one: the socket of the first is then orphaned, never closed by disconnect (it
  // held test processes open until the broker's idle timeout). A broker's first fetch goes alone.
  const firstFetch = new Map<Broker, Promise<unknown>>();

  return {
    async endOffsets(t, partitions) {
      const [offsets] = await cluster.fetchTopicsOffset([{ topic: t, partitions: partitions.map((partition) => ({ partition })), fromBeginning: false }]);
      return new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    },
    async fetch(t, partition, offset, maxBytes, maxWaitMs) {
      const broker = await leaderOf(t, partition);
      const fetchOffset = offset.toString();
      const first = firstFetch.get(broker);
      if (first) await first.catch(() => undefined);
      const request = broker.fetch({
        isolationLevel: READ_COMMITTED,
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes,
        topics: [{ topic: t, partitions: [{ partition, fetchOffset, maxBytes }] }],
      });
      if (!first) firstFetch.set(broker, request);
      const { responses } = await request;
      const data = responses.find((r) => r.topicName === t)?.partitions.find((p) => p.partition === partition);
      if (!data) return { messages: [], next: undefined, stableEnd: undefined };
      const batch = new Batch(t, fetchOffset, data);
      const within = batch.messagesWithinOffset;
      const last = within[within.length - 1];
      return { messages: batch.messages, next: last === undefined ? undefined : BigInt(last.offset) + 1n, stableEnd: BigInt(data.lastStableOffset ?? data.highWatermark) };
    },
    refresh: () => cluster.refreshMetadata(),
    disconnect: () => cluster.disconnect(),
  };
}

/**
 * The offset of the next committed data record of `partition` at or after `from`, as a
 * read_committed consumer positioned at `from` would meet it; `end` when there is none before
 * `end`. Transaction markers (commit/abort control records) and records of aborted transactions
 * occupy offsets but are never delivered, so a group whose committed offset is followed only by
 * them has consumed everything: this is the position it has actually reached. Stops early
 * (returning how far it got) when the broker returns nothing more readable (an open transaction
 * holds the rest back) or after `maxFetches` fetches of `maxBytes` each.
 */
export async function nextDataOffset(reader: Pick<DirectFetch, 'fetch'>, topic: string, partition: number, from: bigint, end: bigint, options: { maxFetches?: number; maxBytes?: number } = {}): Promise<bigint> {
  let at = from;
  for (let i = 0; i < (options.maxFetches ?? 4) && at < end; i++) {
    const r = await reader.fetch(topic, partition, at, options.maxBytes ?? 65_536, 0);
    const first = r.messages[0];
    if (first !== undefined) return BigInt(first.offset) < end ? BigInt(first.offset) : end;
    if (r.next === undefined || r.next <= at) return at;
    at = r.next;
  }
  return at < end ? at : end;
}
