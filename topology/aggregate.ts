import { Observable, defer, mergeMap, of, takeWhile, type SchedulerLike } from 'rxjs';
import type { UserRecord } from '../src/contracts/events.js';
import type { AggregateCodec, BatchWriter, ChangelogReader, RecordSource, SourceRecord, WindowStore } from '../src/ports.js';
import { CacheBudget, PartitionGate, PartitionTasks, awaitReady, commitInOrder, decodeRecords, foldWindows, settleBatch, stageRetry, validateEvent, type AggregateEvent, type ErasureAuth, type StageRetryOptions, type TaskRun, type TransactionLimits } from '../src/pipeline/index.js';
import { batches$, type BatchEnvelope } from './sources.js';
import { Pipe } from './steps.js';

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

/** What the steps of one batch's run are made from. */
interface BatchContext {
  run: TaskRun;
  envelope: BatchEnvelope;
  tasks: PartitionTasks;
  decodeEvent: (record: SourceRecord) => Promise<UserRecord>;
  limits: TransactionLimits;
  retry: StageRetryOptions;
}

/**
 * Stage `aggregate`: the consumer group feeds fetched batches, partitions side by side and each
 * partition in order; each batch runs through these operators (`aura-stream describe` and
 * docs/pipeline.md print this list). A PartitionTask (src/pipeline/state/partition-task.ts) owns
 * the partition's windows, claim, restore and invalidation.
 */
export const AGGREGATE_PIPE = Pipe.from<BatchContext, TaskRun>({
  name: 'source',
  describe: (n) => `${n.inputTopic}  (consumer group, read_committed; each partition in order, AGGREGATE_PARTITIONS_CONCURRENTLY at once)`,
})
  .then('awaitReady', (n) => `claim the partition's transactional producer, restore ${n.changelogTopic}[p] from the LMDB checkpoint to its end; then the batch's records not yet committed`, () => awaitReady())
  .then('decodeRecords', (n) => `Avro via the registry (MoodCreated | ActivityCreated | UserDeleted), then validate; poison → ${n.inputDlqTopic}`, (c) => decodeRecords(c.decodeEvent))
  .then(
    'foldWindows',
    () =>
      'running window per user: late | duplicate | accepted, evict by time and cap, statistics kept incrementally; UserDeleted drops the window (a later event starts a fresh one); an event whose window or snapshot could never be written → DLQ (RECORD_TOO_LARGE); cut into transactions by AGGREGATE_TX_MAX_RECORDS / _BYTES / _MS; then windows ending STATE_RETENTION_DAYS before the stream time expire (oldest first, at most AGGREGATE_TX_MAX_RECORDS)',
    (c) => foldWindows((partition) => c.tasks.of(partition).fold, c.limits),
  )
  .then(
    'commitInOrder',
    (n) =>
      `one transaction after another, the next one folding while the previous commits: snapshots and ContextErased markers in input order → ${n.aggregatedTopic}, final window per user (tombstone when erased) → ${n.changelogTopic}[p], poison → DLQ, cut into produce requests under each topic's max.message.bytes, with the consumed offset in one transaction; then LMDB states, activity index, stream time + changelog checkpoint`,
    (c) => commitInOrder(c.run.commit),
  )
  .then('takeWhile', () => 'up to a transaction abandoned because the partition was revoked or the stage is stopping (its records are fetched again by the next owner)', () => takeWhile((e: AggregateEvent) => e.type !== 'abandoned', true))
  .then('stageRetry', () => 'transient faults: new claim and restore, then the uncommitted rest again (RETRY_INITIAL_MS..RETRY_MAX_MS)', (c) => stageRetry<AggregateEvent>(c.retry))
  .then(
    'settleBatch',
    () => "done → the partition's next batch; failed → claim and restore again, the batch fetched again from its last committed offset; a fenced writer waits for the next assignment, any other error stops the stage",
    (c) => settleBatch(c.run, c.envelope),
  );

export function aggregateTopology(ports: AggregatePorts, config: AggregateTopologyConfig): Observable<AggregateEvent> {
  const now = ports.now ?? Date.now;
  const limits: TransactionLimits = {
    maxRecords: config.maxRecordsPerTransaction,
    maxBytes: config.maxBytesPerTransaction,
    maxMs: config.maxTransactionMs,
  };
  const decodeEvent = async (r: SourceRecord): Promise<UserRecord> => {
    const event = await ports.codec.decodeEvent(r.value);
    validateEvent(event, r.key === null ? null : r.key.toString('utf8'), Number(r.timestamp));
    return event;
  };

  return new Observable<AggregateEvent>((subscriber) => {
    const emit = (e: AggregateEvent): void => subscriber.next(e);
    const tasks = new PartitionTasks({
      gate: new PartitionGate(ports, config.inputTopic, (r) => emit({ type: 'restored', ...r }), now),
      store: ports.store,
      writer: ports.writer,
      codec: ports.codec,
      budget: new CacheBudget(config.cacheMaxBytes),
      cacheMaxUsers: config.cacheMaxUsers,
      snapshot: { windowDays: config.windowDays, maxEvents: config.maxEvents, aggregatorVersion: config.aggregatorVersion },
      erasureAuth: config.erasureAuth,
      retention: { days: config.retentionDays, maxExpiries: limits.maxRecords },
      topics: { stage: AGGREGATE_STAGE, outputTopic: config.outputTopic, changelogTopic: config.changelogTopic, dlqTopic: config.dlqTopic },
      now,
    });
    const assignments = ports.source.assignment$.subscribe((assigned) => {
      const restoring = tasks.assign(assigned);
      emit({ type: 'assigned', partitions: assigned.map((a) => a.partition), restoring });
    });
    const work = batches$(ports.source)
      .pipe(
        mergeMap((envelope) => {
          const run = tasks.of(envelope.batch.partition).run(envelope.batch);
          const retry: StageRetryOptions = {
            initialMs: config.retryInitialMs,
            maxMs: config.retryMaxMs,
            onRetry: (error) => emit(run.retrying(error)),
            ...(ports.scheduler && { scheduler: ports.scheduler }),
            ...(ports.random && { random: ports.random }),
          };
          return defer(() => of(run)).pipe(AGGREGATE_PIPE.build({ run, envelope, tasks, decodeEvent, limits, retry }));
        }),
      )
      .subscribe(subscriber);
    return () => {
      assignments.unsubscribe();
      work.unsubscribe();
    };
  });
}
