import { pointId, utcDay } from '../../src/contracts/ids.js';
import type { PointPayload, VectorPoint } from '../../src/ports.js';

/** Fixtures shared by the vector-sink tests: small unit vectors and points with every payload field. */
export const DIM = 4;

export function unit(...xs: number[]): Float32Array {
  const norm = Math.hypot(...xs);
  return Float32Array.from(xs.map((x) => x / norm));
}

export function point(userId: string, isoDay: string, vector: Float32Array, text = `${userId} on ${isoDay}`): VectorPoint {
  const windowEnd = Date.parse(`${isoDay}T18:30:00.000Z`);
  const payload: PointPayload = {
    user_id: userId,
    day: utcDay(windowEnd),
    window_end: windowEnd,
    window_start: windowEnd - 7 * 86_400_000,
    snapshot_id: '11111111-2222-5333-8444-555555555555',
    trigger_event_id: '66666666-7777-4888-8999-000000000000',
    event_count: 3,
    text,
    snapshot: { mood: { count: 2, mean: 3.5, latest: 'good' }, activity: { sessions: 1 }, recent_notes: ['slept well'] },
    model_id: 'Xenova/all-MiniLM-L6-v2',
    model_version: 'sha256:abc',
    snapshot_topic: 'aura360.context.aggregated',
    snapshot_partition: 1,
    snapshot_offset: 41,
    event_partition: 1,
    event_offset: 40,
  };
  return { id: pointId(userId, windowEnd), vector, payload };
}
