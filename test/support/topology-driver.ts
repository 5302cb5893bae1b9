// An in-process driver for the aggregate topology (like Kafka Streams' TopologyTestDriver): no
// broker, no LMDB. An in-memory log stands for Kafka (topics, partitions, offsets, group offsets);
// the fakes implement the same ports the Kafka and LMDB adapters do. Not a test file.
import { TEST_ERASURE_KEY } from './erasure-records.js';
import { createHash } from 'node:crypto';
import { ReplaySubject, Subject } from 'rxjs';
import { MockClient } from '@confluentinc/schemaregistry/dist/mock-schemaregistry-client.js';
import type { Message } from 'kafkajs';
import { AvroSerde } from '../../src/adapters/avro-serde.js';
import { createAggregateCodec, windowEndOf } from '../../src/adapters/codecs.js';
import { recordEncoder } from '../../src/workload/index.js';
import { AuraError } from '../../src/errors.js';
import type {
  AggregateCodec,
  BatchWriter,
  ChangelogReader,
  OutRecord,
  PartitionBatch,
  RecordSource,
  SourceRecord,
  StreamTime,
  TopicPartition,
  WindowStore,
  WrittenOffsets,
} from '../../src/ports.js';
import type { GeneratedRecord } from '../../src/workload/index.js';
import { aggregateTopology, type AggregateEvent, type AggregateTopologyConfig } from '../../topology/aggregate.js';

/** What happened, in order, across the fakes: proves e.g. claim → restore → write per partition. */
export type DriverOp =
  | { op: 'claim' | 'release'; partition: number }
  | { op: 'restore'; partition: number; fromOffset: string; records: number }
  | { op: 'write'; partition: number; nextOffset: string; records: number }
  | { op: 'deliver'; partition: number; firstOffset: string; count: number }
  | { op: 'nack'; partition: number; error: string };

/** Stable key partitioner (any stable function will do: no broker to agree with). */
export function partitionOf(key: Buffer | string | null, partitions: number): number {
  if (key === null) return 0;
  return createHash('md5').update(key).digest().readUInt32BE(0) % partitions;
}

function toBuffer(v: Buffer | string): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
}

/** Topics → partitions → records, and committed group offsets: the broker, in memory. */
export class MemoryLog {
  private readonly topics = new Map<string, SourceRecord[][]>();
  private readonly offsets = new Map<string, number>();
  readonly ops: DriverOp[] = [];

  create(topic: string, partitions: number): void {
    if (!this.topics.has(topic)) this.topics.set(topic, Array.from({ length: partitions }, () => []));
  }

  partitions(topic: string): number {
    return this.topic(topic).length;
  }

  private topic(topic: string): SourceRecord[][] {
    const t = this.topics.get(topic);
    if (!t) throw new Error(`no topic ${topic} in the memory log`);
    return t;
  }

  append(topic: string, partition: number, r: { key: Buffer | string | null; value: Buffer | null; headers?: Record<string, Buffer | string | undefined>; timestamp: string }): string {
    const part = this.topic(topic)[partition];
    if (!part) throw new Error(`no partition ${topic}[${partition}]`);
    const headers: Record<string, Buffer | undefined> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) if (v !== undefined) headers[k] = toBuffer(v);
    const offset = String(part.length);
    part.push({ topic, partition, offset, timestamp: r.timestamp, key: r.key === null ? null : toBuffer(r.key), value: r.value, headers });
    return offset;
  }

  end(topic: string, partition: number): number {
    return this.topic(topic)[partition]?.length ?? 0;
  }

  read(topic: string, partition: number, from: number, max = Infinity): SourceRecord[] {
    return (this.topic(topic)[partition] ?? []).slice(from, from + max);
  }

  /** Every record of `topic`, partition by partition, in offset order. */
  records(topic: string): SourceRecord[] {
    return this.topic(topic).flat();
  }

  commit(groupId: string, topic: string, partition: number, nextOffset: number): void {
    this.offsets.set(`${groupId}|${topic}|${partition}`, nextOffset);
  }

  committed(groupId: string, topic: string, partition: number): number {
    return this.offsets.get(`${groupId}|${topic}|${partition}`) ?? 0;
  }
}

/**
 * The consumer group, in memory: one member owning every partition. Each partition is delivered in
 * batches of `maxBatch` from the group's committed offset, strictly in order; the next batch waits
 * for the handler; a rejected handler gets the batch again from the last resolved offset (kafkajs
 * `eachBatch` without auto-resolve).
 */
export class MemoryRecordSource implements RecordSource {
  readonly assignment$ = new ReplaySubject<TopicPartition[]>(1);
  readonly failure$ = new Subject<Error>();
  private stopped = false;
  private loops: Promise<void> = Promise.resolve();
  readonly commits: Array<TopicPartition & { offset: string }> = [];

  constructor(
    private readonly log: MemoryLog,
    private readonly options: { topic: string; groupId: string; maxBatch: number; maxRedeliveries?: number },
  ) {}

  async start(handler: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    const { topic } = this.options;
    const partitions = Array.from({ length: this.log.partitions(topic) }, (_, partition) => ({ topic, partition }));
    this.assignment$.next(partitions);
    this.loops = Promise.all(partitions.map((p) => this.loop(p.partition, handler))).then(() => undefined);
  }

  /** Resolves when every partition is drained (or the source stopped). */
  drained(): Promise<void> {
    return this.loops;
  }

  private async loop(partition: number, handler: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    const { topic, groupId, maxBatch } = this.options;
    let position = this.log.committed(groupId, topic, partition);
    let redeliveries = 0;
    while (!this.stopped && position < this.log.end(topic, partition)) {
      const records = this.log.read(topic, partition, position, maxBatch);
      let resolved: string | undefined;
      this.log.ops.push({ op: 'deliver', partition, firstOffset: records[0]!.offset, count: records.length });
      const batch: PartitionBatch = {
        topic,
        partition,
        records,
        highWatermark: String(this.log.end(topic, partition)),
        heartbeat: async () => undefined,
        resolve: (offset) => {
          resolved = offset;
        },
        isStale: () => this.stopped,
      };
      try {
        await handler(batch);
      } catch (err) {
        this.log.ops.push({ op: 'nack', partition, error: (err as Error).message });
        if (++redeliveries > (this.options.maxRedeliveries ?? 10)) {
          this.failure$.next(new Error(`partition ${partition} redelivered more than ${this.options.maxRedeliveries ?? 10} times: ${(err as Error).message}`));
          return;
        }
      }
      if (resolved !== undefined) position = Number(resolved) + 1;
      else if (!this.stopped) await new Promise((r) => setTimeout(r, 1));
    }
  }

  pause(): void {}
  resume(): void {}

  async commit(offsets: Array<TopicPartition & { offset: string }>): Promise<void> {
    for (const o of offsets) {
      this.commits.push(o);
      this.log.commit(this.options.groupId, o.topic, o.partition, Number(o.offset));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}

/** A fault the writer injects at its n-th write call (1-based). */
export interface WriterFault {
  atWrite: number;
  /** `before-commit`: nothing lands (an aborted transaction); `after-commit`: it all landed, then the call failed (ambiguous commit). */
  mode: 'before-commit' | 'after-commit';
  error?: AuraError;
}

export interface MemoryTransaction {
  input: TopicPartition & { nextOffset: string };
  records: Array<OutRecord & { partition: number; offset: string }>;
}

/**
 * Exactly-once writer, in memory: a write appends all its records and commits the consumed offset
 * atomically (or nothing, for a `before-commit` fault). Unclaimed partitions are refused, and a
 * failed write drops the claim, like the transactional adapter.
 */
export class MemoryBatchWriter implements BatchWriter {
  private readonly claimed = new Set<string>();
  readonly transactions: MemoryTransaction[] = [];
  private writes = 0;

  constructor(
    private readonly log: MemoryLog,
    private readonly options: { groupId: string; faults?: WriterFault[]; afterWrite?: (n: number) => void },
  ) {}

  async claim(topic: string, partition: number): Promise<void> {
    this.claimed.add(`${topic}:${partition}`);
    this.log.ops.push({ op: 'claim', partition });
  }

  async release(topic: string, partition: number): Promise<void> {
    this.claimed.delete(`${topic}:${partition}`);
    this.log.ops.push({ op: 'release', partition });
  }

  async write(input: TopicPartition & { nextOffset: string }, records: OutRecord[]): Promise<WrittenOffsets> {
    const n = ++this.writes;
    if (!this.claimed.has(`${input.topic}:${input.partition}`)) throw new AuraError('INTERNAL', `partition ${input.partition} written before it was claimed`);
    const fault = this.options.faults?.find((f) => f.atWrite === n);
    const fail = async () => {
      await this.release(input.topic, input.partition);
      throw fault!.error ?? new AuraError('BROKER_UNAVAILABLE', `injected fault at write ${n} (${fault!.mode})`);
    };
    if (fault?.mode === 'before-commit') return fail();
    const tx: MemoryTransaction = { input, records: [] };
    const written = new Map<string, TopicPartition & { lastOffset: string }>();
    for (const r of records) {
      const partition = r.partition ?? partitionOf(r.key, this.log.partitions(r.topic));
      const offset = this.log.append(r.topic, partition, { key: r.key, value: r.value, headers: r.headers ?? {}, timestamp: '0' });
      tx.records.push({ ...r, partition, offset });
      if (r.partition !== undefined) written.set(`${r.topic}:${partition}`, { topic: r.topic, partition, lastOffset: offset });
    }
    this.log.commit(this.options.groupId, input.topic, input.partition, Number(input.nextOffset));
    this.transactions.push(tx);
    this.log.ops.push({ op: 'write', partition: input.partition, nextOffset: input.nextOffset, records: records.length });
    if (fault?.mode === 'after-commit') return fail();
    this.options.afterWrite?.(n);
    return [...written.values()];
  }

  async close(): Promise<void> {
    this.claimed.clear();
  }
}

/** Replays the in-memory changelog from a checkpoint to its end. */
export class MemoryChangelogReader implements ChangelogReader {
  constructor(
    private readonly log: MemoryLog,
    private readonly topic: string,
  ) {}

  async restore(partitions: Array<{ partition: number; fromOffset: string }>, apply: (partition: number, records: SourceRecord[]) => void) {
    const result = new Map<number, { records: number; nextOffset: string }>();
    for (const { partition, fromOffset } of partitions) {
      const end = this.log.end(this.topic, partition);
      const records = this.log.read(this.topic, partition, Number(fromOffset));
      // Handed over in pieces, like fetched batches.
      for (let i = 0; i < records.length; i += 64) apply(partition, records.slice(i, i + 64));
      this.log.ops.push({ op: 'restore', partition, fromOffset, records: records.length });
      result.set(partition, { records: records.length, nextOffset: String(Math.max(end, Number(fromOffset))) });
    }
    return result;
  }
}

/** The LMDB store's contract, in memory (encoded windows, copied in and out, like a real store). */
export class MemoryWindowStore implements WindowStore {
  readonly windows = new Map<string, Buffer>();
  readonly checkpoints = new Map<number, string>();
  readonly streamTimes = new Map<number, StreamTime>();
  /** The changelog partition of each stored user (what the LMDB store's index is keyed by). */
  readonly partitionOf = new Map<string, number>();

  get(userId: string): Buffer | undefined {
    const w = this.windows.get(userId);
    return w === undefined ? undefined : Buffer.from(w);
  }

  apply(changelogPartition: number, states: Map<string, Buffer | null>, checkpoint: string, streamTime?: StreamTime): void {
    for (const [userId, state] of states) {
      if (state === null) {
        this.windows.delete(userId);
        this.partitionOf.delete(userId);
      } else {
        this.windows.set(userId, Buffer.from(state));
        this.partitionOf.set(userId, changelogPartition);
      }
    }
    if (streamTime) this.streamTimes.set(changelogPartition, { ...streamTime });
    this.checkpoints.set(changelogPartition, checkpoint);
  }

  streamTime(partition: number): StreamTime | undefined {
    return this.streamTimes.get(partition);
  }

  /** A scan in place of the index: same answer, oldest window end first (ties by user id). */
  expiring(partition: number, before: number): Iterable<{ userId: string; end: number }> {
    return [...this.windows]
      .filter(([u]) => this.partitionOf.get(u) === partition)
      .map(([userId, value]) => ({ userId, end: windowEndOf(value) }))
      .filter((w) => w.end < before)
      .sort((a, b) => a.end - b.end || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }

  checkpoint(changelogPartition: number): string {
    return this.checkpoints.get(changelogPartition) ?? '0';
  }

  async close(): Promise<void> {}
}

/** An Avro serde on the confluent in-memory registry, with the real schemas/. */
export function mockSerde(): AvroSerde {
  return new AvroSerde(new MockClient({ baseURLs: ['mock://'] }));
}

export interface DriverConfig extends AggregateTopologyConfig {
  partitions: number;
  groupId: string;
}

export function driverConfig(overrides: Partial<DriverConfig> = {}): DriverConfig {
  return {
    inputTopic: 'aura360.user.events',
    outputTopic: 'aura360.context.aggregated',
    changelogTopic: 'aura-user-window-changelog',
    dlqTopic: 'aura360.user.events.dlq',
    windowDays: 7,
    maxEvents: 512,
    aggregatorVersion: '1.0.0',
    maxRecordsPerTransaction: 5000,
    maxBytesPerTransaction: 4_194_304,
    maxTransactionMs: 1000,
    cacheMaxUsers: 10_000,
    // Unbounded: the tests that bound it say so.
    cacheMaxBytes: Number.POSITIVE_INFINITY,
    retentionDays: 0,
    retryInitialMs: 200,
    retryMaxMs: 10_000,
    erasureAuth: { key: TEST_ERASURE_KEY, maxAgeMs: 86_400_000 },
    partitions: 3,
    groupId: 'aura-aggregate',
    ...overrides,
  };
}

export interface RunResult {
  events: AggregateEvent[];
  source: MemoryRecordSource;
  writer: MemoryBatchWriter;
  /** The topology's error, when it failed instead of draining its input. */
  error?: unknown;
}

/**
 * Runs the aggregate topology over what the memory log holds, from the group's committed offsets to
 * the end of every input partition, and returns what it emitted. Each `run` is a fresh process
 * (new source, writer, changelog reader) over the same log; pass `store` to keep or replace the
 * window store between runs.
 */
export class TopologyDriver {
  readonly log = new MemoryLog();
  store = new MemoryWindowStore();

  private constructor(
    readonly config: DriverConfig,
    /** The serde behind the codec (decodes the output topic in tests). */
    readonly serde: AvroSerde,
    readonly codec: AggregateCodec,
    private readonly encode: (r: GeneratedRecord) => Message,
  ) {
    for (const t of [config.inputTopic, config.outputTopic, config.changelogTopic, config.dlqTopic]) this.log.create(t, config.partitions);
  }

  /** A driver with the stage's codec and `aura-stream produce`'s encoder on one mock registry. */
  static async create(config: DriverConfig = driverConfig(), serde: AvroSerde = mockSerde()): Promise<TopologyDriver> {
    const codec = await createAggregateCodec(serde, { input: config.inputTopic, output: config.outputTopic });
    const encode = await recordEncoder(serde, config.inputTopic);
    return new TopologyDriver(config, serde, codec, encode);
  }

  /** Appends generated records to the input topic (partition by key), encoded as the producer does. */
  pipeGenerated(records: Iterable<GeneratedRecord>, headers?: (r: GeneratedRecord) => Record<string, string>): void {
    for (const r of records) {
      const m = this.encode(r);
      this.pipe({ key: m.key as string | null, value: m.value as Buffer, headers: { ...(m.headers as Record<string, string>), ...(headers?.(r) ?? {}) }, timestamp: m.timestamp! });
    }
  }

  /** Appends one raw record to the input topic; returns where it landed. */
  pipe(r: { key: string | Buffer | null; value: Buffer | null; headers?: Record<string, string | Buffer>; timestamp: string; partition?: number }): { partition: number; offset: string } {
    const partition = r.partition ?? partitionOf(r.key, this.config.partitions);
    return { partition, offset: this.log.append(this.config.inputTopic, partition, r) };
  }

  input(): SourceRecord[] {
    return this.log.records(this.config.inputTopic);
  }

  async run(options: { maxBatch?: number; faults?: WriterFault[]; stopAfterWrites?: number; codec?: AggregateCodec; timeoutMs?: number } = {}): Promise<RunResult> {
    const { config } = this;
    const source = new MemoryRecordSource(this.log, { topic: config.inputTopic, groupId: config.groupId, maxBatch: options.maxBatch ?? 100 });
    const writer = new MemoryBatchWriter(this.log, {
      groupId: config.groupId,
      faults: options.faults ?? [],
      afterWrite: (n) => {
        if (options.stopAfterWrites !== undefined && n >= options.stopAfterWrites) void source.stop();
      },
    });
    const changelog = new MemoryChangelogReader(this.log, config.changelogTopic);
    const events: AggregateEvent[] = [];
    let error: unknown;
    let failed!: () => void;
    const failure = new Promise<void>((r) => (failed = r));
    const subscription = aggregateTopology({ source, writer, store: this.store, changelog, codec: options.codec ?? this.codec }, config).subscribe({
      next: (e) => events.push(e),
      error: (err: unknown) => {
        error = err;
        void source.stop();
        failed();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        source.drained(),
        failure,
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`topology did not drain its input within ${options.timeoutMs ?? 20_000} ms`)), options.timeoutMs ?? 20_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await source.stop();
      subscription.unsubscribe();
      await writer.close();
    }
    const result: RunResult = { events, source, writer };
    if (error !== undefined) result.error = error;
    return result;
  }
}
