// domain/: the rules of the product (windows, statistics, facts, text, validation, record shapes), pure functions.
export { committedEvent } from './domain/aggregate-events.js';
export type { AggregateEvent } from './domain/aggregate-events.js';
export { isErasure } from './domain/batch-work.js';
export type { AggregatedItem, BatchWork, ErasureItem, ErasureOutcome, RetryStep, SnapshotItem } from './domain/batch-work.js';
export { coalesceByKey } from './domain/coalesce.js';
export type { Coalesced } from './domain/coalesce.js';
export { DLQ_HEADERS, toDeadLetter } from './domain/dead-letter.js';
export type { AggregateCounters } from './domain/fold-transactions.js';
export { foldTransactions } from './domain/fold-transactions.js';
export type { FoldedTransaction, PartitionFold, RecordLimits, Retention, TransactionLimits } from './domain/fold-transactions.js';
export { SNAPSHOT_ALLOWANCE_BYTES, recordLimitsFor } from './domain/record-limits.js';
export { renderAspects, renderText, TEXT_VERSION } from './domain/render-text.js';
export type { RenderInput, SnapshotWithoutText } from './domain/render-text.js';
export { reindexedPoint, renderInputOf, rerenderText } from './domain/reindex-point.js';
export { snapshotFacts } from './domain/snapshot-facts.js';
export type { SnapshotFacts } from './domain/snapshot-facts.js';
export { offsetToNumber, snapshotOf } from './domain/snapshot-of.js';
export type { SnapshotConfig } from './domain/snapshot-of.js';
export { ACTIVITY_TYPE_KEYS, INTENSITY_KEYS, MOOD_DISTRIBUTION_KEYS, MOOD_SCORES, NOTE_MAX_CODE_POINTS, RECENT_NOTES, TOP_TAGS, activityStats, cutCodePoints, moodScore, moodStats, recentNotes } from './domain/snapshot-stats.js';
export { LIMIT_MARGIN_BYTES, RECORD_BATCH_OVERHEAD_BYTES, batchBudget, recordBytes, splitByBytes } from './domain/split-by-bytes.js';
export type { SplitOptions } from './domain/split-by-bytes.js';
export { toOutRecords } from './domain/to-out-records.js';
export type { OutTopics } from './domain/to-out-records.js';
export { toPoint } from './domain/to-point.js';
export type { PointItem } from './domain/to-point.js';
export { ID_MAX_LENGTH, MAX_DURATION_MINUTES, MAX_FUTURE_SKEW_MS, MIN_OCCURRED_AT, NOTE_MAX_LENGTH, TAG_MAX_LENGTH, TAGS_MAX_COUNT, validateEvent } from './domain/validate-event.js';
export { DAY_MS, compareEntries, toEntry } from './domain/window-entries.js';
export type { WindowOutcome } from './domain/window-entries.js';
export { foldEvent, loadWindowState, statisticsOf, windowOf, NO_ENCODING } from './domain/window-state.js';
export type { EntryEncoder, RunningStats, WindowState, WindowStatistics } from './domain/window-state.js';

// operators/: one rxjs operator per file, the file named after it (helpers it alone needs live beside it).
export { awaitReady } from './operators/await-ready.js';
export { coalescePoints } from './operators/coalesce-points.js';
export { commitDone, committer } from './operators/commit-done.js';
export { commitInOrder, pipelineCommits } from './operators/commit-in-order.js';
export { decodeOrDeadLetter } from './operators/decode-or-dead-letter.js';
export { decodeOrPoison } from './operators/decode-records.js';
export type { Decoded } from './operators/decode-records.js';
export { decodeAll, decodeRecords } from './operators/decode-records.js';
export { embedCached } from './operators/embed-cached.js';
export { foldWindows } from './operators/fold-windows.js';
export { markDone } from './operators/mark-done.js';
export type { StoredBatch } from './operators/mark-done.js';
export { microBatch } from './operators/micro-batch.js';
export type { MicroBatchOptions } from './operators/micro-batch.js';
export { erasurePlan, planErasures, toErasureCompleted } from './operators/plan-erasures.js';
export type { ErasurePlan } from './operators/plan-erasures.js';
export { produceOutRecords } from './operators/produce-out-records.js';
export { backoffDelay, retryWithBackoff } from './operators/retry-with-backoff.js';
export type { BackoffOptions, RetryWithBackoffOptions } from './operators/retry-with-backoff.js';
export { storeBatch } from './operators/store-batch.js';
export { toErasedRecords } from './operators/to-erased-records.js';
export { toPoints } from './operators/to-points.js';
export { toVectorized, toVectorizedRecords } from './operators/to-vectorized-records.js';
export { trackRecords } from './operators/track-records.js';
export type { HandedBatch } from './operators/track-records.js';

// state/: per-process state the operators share (partition gate, commit tracker, window cache, in-flight gate)
// and the transaction that makes a fold durable.
export { CommitTracker } from './state/commit-tracker.js';
export type { CommittableOffset } from './state/commit-tracker.js';
export { commitTransaction } from './state/commit-transaction.js';
export type { CommitOutcome } from './state/commit-transaction.js';
export { InFlightGate } from './state/in-flight-gate.js';
export { PartitionGate } from './state/partition-gate.js';
export type { RestoreReport } from './state/partition-gate.js';
export { CacheBudget, WindowCache, estimateWindowBytes } from './state/window-cache.js';
