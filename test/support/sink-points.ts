import { pointId, utcDay } from '../../src/contracts/ids.js';
import type { PointPayload, VectorPoint } from '../../src/ports.js';

/** Fixtures shared by the vector-sink tests: small unit vectors and points with every payload field. */
export const DIM = 4;

export function unit(...xs: number[]): Float32Array {
  const norm = Math.hypot(...xs);
  return Float32Array.from(xs.map((x) => x / norm));
}

/**
 * A point with every payload field set; `overrides` replace fields. The defaults hold nulls,
 * nested maps, lists of objects and a note with quotes, so a round trip proves every column type.
 */
export function point(userId: string, isoDay: string, vector: Float32Array, text = `${userId} on ${isoDay}`, overrides: Partial<PointPayload> = {}): VectorPoint {
  const windowEnd = Date.parse(`${isoDay}T18:30:00.000Z`);
  const payload: PointPayload = {
    user_id: userId,
    day: utcDay(windowEnd),
    window_end: windowEnd,
    window_start: windowEnd - 7 * 86_400_000,
    window_days: 7,
    snapshot_id: '11111111-2222-5333-8444-555555555555',
    trigger_event_id: '66666666-7777-4888-8999-000000000000',
    event_count: 3,
    text,
    mood_count: 2,
    mood_mean: 3.5,
    mood_stddev: 0.5,
    mood_min: 3,
    mood_max: 4,
    mood_trend_per_day: null,
    mood_latest: 'good',
    mood_distribution: { very_low: 0, low: 0, moderate: 1, good: 1, excellent: 0, unknown: 0 },
    mood_level: 'good',
    mood_direction: null,
    mood_variable: false,
    activity_sessions: 1,
    activity_minutes: 45,
    minutes_by_type: { cardio: 45, strength: 0, flexibility: 0, mindfulness: 0, other: 0 },
    minutes_by_intensity: { low: 0, moderate: 45, high: 0, unknown: 0 },
    active_days: 1,
    streak_days: 1,
    main_activity: 'cardio',
    intensity: 'moderate',
    top_tags: [
      { tag: 'sleep', count: 2 },
      { tag: 'work', count: 1 },
    ],
    themes: ['sleep'],
    recent_notes: ['slept well', 'said "hi"'],
    aggregator_version: '1.0.0',
    model_id: 'Xenova/all-MiniLM-L6-v2',
    text_version: 1,
    model_version: 'sha256:abc',
    manifest_sha256: 'f'.repeat(64),
    snapshot_topic: 'aura360.context.aggregated',
    snapshot_partition: 1,
    snapshot_offset: 41,
    event_partition: 1,
    event_offset: 40,
    ...overrides,
  };
  return { id: pointId(userId, windowEnd), vector, payload };
}
