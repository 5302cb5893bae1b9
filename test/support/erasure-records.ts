// ErasureCompleted records for tests of `erase --wait` (not a test file).
import type { ErasureCompleted } from '../../src/contracts/erasure.js';

/** A confirmation of `erasureId` for `userId` as the vectorize stage would send it; override fields as needed. */
export function erasureCompleted(erasureId: string, userId: string): ErasureCompleted {
  return {
    erasure_id: erasureId,
    user_id: userId,
    cause: 'user_deleted',
    requested_at: 1,
    before: null,
    completed_at: 2,
    store: 'lancedb',
    collection: 'c',
    points_deleted: 5,
    cache_entries_deleted: 3,
    trace_id: null,
    snapshot_topic: 'agg',
    snapshot_partition: 1,
    snapshot_offset: 9,
  };
}
