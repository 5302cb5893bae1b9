import { map, type OperatorFunction } from 'rxjs';
import { pointId } from '../../contracts/ids.js';
import type { AggregatedRecord, SourceRecord } from '../../ports.js';
import type { AggregatedItem } from '../domain/batch-work.js';

/** A decoded record of the aggregated topic as a batch item: an erasure marker, or a snapshot with the id of its point (user, UTC day of the window end). */
export function toAggregatedItems(): OperatorFunction<{ record: SourceRecord; value: AggregatedRecord }, AggregatedItem> {
  return map(({ record, value }): AggregatedItem =>
    value.kind === 'erasure' ? { record, erasure: value.erasure } : { record, snapshot: value.snapshot, pointId: pointId(value.snapshot.user_id, value.snapshot.window_end) },
  );
}
