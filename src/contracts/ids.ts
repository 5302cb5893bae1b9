import { createHash } from 'node:crypto';
import { parse as parseUuid } from 'uuid';

/**
 * Deterministic ids (RFC 9562 UUIDv5), so replays rewrite the same snapshot and point ids.
 * Grammar of the hashed names: `<user_id>/<event_id>` and `<user_id>/<YYYY-MM-DD>`.
 * The namespaces are fixed forever: changing one re-keys every stored point.
 */
export const SNAPSHOT_NAMESPACE = '6f1f4a52-8d4e-5b7c-9a3e-2c1d0b9e8f70';
export const POINT_NAMESPACE = '0b3c5d7e-1f2a-5b4c-8d6e-7f8091a2b3c4';

const SNAPSHOT_NAMESPACE_BYTES = Uint8Array.from(parseUuid(SNAPSHOT_NAMESPACE));
const POINT_NAMESPACE_BYTES = Uint8Array.from(parseUuid(POINT_NAMESPACE));

/**
 * UUIDv5 of `name` in a namespace given as bytes: SHA-1 of namespace + UTF-8 name, version and
 * variant bits set (RFC 9562 §5.5). The same ids as uuid's v5, without parsing the namespace
 * string and copying the name into a new array on every call (one id per snapshot).
 */
function uuidV5(name: string, namespace: Uint8Array): string {
  const h = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function snapshotId(userId: string, eventId: string): string {
  return uuidV5(`${userId}/${eventId}`, SNAPSHOT_NAMESPACE_BYTES);
}

/** UTC calendar date of an epoch-ms instant, YYYY-MM-DD. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export function pointId(userId: string, epochMs: number): string {
  return uuidV5(`${userId}/${utcDay(epochMs)}`, POINT_NAMESPACE_BYTES);
}
