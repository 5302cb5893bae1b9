import type { Observable } from 'rxjs';
import type { ContextErased, ErasureCompleted } from './contracts/erasure.js';
import type { UserRecord } from './contracts/events.js';
import type { IndexVersion } from './contracts/index-version.js';
import type { ContextAggregated, ContextVectorized } from './contracts/snapshot.js';
import type { UserWindow, WindowEntry } from './contracts/window.js';

/**
 * The ports a topology is handed. Adapters in src/adapters implement them; tests swap in fakes.
 * Nothing here imports a client library.
 */

/** A record as read from Kafka. Offsets are decimal strings (int64). */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp, epoch ms as a decimal string. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | undefined>;
}

/** A record to write. `partition` set = explicit partition (changelog); unset = key partitioner. */
export interface OutRecord {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | null;
  partition?: number;
  headers?: Record<string, Buffer | string>;
}

/** A run of records of one partition handed to a stage; the source waits for the handler before the next. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  records: SourceRecord[];
  /** Partition high watermark when fetched (for lag). */
  highWatermark: string;
  /** Keeps group membership alive during long work. */
  heartbeat(): Promise<void>;
  /** Marks records up to `offset` as processed (committed): a failure later in the batch resumes after it. */
  resolve(offset: string): void;
  /** True once the partition was revoked or the source is stopping: abandon without committing. */
  isStale(): boolean;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Consumer-group backed source of partition batches, in order per partition. */
export interface RecordSource {
  /**
   * Joins the group and starts delivering batches. The handler's promise gates the next batch of
   * that partition; when it rejects, the batch is delivered again (from the last processed offset).
   */
  start(handler: (batch: PartitionBatch) => Promise<void>): Promise<void>;
  /** Partitions assigned after each join (eager protocol: every join may change all of them). */
  readonly assignment$: Observable<TopicPartition[]>;
  /** A consumer failure the client gave up on: the stage must stop. */
  readonly failure$: Observable<Error>;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** Commits `offset` (the next offset to read) per partition, outside any transaction. */
  commit(offsets: Array<TopicPartition & { offset: string }>): Promise<void>;
  stop(): Promise<void>;
}

/** Per topic-partition written to with an explicit partition (the changelog): the last offset written there. */
export type WrittenOffsets = Array<TopicPartition & { lastOffset: string }>;

/** Writes one partition batch's results atomically (exactly-once) or in order (at-least-once). */
export interface BatchWriter {
  /**
   * Makes the partition ready: in exactly-once mode initialises its transactional producer (which
   * fences a previous owner and aborts its open transaction).
   */
  claim(topic: string, partition: number): Promise<void>;
  release(topic: string, partition: number): Promise<void>;
  /**
   * Writes `records` and commits the consumed `nextOffset` for (topic, partition), atomically in
   * exactly-once mode. Returns the offsets the records got, in the order given.
   */
  write(input: TopicPartition & { nextOffset: string }, records: OutRecord[]): Promise<WrittenOffsets>;
  /**
   * Why `record` can never be written (alone in its batch it still exceeds its topic's
   * `max.message.bytes`, after compression where the topic's records are compressed), or undefined
   * when it fits. The stage dead-letters the input behind such a record (RECORD_TOO_LARGE) instead
   * of failing the write. Absent = no limit known.
   */
  oversize?(record: OutRecord): string | undefined;
  /** The largest record `topic` accepts alone in a batch (before compression); absent = unknown. */
  maxRecordBytes?(topic: string): number;
  close(): Promise<void>;
}

/** Bytes ↔ domain records for the aggregate stage (Avro through the registry; JSON changelog). */
export interface AggregateCodec {
  /** Throws AuraError: poison codes for bad records, REGISTRY_UNAVAILABLE when it cannot tell. */
  decodeEvent(value: Buffer | null): Promise<UserRecord>;
  encodeSnapshot(snapshot: ContextAggregated): Buffer;
  /** The erasure marker, on the aggregated topic next to the snapshots. */
  encodeErased(marker: ContextErased): Buffer;
  encodeWindow(window: UserWindow): Buffer;
  decodeWindow(value: Buffer): UserWindow;
  /** One window entry, encoded alone: a window re-encodes from its entries' cached parts. */
  encodeEntry(entry: WindowEntry): string;
  /** Equal to `encodeWindow` of the window whose entries encode to `entries`. */
  encodeWindowParts(userId: string, end: number, entries: readonly string[]): Buffer;
}

/** A record of the aggregated topic: a snapshot, or an erasure marker of the user. */
export type AggregatedRecord = { kind: 'snapshot'; snapshot: ContextAggregated } | { kind: 'erasure'; erasure: ContextErased };

/** Bytes ↔ domain records for the vectorize stage. */
export interface VectorizeCodec {
  /**
   * By the writer schema's record name: ContextAggregated or ContextErased. Throws AuraError:
   * poison codes (any other record type too), REGISTRY_UNAVAILABLE when it cannot tell.
   */
  decodeAggregated(value: Buffer | null): Promise<AggregatedRecord>;
  encodeVectorized(record: ContextVectorized): Buffer;
  encodeErasureCompleted(record: ErasureCompleted): Buffer;
}

/** Plain (non-transactional, idempotent) writes, acknowledged by all in-sync replicas. */
export interface RecordWriter {
  send(records: OutRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The aggregate stage's window store: LMDB as a cache of the changelog. Values are the encoded
 * windows, byte for byte the changelog record values (AggregateCodec.encodeWindow), so a restore
 * copies changelog values in without decoding them.
 */
export interface WindowStore {
  get(userId: string): Buffer | undefined;
  /**
   * Applies the states after their transaction committed (null = delete), together with the
   * changelog checkpoint (next changelog offset to restore from) of `changelogPartition` and, when
   * given, the input partition's stream time (same number: the changelog is co-partitioned), atomically.
   */
  apply(changelogPartition: number, states: Map<string, Buffer | null>, checkpoint: string, streamTime?: StreamTime): void;
  /** Next changelog offset to restore from; '0' when the partition was never seen. */
  checkpoint(changelogPartition: number): string;
  /** The stream time last applied for the input partition; undefined when none was (a new or rebuilt store). */
  streamTime(partition: number): StreamTime | undefined;
  /**
   * Users of `partition` (by their changelog partition) whose stored window ends before `before`
   * (epoch ms), oldest window end first; lazy, read without scanning the other users.
   */
  expiring(partition: number, before: number): Iterable<{ userId: string; end: number }>;
  close(): Promise<void>;
}

/**
 * Stream time of an input partition (as in Kafka Streams): the largest Kafka record timestamp
 * (epoch ms) of the partition's processed records, and the offset of the record that set it.
 */
export interface StreamTime {
  time: number;
  offset: string;
  /**
   * Erasure requests accepted on the partition within ERASURE_MAX_AGE_MS of stream time: request
   * id (UserDeleted.event_id) → requested_at. Kept with the stream time (LMDB, same write as the
   * windows) so a replayed request is refused after a restart too; pruned as stream time moves.
   */
  erasures?: Record<string, number>;
}

/** Reads a changelog partition from an offset to its end (read_committed). */
export interface ChangelogReader {
  /**
   * Replays each partition from `fromOffset` to the end seen at the start of the call, in offset
   * order, handing records to `apply`; returns per partition the records read and the next offset.
   */
  restore(
    partitions: Array<{ partition: number; fromOffset: string }>,
    apply: (partition: number, records: SourceRecord[]) => void,
    heartbeat?: () => Promise<void>,
  ): Promise<Map<number, { records: number; nextOffset: string }>>;
}

export interface EmbedderInfo {
  /** e.g. `Xenova/all-MiniLM-L6-v2` or the local folder's id. */
  modelId: string;
  /** Content version of the model (hash of the ONNX file). */
  modelVersion: string;
  /**
   * sha256 (hex) of the model folder's manifest in canonical form: files, pooling, query prefix,
   * normalisation. Two embedders with equal hashes give equal vectors for equal texts; part of
   * the embedding cache key and of every point's payload.
   */
  manifestSha256: string;
  /** Text prepended to a query by `embedQueries` (empty for models that take none). */
  queryPrefix: string;
  dimension: number;
}

/** Texts to vectors as the model's manifest says (pooling, normalisation). Never returns zero or random vectors. */
export interface Embedder extends EmbedderInfo {
  /** Documents (the stored texts): embedded as they are. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Questions: embedded with `queryPrefix` in front, so an asymmetric model sees them as queries. */
  embedQueries(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** A text of one user: the unit the embedding cache stores, so a user's entries can be erased. */
export interface UserText {
  userId: string;
  text: string;
}

/** Size-bounded cache of vectors keyed by (user, hash(model id + version, text)). */
export interface EmbeddingCache {
  getMany(keys: UserText[]): Array<Float32Array | undefined>;
  /** An entry already present keeps its vector. */
  putMany(entries: Array<UserText & { vector: Float32Array }>): Promise<void>;
  /** Removes every entry of the user (all model versions); returns how many were removed. */
  deleteUser(userId: string): Promise<number>;
  readonly hits: number;
  readonly misses: number;
  close(): Promise<void>;
}

/**
 * Payload stored with every point (both stores carry the same fields, LanceDB as columns): the
 * snapshot's statistics as fields, so filters and hybrid queries can use them, plus its text, its
 * plain-language facts (src/pipeline/domain/snapshot-facts.ts), the model, and where it came from.
 */
export interface PointPayload {
  user_id: string;
  /** UTC date of window_end, YYYY-MM-DD. */
  day: string;
  window_end: number;
  window_start: number;
  window_days: number;
  snapshot_id: string;
  trigger_event_id: string;
  event_count: number;
  text: string;
  mood_count: number;
  /** Mean score (very_low 1 .. excellent 5) of the moods with a known level; null when none. */
  mood_mean: number | null;
  mood_stddev: number | null;
  mood_min: number | null;
  mood_max: number | null;
  mood_trend_per_day: number | null;
  mood_latest: string | null;
  /** Moods per level, every level present (MOOD_DISTRIBUTION_KEYS). */
  mood_distribution: Record<string, number>;
  /** `low` | `mixed` | `good`; null without a scored mood. */
  mood_level: string | null;
  /** `better` | `worse` | `steady`; null with fewer than 3 scored moods. */
  mood_direction: string | null;
  /** The mood went up and down (sd ≥ 1 over ≥ 3 scored moods). */
  mood_variable: boolean;
  activity_sessions: number;
  activity_minutes: number;
  /** Minutes per activity type, every type present (ACTIVITY_TYPE_KEYS). */
  minutes_by_type: Record<string, number>;
  /** Minutes per intensity, every intensity present (INTENSITY_KEYS). */
  minutes_by_intensity: Record<string, number>;
  active_days: number;
  streak_days: number;
  /** The type with ≥ 50 % of the minutes, or null. */
  main_activity: string | null;
  /** `gentle` | `moderate` | `hard` | `mixed`; null without activity of known intensity. */
  intensity: string | null;
  /** Tags by the number of moods carrying them, most first (up to 5). */
  top_tags: Array<{ tag: string; count: number }>;
  /** Recurring themes from tags and notes, most mentioned first (up to 3). */
  themes: string[];
  /** Up to 3 newest notes, newest first. */
  recent_notes: string[];
  aggregator_version: string;
  /** The embedding model's id (folder name for a local model). */
  model_id: string;
  /** First 16 hex digits of the model's ONNX sha256. */
  model_version: string;
  /** EmbedderInfo.manifestSha256 of the model that made the vector (files, pooling, query prefix); '' when not recorded. */
  manifest_sha256: string;
  /** Version of the renderer that wrote `text` (TEXT_VERSION); with the model, the index version. */
  text_version: number;
  snapshot_topic: string;
  snapshot_partition: number;
  snapshot_offset: number;
  event_partition: number;
  event_offset: number;
}

export interface VectorPoint {
  /** UUID string (UUIDv5 of user and day). */
  id: string;
  vector: Float32Array;
  payload: PointPayload;
}

export interface SearchHit {
  id: string;
  score: number;
  payload: PointPayload;
}

/**
 * One condition on a payload field (src/query/fields.ts lists the fields, their types and the
 * operators each allows; src/query validates a condition before a store sees it). `field` is a
 * payload key or a dotted path into a map (`minutes_by_type.cardio`). A condition on a missing or
 * null value is false, except `ne`, which such a value satisfies (as Qdrant's must_not does).
 * - `eq`, `ne`: equal / not equal (keyword, number, boolean).
 * - `gt`, `gte`, `lt`, `lte`: numeric comparisons.
 * - `in`: the value is one of `value` (an array); on an array field: any element is.
 * - `contains`: an array field holds `value`.
 */
export interface FieldCondition {
  field: string;
  op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'contains';
  value: string | number | boolean | Array<string | number>;
}

/** Order of a structured query: by a numeric payload field; points where it is null are left out. */
export interface OrderBy {
  field: string;
  direction: 'asc' | 'desc';
}

/** Non-zero dimensions of a sparse vector: indices ascending and distinct, one value each. */
export interface SparseVector {
  indices: number[];
  values: number[];
}

/**
 * How a search ranks: `dense` by the cosine of the query's vector; `sparse` by words (BM25 with
 * IDF over the collection: Qdrant's sparse vector, LanceDB's full-text index); `hybrid` both,
 * fused by reciprocal rank fusion (score = Σ 1/(RRF_K + rank), ranks from 0), with the filters
 * applied inside each of the two.
 */
export type RetrievalMode = 'dense' | 'sparse' | 'hybrid';

/** A search: filters, how many, and for `sparse`/`hybrid` the query's own words. */
export interface SearchOptions extends PointFilter {
  limit: number;
  /** `dense` when absent. */
  mode?: RetrievalMode;
  /** The query text; required by `sparse` and `hybrid`. */
  text?: string;
}

/** Filters of a search or scroll; every one is optional and they combine with AND. */
export interface PointFilter {
  userId?: string;
  /** Only points whose window ends at or after this instant (epoch ms). */
  sinceMs?: number;
  /** Only points whose window ends before this instant (epoch ms). */
  untilMs?: number;
  /** Conditions on payload fields, all of which must hold. */
  where?: FieldCondition[];
}

/** The write side of a vector store: what the vectorize stage needs. Upserts are idempotent by point id. */
export interface VectorWriter {
  readonly kind: 'qdrant' | 'lancedb';
  /** Human-readable location (URL or folder) for logs and /readyz. */
  readonly location: string;
  readonly collection: string;
  /**
   * Creates the collection (size/distance) and payload indexes when missing; checks the size when
   * present. With `version`: a new collection records it (Qdrant collection metadata `aura_index`,
   * a LanceDB version record), and an existing one whose recorded version differs is refused with
   * a CONFIG error, so vectors of two models never share a collection.
   */
  ensureCollection(dimension: number, version?: IndexVersion): Promise<void>;
  /** Returns only after the store confirms the write. The last point of an id wins. */
  upsert(points: VectorPoint[]): Promise<void>;
  /**
   * Deletes the user's points: all of them (`before` undefined), or those whose window_end is
   * earlier than `before` (epoch ms, retention). Resolves after the store confirmed the delete, with
   * the number of matching points counted just before it (0 when they are already gone: idempotent).
   */
  deleteUser(userId: string, before?: number): Promise<number>;
  /** Deletes the points of these ids (absent ones are ignored); resolves after the store confirmed. */
  deleteIds(ids: string[]): Promise<void>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The read side: search for the CLI and agents; scroll and count for tests, oracles and the demo summary. */
export interface VectorReader {
  readonly kind: 'qdrant' | 'lancedb';
  readonly location: string;
  readonly collection: string;
  /**
   * Best matches first, ties by id; score = cosine similarity (`dense`), BM25 (`sparse`) or the
   * RRF sum (`hybrid`). `sparse`/`hybrid` without `text` → INTERNAL error; on a collection made
   * before hybrid retrieval (no sparse vector or full-text index) → CONFIG error naming the fix.
   */
  search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]>;
  /**
   * Structured query without a vector: the points matching the filter, ordered by `orderBy` (ties
   * by id), at most `limit`. A Qdrant collection needs a payload index on the ordered field
   * (ensureCollection creates one for every orderable field of src/query/fields.ts).
   */
  find(options: PointFilter & { orderBy: OrderBy; limit: number }): Promise<Array<{ id: string; payload: PointPayload }>>;
  /** Every stored point matching the filter; ordered by id. */
  scroll(options?: PointFilter): Promise<Array<{ id: string; payload: PointPayload; vector?: Float32Array }>>;
  count(): Promise<number>;
  /** Which of `ids` are stored now (in no particular order). */
  existing(ids: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Both sides, as each adapter implements them. */
export interface VectorSink extends VectorWriter, VectorReader {
  readonly kind: 'qdrant' | 'lancedb';
  readonly location: string;
  readonly collection: string;
  close(): Promise<void>;
}

/** One physical collection behind an alias, as `aura-stream index status` lists it. */
export interface IndexCollection {
  collection: string;
  /** Recorded version; undefined for an unversioned (legacy) collection or one without a record. */
  version: IndexVersion | undefined;
  points: number;
}

/**
 * The versions of one index and the alias readers use (docs/reindex.md). The sink the catalog is
 * on is named after the alias (`VECTOR_COLLECTION`); every other method takes physical names.
 */
export interface IndexCatalog {
  readonly alias: string;
  /** The physical collection the alias points to; undefined when there is no alias. */
  aliasTarget(): Promise<string | undefined>;
  /** True when a real collection carries the alias's name: a deployment from before versions. */
  hasLegacy(): Promise<boolean>;
  /** The alias's physical collections (versions, and a legacy one), with recorded version and points. */
  collections(): Promise<IndexCollection[]>;
  /** The version recorded for `collection`; undefined when it records none or does not exist. */
  recordedVersion(collection: string): Promise<IndexVersion | undefined>;
  /**
   * Points the alias at `collection` in one atomic step: a reader resolves the old or the new
   * target, never none. A legacy collection of the alias's name is replaced (Qdrant: deleted
   * right before the alias is created, the one non-atomic case, see docs/reindex.md).
   */
  setAlias(collection: string): Promise<void>;
  /** Deletes a physical collection and its version record (idempotent). */
  drop(collection: string): Promise<void>;
  /** A sink on one physical collection of the same store. */
  open(collection: string): VectorSink & IndexCatalog;
}
