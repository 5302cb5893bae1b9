// Erasure records for tests: ErasureCompleted for `erase --wait`, signed UserDeleted requests (not a test file).
import { signErasure, type ErasureCompleted, type UserDeleted } from '../../src/contracts/erasure.js';

/** The ERASURE_SIGNING_KEY of tests (stack-env puts it in every stage's environment). */
export const TEST_ERASURE_KEY = 'test-erasure-signing-key-0123456789abcdef';

/** `d` signed with `key` (default the tests' key), as `aura-stream erase` signs it. */
export function signed(d: Omit<UserDeleted, 'signature'> & { signature?: string | null }, key = TEST_ERASURE_KEY): UserDeleted {
  return { ...d, signature: signErasure(d, key) };
}

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
    requester: 'ops@example',
    reason: 'TICKET-1',
  };
}
