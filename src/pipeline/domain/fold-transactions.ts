import { RETENTION_REQUESTER, erasureSignatureValid, retentionErasureId, type ContextErased, type UserDeleted } from '../../contracts/erasure.js';
import type { SourcePosition, UserEvent, UserRecord } from '../../contracts/events.js';
import type { ContextAggregated } from '../../contracts/snapshot.js';
import { AuraError } from '../../errors.js';
import type { SourceRecord, StreamTime } from '../../ports.js';

import type { Decoded } from '../operators/decode-records.js';
import { offsetToNumber, snapshotOf, type SnapshotConfig } from './snapshot-of.js';
import { MAX_FUTURE_SKEW_MS } from './validate-event.js';
import type { WindowCache } from '../state/window-cache.js';
import { foldEvent, loadWindowState, statisticsOf, windowOf, type EntryEncoder, type WindowState } from './window-state.js';

/** What a fold did with its accepted input: counted per outcome. */
export interface AggregateCounters {
  accepted: number;
  late: number;
  duplicate: number;
}

/** When a transaction is cut: whichever limit is reached first (each ≥ 1 record per transaction). */
export interface TransactionLimits {
  /** Input records per transaction. */
  maxRecords: number;
  /**
   * Bytes per transaction: input records (key + value), the snapshots it writes (estimated from
   * their strings, which dominate the Avro body) and the encoded final windows it writes to the
   * changelog. Checked before each record, so a transaction exceeds it by at most one record's share.
   */
  maxBytes: number;
  /** Time spent folding one transaction's records; bounds how long its first snapshot waits for the commit. */
  maxMs: number;
}

/**
 * What a fold may write (RECORD_TOO_LARGE): an accepted event whose snapshot or new window could
 * never be written, even alone in its record batch, is dead-lettered instead and leaves the window
 * as it was. Checking a record exactly means encoding it (and compressing a changelog value), so
 * the fold checks only when an upper bound of the record's size passes `safeBytes`.
 */
export interface RecordLimits {
  /** Below this many bytes a snapshot or window record surely fits its topic (compression aside). */
  safeBytes: number;
  /** Why the changelog record of this window can never be written, or undefined. */
  windowTooLarge(userId: string, end: number, encoded: readonly string[]): string | undefined;
  /** Why the output record of this snapshot can never be written, or undefined. */
  snapshotTooLarge(snapshot: ContextAggregated): string | undefined;
}

/** Upper bound of an event's share of an encoded window, in UTF-16 units (JSON framing included). */
function entryChars(event: UserEvent): number {
  let n = 512 + event.event_id.length;
  if (event.type === 'MoodCreated') {
    n += event.note?.length ?? 0;
    for (const tag of event.tags) n += tag.length + 8;
  } else n += event.notes?.length ?? 0;
  return 2 * n;
}

/** One transaction's worth of folded input: what to write, and what to apply after the commit. */
export interface FoldedTransaction {
  /** Increasing per partition; names the transaction to the window cache. */
  tx: number;
  topic: string;
  partition: number;
  /** The consumed input records, in offset order. */
  records: SourceRecord[];
  /** Offset after the last record: committed with the transaction. */
  nextOffset: string;
  snapshots: Array<{ position: SourcePosition; occurredAt: number; snapshot: ContextAggregated }>;
  /**
   * Erasure markers, each written before the snapshot at index `at` of `snapshots` (after all of
   * them when `at` = its length): together they keep input order, so a user's marker follows the
   * user's earlier snapshots and precedes the snapshots of a fresh window after it.
   */
  erasures: Array<{ at: number; marker: ContextErased }>;
  /**
   * Encoded final window per user changed in this transaction, null for a user erased (and not
   * written to again after): the changelog values (null = tombstone) and, after the commit, the store's.
   */
  states: Map<string, Buffer | null>;
  /** The partition's stream time after this transaction's records; undefined while no record carried a timestamp. */
  streamTime: StreamTime | undefined;
  poison: Array<{ record: SourceRecord; poison: AuraError }>;
  /** Outcomes of the valid records; `erased` counts UserDeleted records (retention expiries are in `erasures` only). */
  counters: AggregateCounters & { erased: number };
  /** When folding started (ms, from the `now` handed in). */
  startedAt: number;
}

/**
 * Retention by stream time: a user whose window end (largest accepted occurred_at) lies before
 * `streamTime − retentionMs` is expired like an erased one (tombstone + ContextErased with cause
 * `retention`), at the end of a transaction of its partition, oldest window first, at most
 * `maxExpiries` per transaction (the rest in the next ones).
 */
export interface Retention {
  retentionMs: number;
  maxExpiries: number;
  /** The stored users of the partition whose window ends before `before`, oldest first (the store's index). */
  expiring: (before: number) => Iterable<{ userId: string; end: number }>;
}

/**
 * Who may erase (docs/erasure.md). A UserDeleted erases only when it carries a valid HMAC of
 * `key` (else ERASURE_UNAUTHORIZED), its requested_at is no older than `maxAgeMs` before the
 * partition's stream time, and its request id was not accepted before within that span (else
 * ERASURE_REPLAYED). Refused requests are dead-lettered and erase nothing.
 */
export interface ErasureAuth {
  /** ERASURE_SIGNING_KEY; undefined = no request can be valid (every UserDeleted is refused). */
  key: string | undefined;
  /** ERASURE_MAX_AGE_MS. */
  maxAgeMs: number;
}

/** What the fold of one partition needs besides the records. */
export interface PartitionFold {
  cache: WindowCache;
  /** The committed state of a user from the store, or undefined. */
  load: (userId: string) => WindowState | undefined;
  /** The committed stream time of the partition from the store, or undefined. */
  loadStreamTime: () => StreamTime | undefined;
  /** Absent = windows are kept until erased (STATE_RETENTION_DAYS=0). */
  retention?: Retention;
  /** How UserDeleted requests are authenticated and replays refused. */
  erasureAuth: ErasureAuth;
  config: SnapshotConfig;
  encodeEntry: EntryEncoder;
  encodeWindowParts: (userId: string, end: number, entries: readonly string[]) => Buffer;
  /** Next transaction number of the partition. */
  nextTx: () => number;
  /** The broker's limits on the records a fold writes; absent = none known (nothing is checked). */
  recordLimits?: RecordLimits;
  now: () => number;
}

/**
 * Folds decoded records of one partition (in offset order) into the partition's running windows
 * and cuts them into transactions by `limits`. Lazy: each transaction is folded when it is pulled,
 * so a consumer that starts committing one transaction before pulling the next folds the next
 * while the previous commits. Every record lands in exactly one transaction; poison records are
 * carried through to be dead-lettered in their transaction.
 *
 * A UserDeleted drops the user's window in its transaction: the cache holds "no window" for the
 * user (never reloaded from the store before the commit), the changelog gets a tombstone, and a
 * ContextErased marker (cause user_deleted) goes out after the user's earlier snapshots. Later
 * events of the user start a fresh window, in the same transaction or after. A user with no window
 * gets the marker and tombstone too (the vector store may still hold points of the user).
 * Every valid record's Kafka timestamp advances the stream time (poison does not), unless it lies
 * more than MAX_FUTURE_SKEW_MS (24 h) after `now()`.
 */
export function* foldTransactions(decoded: readonly Decoded<UserRecord>[], fold: PartitionFold, limits: TransactionLimits): Generator<FoldedTransaction> {
  let i = 0;
  while (i < decoded.length) {
    const first = decoded[i]!.record;
    const t: FoldedTransaction = {
      tx: fold.nextTx(),
      topic: first.topic,
      partition: first.partition,
      records: [],
      nextOffset: '',
      snapshots: [],
      erasures: [],
      states: new Map(),
      streamTime: undefined,
      poison: [],
      counters: { accepted: 0, late: 0, duplicate: 0, erased: 0 },
      startedAt: fold.now(),
    };
    const changed = new Map<string, WindowState | undefined>();
    const windowBytes = new Map<string, number>();
    let bytes = 0;
    /** Drops the user's window in this transaction and writes the marker after what came before it. */
    const erase = (marker: ContextErased) => {
      fold.cache.touch(marker.user_id, undefined, t.tx);
      changed.set(marker.user_id, undefined);
      bytes += markerBytes(marker) - (windowBytes.get(marker.user_id) ?? 0);
      windowBytes.delete(marker.user_id);
      t.erasures.push({ at: t.snapshots.length, marker });
    };
    /** Retention: the oldest stored windows ending before stream time − retention, checked against the running state. */
    const expire = (retention: Retention, stream: StreamTime) => {
      const before = stream.time - retention.retentionMs;
      let expired = 0;
      for (const { userId } of retention.expiring(before)) {
        if (expired >= retention.maxExpiries) break;
        // The running state decides: an in-flight transaction may have erased or renewed the window.
        const state = fold.cache.take(userId, fold.load);
        if (state === undefined || state.end >= before) continue;
        erase(retentionMarker(userId, before, stream, t.partition, fold.config.aggregatorVersion));
        expired += 1;
      }
    };
    while (i < decoded.length) {
      const d = decoded[i]!;
      const size = (d.record.key?.length ?? 0) + (d.record.value?.length ?? 0);
      if (t.records.length > 0 && (t.records.length >= limits.maxRecords || bytes + size > limits.maxBytes || fold.now() - t.startedAt >= limits.maxMs)) break;
      i += 1;
      bytes += size;
      t.records.push(d.record);
      if ('poison' in d) {
        t.poison.push({ record: d.record, poison: d.poison });
        continue;
      }
      const timestamp = Number(d.record.timestamp);
      // A producer with a wrong clock must not expire every user of the partition at once.
      if (timestamp <= fold.now() + MAX_FUTURE_SKEW_MS) fold.cache.advance(timestamp, d.record.offset, fold.loadStreamTime);
      if (d.value.type === 'UserDeleted') {
        const refused = refuseErasure(d.value, timestamp, fold);
        if (refused) {
          t.poison.push({ record: d.record, poison: refused });
          continue;
        }
        const marker = userDeletedMarker(d.value, d.record, fold.config.aggregatorVersion);
        erase(marker);
        t.counters.erased += 1;
        continue;
      }
      const event = d.value;
      const position: SourcePosition = { topic: d.record.topic, partition: d.record.partition, offset: d.record.offset, timestamp: Number(d.record.timestamp) };
      const before = fold.cache.take(event.user_id, fold.load);
      // Near a limit the event folds into a copy, so a window it would make unwritable stays as it was.
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      const guard = fold.recordLimits;
      const risky = guard !== undefined && 3 * ((before?.encodedLength ?? 0) + entryChars(event)) + 4096 > guard.safeBytes;
      const into = risky && before !== undefined ? loadWindowState(windowOf(before), fold.encodeEntry) : before;
      const { outcome, state } = foldEvent(into, event, offsetToNumber(d.record.offset), fold.config, fold.encodeEntry);
      if (outcome !== 'accepted') {
        t.counters[outcome] += 1;
        continue;
      }
      const snapshot = snapshotOf(statisticsOf(state), event, position, fold.config);
      if (risky) {
        const why = guard.windowTooLarge(event.user_id, state.end, state.encoded) ?? guard.snapshotTooLarge(snapshot);
        if (why !== undefined) {
          t.poison.push({ record: d.record, poison: new AuraError('RECORD_TOO_LARGE', why) });
          continue;
        }
      }
      t.counters.accepted += 1;
      fold.cache.touch(event.user_id, state, t.tx);
      bytes += state.encodedLength - (windowBytes.get(event.user_id) ?? 0);
      windowBytes.set(event.user_id, state.encodedLength);
      changed.set(event.user_id, state);
      bytes += snapshotBytes(snapshot);
      t.snapshots.push({ position, occurredAt: event.occurred_at, snapshot });
    }
    t.streamTime = fold.cache.streamTime(fold.loadStreamTime);
    if (fold.retention && t.streamTime) expire(fold.retention, t.streamTime);
    for (const [userId, state] of changed) t.states.set(userId, state === undefined ? null : fold.encodeWindowParts(userId, state.end, state.encoded));
    t.nextOffset = (BigInt(t.records[t.records.length - 1]!.offset) + 1n).toString();
    yield t;
  }
}

/**
 * Why a UserDeleted must not erase, or undefined when it may (and then its id is remembered).
 * Age is measured against the partition's stream time (the request's own record included), not
 * the wall clock: a replay of the input topic from its start meets each request at its own time
 * and honours it, while a copy produced later meets a later stream time.
 */
function refuseErasure(d: UserDeleted, timestamp: number, fold: PartitionFold): AuraError | undefined {
  const { key, maxAgeMs } = fold.erasureAuth;
  if (key === undefined) {
    return new AuraError('ERASURE_UNAUTHORIZED', 'UserDeleted refused: this aggregate stage has no ERASURE_SIGNING_KEY, so no erasure request can be verified. Fix: set ERASURE_SIGNING_KEY (or _FILE) on the stage and wherever `aura-stream erase` runs', { field: 'signature' });
  }
  if (!erasureSignatureValid(d, key)) {
    const what = d.signature === null || d.signature === undefined ? 'carries no signature' : 'carries a signature that does not match ERASURE_SIGNING_KEY';
    return new AuraError('ERASURE_UNAUTHORIZED', `UserDeleted refused: it ${what}; only \`aura-stream erase\` with the stage's ERASURE_SIGNING_KEY may erase. Nothing was erased`, { field: 'signature' });
  }
  const now = fold.cache.streamTime(fold.loadStreamTime)?.time ?? timestamp;
  const keepAfter = now - maxAgeMs;
  if (d.requested_at < keepAfter) {
    return new AuraError('ERASURE_REPLAYED', `UserDeleted refused: requested_at ${d.requested_at} is more than ERASURE_MAX_AGE_MS=${maxAgeMs} before the partition's stream time ${now}: a replayed or stale request. Nothing was erased; issue a new request with \`aura-stream erase\``, { field: 'requested_at' });
  }
  if (!fold.cache.acceptErasure(d.event_id, d.requested_at, keepAfter, fold.loadStreamTime)) {
    return new AuraError('ERASURE_REPLAYED', `UserDeleted refused: request ${d.event_id} was already carried out (a replay). Nothing was erased again`, { field: 'event_id' });
  }
  return undefined;
}

/** The marker of a UserDeleted record: erase everything of the user. */
function userDeletedMarker(d: UserDeleted, record: SourceRecord, aggregatorVersion: string): ContextErased {
  return {
    erasure_id: d.event_id,
    user_id: d.user_id,
    cause: 'user_deleted',
    requested_at: d.requested_at,
    before: null,
    trace_id: d.trace_id,
    event_partition: record.partition,
    event_offset: offsetToNumber(record.offset),
    aggregator_version: aggregatorVersion,
    requester: d.requester ?? null,
    reason: d.reason ?? null,
  };
}

/** The marker of a retention expiry at `stream`: erase what ended before `before`; named by the record that set the stream time. */
function retentionMarker(userId: string, before: number, stream: StreamTime, partition: number, aggregatorVersion: string): ContextErased {
  return {
    erasure_id: retentionErasureId(userId, before),
    user_id: userId,
    cause: 'retention',
    requested_at: stream.time,
    before,
    trace_id: null,
    event_partition: partition,
    event_offset: offsetToNumber(stream.offset),
    aggregator_version: aggregatorVersion,
    requester: RETENTION_REQUESTER,
    reason: `retention: no accepted event since ${new Date(before).toISOString()} of stream time (STATE_RETENTION_DAYS)`,
  };
}

/** Upper estimate of a marker's encoded size (plus its tombstone's key). */
function markerBytes(m: ContextErased): number {
  return 256 + 2 * m.user_id.length + (m.trace_id?.length ?? 0) + 2 * ((m.requester?.length ?? 0) + (m.reason?.length ?? 0));
}

/** Upper estimate of a snapshot's encoded size: its free-text strings plus a fixed allowance for ids, names, numbers and tags. */
function snapshotBytes(s: ContextAggregated): number {
  let n = 512 + s.text.length;
  for (const note of s.recent_notes) n += note.length;
  for (const t of s.mood.top_tags) n += t.tag.length;
  return n;
}

