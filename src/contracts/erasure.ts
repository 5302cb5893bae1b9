import { createHmac, timingSafeEqual } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/**
 * Erasure records (docs/ARCHITECTURE.md §6):
 *
 *   aura360.user.events         UserDeleted        asks to erase a user (`aura-stream erase --user U`)
 *   aura360.context.aggregated  ContextErased      the aggregate stage dropped the window; in order after the user's snapshots
 *   aura360.context.erased      ErasureCompleted   the vectorize stage deleted the points and cache entries
 *
 * Timestamps are epoch milliseconds (UTC), as in the other contracts.
 */

/** schemas/UserDeleted.avsc, on the user-events topic (TopicRecordNameStrategy). */
export interface UserDeleted {
  type: 'UserDeleted';
  /** UUID; becomes the erasure_id. */
  event_id: string;
  user_id: string;
  requested_at: number;
  /** Audit text (a ticket id), never personal data. */
  reason: string | null;
  trace_id: string | null;
  /** Who asked (audit); signed. null from a producer older than the field. */
  requester: string | null;
  /** HMAC-SHA256 (base64url) of `erasureSigningInput` with ERASURE_SIGNING_KEY; null = unsigned. */
  signature: string | null;
}

export const USER_DELETED_FULL_NAME = 'aura360.events.UserDeleted';

/** Why a user's data is erased. `unknown` is the Avro enum default (a symbol added later). */
export type ErasureCause = 'user_deleted' | 'retention' | 'unknown';

/** schemas/ContextErased.avsc: the erasure marker on the aggregated topic. */
export interface ContextErased {
  erasure_id: string;
  user_id: string;
  cause: ErasureCause;
  requested_at: number;
  /** null: everything of the user; set (retention): points with window_end < before. */
  before: number | null;
  trace_id: string | null;
  event_partition: number;
  event_offset: number;
  aggregator_version: string;
  /** Who asked: UserDeleted.requester, or RETENTION_REQUESTER. */
  requester: string | null;
  /** Why: UserDeleted.reason, or the retention rule. */
  reason: string | null;
}

export const CONTEXT_ERASED_FULL_NAME = 'aura360.context.ContextErased';

/** schemas/ErasureCompleted.avsc: the vectorize stage's confirmation. */
export interface ErasureCompleted {
  erasure_id: string;
  user_id: string;
  cause: ErasureCause;
  requested_at: number;
  before: number | null;
  completed_at: number;
  store: string;
  collection: string;
  points_deleted: number;
  cache_entries_deleted: number;
  trace_id: string | null;
  snapshot_topic: string;
  snapshot_partition: number;
  snapshot_offset: number;
  /** As in the marker: who asked and why. */
  requester: string | null;
  reason: string | null;
}

export const ERASURE_COMPLETED_FULL_NAME = 'aura360.context.ErasureCompleted';

/** Fixed forever: changing it re-keys retention erasures. */
export const RETENTION_NAMESPACE = '3d6c1b8e-5a47-5f2e-9b0d-4e7a2c9f1d35';

/** erasure_id of a retention expiry: UUIDv5 of `<user_id>/retention/<before>` (before in epoch ms). */
export function retentionErasureId(userId: string, before: number): string {
  return uuidv5(`${userId}/retention/${before}`, RETENTION_NAMESPACE);
}

/** The requester recorded for retention expiries: the system, by the STATE_RETENTION_DAYS rule. */
export const RETENTION_REQUESTER = 'system:retention';

/**
 * The bytes an erasure signature covers (grammar, version 1):
 *
 *   "aura-erasure-v1\n" JSON.stringify([event_id, user_id, requested_at, requester, reason])
 *
 * JSON of an array fixes the order and escapes every field, so no two requests share an input.
 * The trace id is not covered (it routes logs, it grants nothing).
 */
export function erasureSigningInput(d: Pick<UserDeleted, 'event_id' | 'user_id' | 'requested_at' | 'requester' | 'reason'>): string {
  return `aura-erasure-v1\n${JSON.stringify([d.event_id, d.user_id, d.requested_at, d.requester, d.reason])}`;
}

/** HMAC-SHA256 of the request with `key`, base64url: what `aura-stream erase` puts in `signature`. */
export function signErasure(d: Pick<UserDeleted, 'event_id' | 'user_id' | 'requested_at' | 'requester' | 'reason'>, key: string): string {
  return createHmac('sha256', key).update(erasureSigningInput(d), 'utf8').digest('base64url');
}

/** True when `d.signature` is the request's signature with `key` (compared in constant time). */
export function erasureSignatureValid(d: UserDeleted, key: string): boolean {
  if (d.signature === null || d.signature === undefined) return false;
  const expected = Buffer.from(signErasure(d, key), 'base64url');
  const given = Buffer.from(d.signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
