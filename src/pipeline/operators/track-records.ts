import { EMPTY, from, mergeMap, type OperatorFunction } from 'rxjs';
import type { PartitionBatch, SourceRecord } from '../../ports.js';
import type { CommitTracker } from '../state/commit-tracker.js';

/** A partition batch as the source hands it over, with the callback that releases the next one. */
export interface HandedBatch {
  batch: Pick<PartitionBatch, 'records' | 'resolve' | 'isStale'>;
  ack(): void;
}

/**
 * Hands a batch's records on at once and holds them in the commit tracker instead of the source,
 * so records of several partitions fill one micro-batch: each record is tracked, the batch is
 * resolved and acknowledged (the source may fetch on), and its records are emitted in offset
 * order. A stale batch (revoked partition, stopping source) is acknowledged and dropped untracked.
 */
export function trackRecords(tracker: CommitTracker): OperatorFunction<HandedBatch, SourceRecord> {
  return mergeMap(({ batch, ack }) => {
    if (batch.isStale() || batch.records.length === 0) {
      ack();
      return EMPTY;
    }
    for (const r of batch.records) tracker.track(r.topic, r.partition, r.offset);
    batch.resolve(batch.records[batch.records.length - 1]!.offset);
    ack();
    return from(batch.records);
  });
}
