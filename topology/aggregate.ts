import { Observable, Subject, catchError, defer, map, merge, mergeMap, of, takeWhile, tap, type SchedulerLike } from 'rxjs';
import type { UserRecord } from '../src/contracts/events.js';
import { classify } from '../src/errors.js';
import type { AggregateCodec, BatchWriter, ChangelogReader, RecordSource, SourceRecord, WindowStore } from '../src/ports.js';
import { CacheBudget, PartitionGate, WindowCache, awaitReady, commitInOrder, commitTransaction, committedEvent, decodeRecords, foldWindows, loadWindowState, recordLimitsFor, stageRetry, toOutRecords, validateEvent, type AggregateEvent, type CommitOutcome, type ErasureAuth, type FoldedTransaction, type PartitionFold, type Retention, type TransactionLimits } from '../src/pipeline/index.js';
import { batches$, type BatchEnvelope } from './sources.js';
import type { TopologyStep } from './steps.js';

export const AGGREGATE_STAGE = 'aggregate';
export type { AggregateEvent };

/**
 * Everything the aggregate pipe is told, every field required: compiled once from the
 * configuration by `compileAggregateOptions` (src/cli/options.ts), where the defaults live
 * (src/config.ts); nothing here has a default of its own.
 */
export interface AggregateTopologyConfig {
  inputTopic: string;
  outputTopic: string;
  changelogTopic: string;
  dlqTopic: string;
  windowDays: number;
  maxEvents: number;
  aggregatorVersion: string;
  /** AGGREGATE_TX_MAX_RECORDS: input records per transaction. */
  maxRecordsPerTransaction: number;
  /** AGGREGATE_TX_MAX_BYTES: input plus changelog bytes per transaction. */
  maxBytesPerTransaction: number;
  /** AGGREGATE_TX_MAX_MS: folding time per transaction. */
  maxTransactionMs: number;
  /** AGGREGATE_CACHE_MAX_USERS: running windows kept per partition between transactions. */
  cacheMaxUsers: number;
  /** AGGREGATE_CACHE_MAX_BYTES: estimated heap bytes of the running windows of all partitions. */
  cacheMaxBytes: number;
  /**
   * STATE_RETENTION_DAYS: a user whose window ends this many days of stream time before the
   * partition's stream time is erased; at most `maxRecordsPerTransaction` users per transaction.
   * 0: off.
   */
  retentionDays: number;
  /** ERASURE_SIGNING_KEY / ERASURE_MAX_AGE_MS: who may erase, and the replay window (required: no default lets anyone erase). */
  erasureAuth: ErasureAuth;
  /** RETRY_INITIAL_MS / RETRY_MAX_MS: back-off of transient faults. */
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface AggregatePorts {
  source: RecordSource;
  writer: BatchWriter;
  store: WindowStore;
  changelog: ChangelogReader;
  codec: AggregateCodec;
  now?: () => number;
  scheduler?: SchedulerLike;
  random?: () => number;
}

/** The steps of the pipe below, in order (`aura-stream describe`, docs/pipeline.md and this comment). */
export const AGGREGATE_STEPS: readonly TopologyStep[] = [
  { name: 'source', describe: (n) => `${n.inputTopic}  (consumer group, read_committed; each partition in order, AGGREGATE_PARTITIONS_CONCURRENTLY at once)` },
  { name: 'awaitReady', describe: (n) => `claim the partition's transactional producer, restore ${n.changelogTopic}[p] from the LMDB checkpoint to its end` },
  { name: 'decodeRecords', describe: (n) => `Avro via the registry (MoodCreated | ActivityCreated | UserDeleted), then validate; poison → ${n.inputDlqTopic}` },
  { name: 'foldWindows', describe: () => 'running window per user: late | duplicate | accepted, evict by time and cap, statistics kept incrementally; UserDeleted drops the window (a later event starts a fresh one); an event whose window or snapshot could never be written → DLQ (RECORD_TOO_LARGE); cut into transactions by AGGREGATE_TX_MAX_RECORDS / _BYTES / _MS; then windows ending STATE_RETENTION_DAYS before the stream time expire (oldest first, at most AGGREGATE_TX_MAX_RECORDS)' },
  { name: 'commitInOrder', describe: () => 'one transaction after another; the next one folds while the previous commits' },
  { name: 'toOutRecords', describe: (n) => `snapshots and ContextErased markers in input order → ${n.aggregatedTopic}, final window per user (tombstone when erased) → ${n.changelogTopic}[p], poison → DLQ` },
  { name: 'commitTransaction', describe: () => 'records (cut into produce requests under each topic\'s max.message.bytes) + consumed offset in one transaction, then LMDB states, activity index, stream time + changelog checkpoint' },
  { name: 'stageRetry', describe: () => 'transient faults: new claim and restore, then the uncommitted rest again (RETRY_INITIAL_MS..RETRY_MAX_MS)' },
];

/**
 * Stage `aggregate`, top to bottom (the steps of AGGREGATE_STEPS):
 *
 *   source             consumer group, read_committed; each partition in order
 *   awaitReady         claim the transactional writer, restore the changelog to its end
 *   decodeRecords      Avro via the registry + validation; poison → DLQ record
 *   foldWindows        running windows (late / duplicate / accepted / erased), cut into transactions, retention expiries
 *   commitInOrder      transactions one after another, the next folded while one commits
 *   toOutRecords       snapshots + erasure markers → output, final window or tombstone per user → changelog[partition], DLQ
 *   commitTransaction  one transaction: records + consumed offset; then LMDB states + stream time + checkpoint
 *   stageRetry         transient faults: re-claim, restore, redo what is uncommitted
 */
export function aggregateTopology(ports: AggregatePorts, config: AggregateTopologyConfig): Observable<AggregateEvent> {
  const now = ports.now ?? Date.now;
  const snapshotConfig = { windowDays: config.windowDays, maxEvents: config.maxEvents, aggregatorVersion: config.aggregatorVersion };
  const limits: TransactionLimits = {
    maxRecords: config.maxRecordsPerTransaction,
    maxBytes: config.maxBytesPerTransaction,
    maxMs: config.maxTransactionMs,
  };
  const topics = { stage: AGGREGATE_STAGE, outputTopic: config.outputTopic, changelogTopic: config.changelogTopic, dlqTopic: config.dlqTopic };
  const decodeEvent = async (r: SourceRecord): Promise<UserRecord> => {
    const event = await ports.codec.decodeEvent(r.value);
    validateEvent(event, r.key === null ? null : r.key.toString('utf8'), Number(r.timestamp));
    return event;
  };

  return new Observable<AggregateEvent>((subscriber) => {
    const folds = new Map<number, PartitionFold>();
    const budget = new CacheBudget(config.cacheMaxBytes);
    const foldOf = (partition: number): PartitionFold => {
      let fold = folds.get(partition);
      if (!fold) {
        let tx = 0;
        fold = {
          cache: new WindowCache(config.cacheMaxUsers, budget),
          load: (userId) => {
            const stored = ports.store.get(userId);
            return stored === undefined ? undefined : loadWindowState(ports.codec.decodeWindow(stored), ports.codec.encodeEntry);
          },
          config: snapshotConfig,
          encodeEntry: ports.codec.encodeEntry,
          encodeWindowParts: ports.codec.encodeWindowParts,
          loadStreamTime: () => ports.store.streamTime(partition),
          erasureAuth: config.erasureAuth,
          nextTx: () => tx++,
          now,
        };
        const retentionDays = config.retentionDays;
        if (retentionDays > 0) {
          const retention: Retention = { retentionMs: retentionDays * 86_400_000, maxExpiries: limits.maxRecords, expiring: (before) => ports.store.expiring(partition, before) };
          fold.retention = retention;
        }
        const recordLimits = recordLimitsFor(ports.writer, { snapshot: ports.codec.encodeSnapshot, windowParts: ports.codec.encodeWindowParts }, { output: config.outputTopic, changelog: config.changelogTopic }, partition);
        if (recordLimits) fold.recordLimits = recordLimits;
        folds.set(partition, fold);
      }
      return fold;
    };
    const gate = new PartitionGate(ports, config.inputTopic, (r) => subscriber.next({ type: 'restored', ...r }), now);
    const assignments = ports.source.assignment$.subscribe((assigned) => {
      const restoring = gate.assign(assigned);
      // Running windows of a partition restored anew (or lost) may be ahead of its store.
      const kept = new Set(assigned.map((a) => a.partition));
      for (const [p, fold] of [...folds]) {
        if (!kept.has(p) || restoring.includes(p)) {
          fold.cache.clear(); // gives its bytes back to the shared budget
          folds.delete(p);
        }
      }
      subscriber.next({ type: 'assigned', partitions: assigned.map((a) => a.partition), restoring });
    });
    const work = batches$(ports.source)
      .pipe(mergeMap((envelope) => processBatch(envelope, gate, foldOf)))
      .subscribe(subscriber);
    return () => {
      assignments.unsubscribe();
      work.unsubscribe();
    };
  });

  function processBatch({ batch, ack, nack }: BatchEnvelope, gate: PartitionGate, foldOf: (partition: number) => PartitionFold): Observable<AggregateEvent> {
    const { partition } = batch;
    const retries = new Subject<AggregateEvent>();
    /** Records of the batch committed so far: a retry starts after them. */
    let done = 0;
    const commitDeps = () => ({ writer: ports.writer, store: ports.store, cache: foldOf(partition).cache, changelogTopic: config.changelogTopic, isStale: batch.isStale, now });

    const work = defer(() => of(batch)).pipe(
      awaitReady(gate),
      map((b) => b.records.slice(done)),
      decodeRecords(decodeEvent),
      foldWindows(foldOf, limits),
      commitInOrder((t: FoldedTransaction) => {
        const records = toOutRecords(t, { snapshot: ports.codec.encodeSnapshot, erased: ports.codec.encodeErased }, topics);
        return commitTransaction(t, records, commitDeps()).then((outcome) => settled(t, outcome));
      }),
      takeWhile((e) => e.type !== 'abandoned', true),
      stageRetry({
        initialMs: config.retryInitialMs,
        maxMs: config.retryMaxMs,
        onRetry: (error) => {
          gate.invalidate(partition, error);
          foldOf(partition).cache.clear();
          retries.next({ type: 'retrying', partition, error });
          void batch.heartbeat().catch(() => undefined);
        },
        ...(ports.scheduler && { scheduler: ports.scheduler }),
        ...(ports.random && { random: ports.random }),
      }),
      tap({
        complete: () => {
          retries.complete();
          ack();
        },
        error: (err: unknown) => {
          const e = classify(err);
          retries.complete();
          gate.invalidate(partition, e);
          foldOf(partition).cache.clear();
          nack(e);
        },
      }),
      catchError((err: unknown) => {
        const e = classify(err);
        // A fenced writer waits for the next assignment (redelivery); anything else stops the stage.
        if (e.action === 'reclaim') return of<AggregateEvent>({ type: 'retrying', partition, error: e });
        throw e;
      }),
    );
    return merge(retries, work);

    /** After a transaction: the committed event, or abandoned (its folds dropped). */
    function settled(t: FoldedTransaction, outcome: CommitOutcome): AggregateEvent {
      if (!outcome.committed) {
        foldOf(partition).cache.clear();
        return { type: 'abandoned', partition, reason: outcome.reason };
      }
      done += t.records.length;
      batch.resolve(t.records[t.records.length - 1]!.offset);
      // A fetched batch of heavy users takes many transactions: keep the group membership alive between them.
      void batch.heartbeat().catch(() => undefined);
      return committedEvent(t, outcome.at, batch.highWatermark);
    }
  }
}
