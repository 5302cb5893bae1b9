import { v5 as uuidv5 } from 'uuid';

/**
 * Deterministic ids (RFC 9562 UUIDv5), so replays rewrite the same snapshot and point ids.
 * Grammar of the hashed names: `<user_id>/<event_id>` and `<user_id>/<YYYY-MM-DD>`.
 * The namespaces are fixed forever: changing one re-keys every stored point.
 */
export const SNAPSHOT_NAMESPACE = '6f1f4a52-8d4e-5b7c-9a3e-2c1d0b9e8f70';
export const POINT_NAMESPACE = '0b3c5d7e-1f2a-5b4c-8d6e-7f8091a2b3c4';

export function snapshotId(userId: string, eventId: string): string {
  return uuidv5(`${userId}/${eventId}`, SNAPSHOT_NAMESPACE);
}

/** UTC calendar date of an epoch-ms instant, YYYY-MM-DD. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export function pointId(userId: string, epochMs: number): string {
  return uuidv5(`${userId}/${utcDay(epochMs)}`, POINT_NAMESPACE);
}
