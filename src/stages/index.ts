export { DAY_MS, compareEntries, rollWindow, toEntry } from './roll-window.js';
export type { RollResult, WindowOutcome } from './roll-window.js';
export {
  ACTIVITY_TYPE_KEYS,
  INTENSITY_KEYS,
  MOOD_DISTRIBUTION_KEYS,
  MOOD_SCORES,
  NOTE_MAX_CODE_POINTS,
  RECENT_NOTES,
  TOP_TAGS,
  activityStats,
  cutCodePoints,
  moodScore,
  moodStats,
  recentNotes,
} from './snapshot-stats.js';
export { renderAspects, renderText } from './render-text.js';
export { snapshotFacts } from './snapshot-facts.js';
export type { SnapshotFacts } from './snapshot-facts.js';
export type { SnapshotWithoutText } from './render-text.js';
export { offsetToNumber, snapshotOf, toSnapshot } from './to-snapshot.js';
export type { SnapshotConfig } from './to-snapshot.js';
export { ID_MAX_LENGTH, MAX_DURATION_MINUTES, MAX_FUTURE_SKEW_MS, MIN_OCCURRED_AT, NOTE_MAX_LENGTH, TAG_MAX_LENGTH, TAGS_MAX_COUNT, validateEvent } from './validate-event.js';
export { aggregateBatch } from './aggregate-partition.js';
export type { AggregateBatchResult, AggregateCounters, AggregateInput } from './aggregate-partition.js';
export { DLQ_HEADERS, toDeadLetter } from './dead-letter.js';
export { PartitionGate } from './partition-gate.js';
export type { RestoreReport } from './partition-gate.js';
export { microBatch } from './micro-batch.js';
export type { MicroBatchOptions } from './micro-batch.js';
export { coalesceByKey } from './coalesce.js';
export type { Coalesced } from './coalesce.js';
export { CommitTracker } from './commit-tracker.js';
export type { CommittableOffset } from './commit-tracker.js';
export { backoffDelay, retryWithBackoff } from './backoff.js';
export type { BackoffOptions, RetryWithBackoffOptions } from './backoff.js';
export { InFlightGate } from './in-flight.js';
export { decodeOrPoison } from './decode-or-poison.js';
export type { Decoded } from './decode-or-poison.js';
export { toPoint } from './to-point.js';
export type { PointItem } from './to-point.js';
export { LIMIT_MARGIN_BYTES, RECORD_BATCH_OVERHEAD_BYTES, batchBudget, recordBytes, splitByBytes } from './split-by-bytes.js';
export type { SplitOptions } from './split-by-bytes.js';
export { awaitReady } from './partition-gate.js';
export { decodeAll, decodeRecords } from './decode-or-poison.js';
export { foldEvent, loadWindowState, statisticsOf, windowOf, NO_ENCODING } from './window-state.js';
export type { EntryEncoder, RunningStats, WindowState, WindowStatistics } from './window-state.js';
export { WindowCache } from './window-cache.js';
export { foldTransactions, foldWindows } from './fold-transactions.js';
export type { FoldedTransaction, PartitionFold, RecordLimits, Retention, TransactionLimits } from './fold-transactions.js';
export { SNAPSHOT_ALLOWANCE_BYTES, recordLimitsFor } from './record-limits.js';
export { toOutRecords } from './to-out-records.js';
export type { OutTopics } from './to-out-records.js';
export { commitTransaction } from './commit-transaction.js';
export type { CommitOutcome } from './commit-transaction.js';
export { commitInOrder, pipelineCommits } from './pipeline-commits.js';
export { committedEvent } from './aggregate-events.js';
export type { AggregateEvent } from './aggregate-events.js';
export { coalescePoints, isErasure, toPoints } from './batch-work.js';
export type { AggregatedItem, BatchWork, ErasureItem, ErasureOutcome, RetryStep, SnapshotItem } from './batch-work.js';
export { embedCached } from './embed-cached.js';
export { produceOutRecords, storeBatch } from './store-batch.js';
export { toErasedRecords, toVectorized, toVectorizedRecords } from './to-vectorized-records.js';
export { erasurePlan, planErasures, toErasureCompleted } from './plan-erasures.js';
export type { ErasurePlan } from './plan-erasures.js';
export { trackRecords } from './track-records.js';
export type { HandedBatch } from './track-records.js';
export { decodeOrDeadLetter } from './dead-letter-poison.js';
export { commitDone, committer, markDone } from './commit-done.js';
export type { StoredBatch } from './commit-done.js';
export { ConsumerLag, UnconfirmedRecords } from './consumer-lag.js';
export type { PartitionLag, PartitionOffsets } from './consumer-lag.js';
