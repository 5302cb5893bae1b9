import type { AuraError } from '../../errors.js';
import type { AggregateCodec, BatchWriter, PartitionBatch, SourceRecord, TopicPartition, WindowStore } from '../../ports.js';
import { committedEvent, type AggregateEvent } from '../domain/aggregate-events.js';
import type { ErasureAuth, FoldedTransaction, PartitionFold } from '../domain/fold-transactions.js';
import { recordLimitsFor } from '../domain/record-limits.js';
import type { SnapshotConfig } from '../domain/snapshot-of.js';
import { toOutRecords, type OutTopics } from '../domain/to-out-records.js';
import { loadWindowState } from '../domain/window-state.js';
import { commitTransaction } from './commit-transaction.js';
import type { PartitionGate } from './partition-gate.js';
import { WindowCache, type CacheBudget } from './window-cache.js';

/** What every partition task of one aggregate stage shares. */
export interface PartitionTaskDeps {
  /** Claims writers and restores changelogs, per assignment (several partitions in one replay). */
  gate: PartitionGate;
  store: WindowStore;
  writer: BatchWriter;
  codec: AggregateCodec;
  /** AGGREGATE_CACHE_MAX_BYTES, shared by the caches of all partitions. */
  budget: CacheBudget;
  /** AGGREGATE_CACHE_MAX_USERS, per partition. */
  cacheMaxUsers: number;
  snapshot: SnapshotConfig;
  erasureAuth: ErasureAuth;
  /** STATE_RETENTION_DAYS (0: off) and the expiries allowed per transaction (AGGREGATE_TX_MAX_RECORDS). */
  retention: { days: number; maxExpiries: number };
  topics: OutTopics;
  now: () => number;
}

/**
 * One input partition of the aggregate stage, like a Kafka Streams `StreamTask`: it owns the
 * partition's running windows (the cache and how a window is loaded, the transaction counter,
 * retention and record limits) and says when they are no longer to be trusted.
 *
 * - `whenReady` claims the partition's writer and restores its changelog (through the gate, which
 *   restores newly assigned partitions together);
 * - `commit` writes one folded transaction (records + consumed offset, then the store);
 * - `invalidate` after a failed write: the next try must claim and restore again, and the running
 *   windows may hold folds that never committed, so they are dropped;
 * - `reset` when the partition is lost or restored anew: its windows may be ahead of its store.
 *
 * The task lives as long as the stage: its transaction numbers keep increasing across resets, so
 * a commit still in flight from before a reset never marks a later fold as durable.
 */
export class PartitionTask {
  readonly fold: PartitionFold;
  private tx = 0;

  constructor(
    readonly partition: number,
    private readonly deps: PartitionTaskDeps,
  ) {
    const { store, codec, writer, topics } = deps;
    const fold: PartitionFold = {
      cache: new WindowCache(deps.cacheMaxUsers, deps.budget),
      load: (userId) => {
        const stored = store.get(userId);
        return stored === undefined ? undefined : loadWindowState(codec.decodeWindow(stored), codec.encodeEntry);
      },
      config: deps.snapshot,
      encodeEntry: codec.encodeEntry,
      encodeWindowParts: codec.encodeWindowParts,
      loadStreamTime: () => store.streamTime(partition),
      erasureAuth: deps.erasureAuth,
      nextTx: () => this.tx++,
      now: deps.now,
    };
    if (deps.retention.days > 0) {
      fold.retention = { retentionMs: deps.retention.days * 86_400_000, maxExpiries: deps.retention.maxExpiries, expiring: (before) => store.expiring(partition, before) };
    }
    const recordLimits = recordLimitsFor(writer, { snapshot: codec.encodeSnapshot, windowParts: codec.encodeWindowParts }, { output: topics.outputTopic, changelog: topics.changelogTopic }, partition);
    if (recordLimits) fold.recordLimits = recordLimits;
    this.fold = fold;
  }

  /** Resolves once the partition's writer is claimed and its changelog restored; heartbeats while waiting. */
  whenReady(heartbeat: () => Promise<void>): Promise<void> {
    return this.deps.gate.whenReady(this.partition, heartbeat);
  }

  /** Writes one folded transaction: its records and the consumed offset, then the store. Not written once `isStale`. */
  commit(t: FoldedTransaction, isStale: () => boolean): ReturnType<typeof commitTransaction> {
    const { writer, store, codec, topics, now } = this.deps;
    const records = toOutRecords(t, { snapshot: codec.encodeSnapshot, erased: codec.encodeErased }, topics);
    return commitTransaction(t, records, { writer, store, cache: this.fold.cache, changelogTopic: topics.changelogTopic, isStale, now });
  }

  /** After a failed write: claim and restore again before the next try, and drop the running windows. */
  invalidate(error: AuraError): void {
    this.deps.gate.invalidate(this.partition, error);
    this.reset();
  }

  /** Drops the running windows (their bytes go back to the shared budget); the next use reloads them from the store. */
  reset(): void {
    this.fold.cache.clear();
  }

  /** One delivery of `batch` to this task (a retry of it starts after what is already committed). */
  run(batch: PartitionBatch): TaskRun {
    return new TaskRun(this, batch);
  }
}

/**
 * One fetched batch of a partition task, through all its tries: counts the records committed so
 * far, so a retry folds only the uncommitted rest, and turns each commit into the stage's event.
 */
export class TaskRun {
  /** Records of the batch committed so far: a retry starts after them. */
  private done = 0;

  constructor(
    readonly task: PartitionTask,
    readonly batch: PartitionBatch,
  ) {}

  /** The records of the batch not yet committed. */
  uncommitted(): readonly SourceRecord[] {
    return this.batch.records.slice(this.done);
  }

  /** Commits one transaction: `committed` (the batch's offset resolved), or `abandoned` (its folds dropped). */
  readonly commit = async (t: FoldedTransaction): Promise<AggregateEvent> => {
    const outcome = await this.task.commit(t, this.batch.isStale);
    if (!outcome.committed) {
      this.task.reset();
      return { type: 'abandoned', partition: this.task.partition, reason: outcome.reason };
    }
    this.done += t.records.length;
    this.batch.resolve(t.records[t.records.length - 1]!.offset);
    // A fetched batch of heavy users takes many transactions: keep the group membership alive between them.
    this.heartbeat();
    return committedEvent(t, outcome.at, this.batch.highWatermark);
  };

  /** A transient fault, about to be retried: invalidate the task, keep the membership alive, say so. */
  retrying(error: AuraError): AggregateEvent {
    this.task.invalidate(error);
    this.heartbeat();
    return { type: 'retrying', partition: this.task.partition, error };
  }

  /** The run failed for good: the partition is claimed and restored again before anything else of it is processed. */
  failed(error: AuraError): void {
    this.task.invalidate(error);
  }

  private heartbeat(): void {
    void this.batch.heartbeat().catch(() => undefined);
  }
}

/**
 * The partition tasks of one aggregate stage, one per input partition ever assigned (created on
 * first use), like Kafka Streams' task manager.
 */
export class PartitionTasks {
  private readonly tasks = new Map<number, PartitionTask>();

  constructor(private readonly deps: PartitionTaskDeps) {}

  of(partition: number): PartitionTask {
    let task = this.tasks.get(partition);
    if (!task) {
      task = new PartitionTask(partition, this.deps);
      this.tasks.set(partition, task);
    }
    return task;
  }

  /**
   * A new assignment: the gate releases what was lost and starts restoring what is new (returned);
   * the tasks of both are reset, since their running windows may be ahead of the store.
   */
  assign(assigned: TopicPartition[]): number[] {
    const restoring = this.deps.gate.assign(assigned);
    const kept = new Set(assigned.map((a) => a.partition));
    for (const [p, task] of this.tasks) {
      if (!kept.has(p) || restoring.includes(p)) task.reset();
    }
    return restoring;
  }
}
