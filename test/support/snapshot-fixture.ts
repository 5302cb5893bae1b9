// A ContextAggregated built by hand, valid for its Avro schema and for toPoint. Not a test file.
import { v5 as uuidv5 } from 'uuid';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';

const DAY = 86_400_000;
const NS = '9b2f4f0e-8a43-5a1c-9d3e-3c7f1f0a2b64';

/** Snapshot number `n` of `user`, its window ending at `windowEnd`; the text names both (distinct texts). */
export function fixtureSnapshot(user: string, windowEnd: number, n: number): ContextAggregated {
  return {
    snapshot_id: uuidv5(`${user}/${n}`, NS),
    user_id: user,
    window_start: windowEnd - 7 * DAY,
    window_end: windowEnd,
    window_days: 7,
    event_count: 1,
    mood: {
      count: 1,
      mean: 4,
      min: 4,
      max: 4,
      stddev: 0,
      trend_per_day: 0,
      latest: 'good',
      distribution: { very_low: 0, low: 0, moderate: 0, good: 1, excellent: 0, unknown: 0 },
      top_tags: [],
    },
    activity: {
      sessions: 0,
      total_minutes: 0,
      minutes_by_type: { cardio: 0, strength: 0, flexibility: 0, mindfulness: 0, other: 0 },
      minutes_by_intensity: { low: 0, moderate: 0, high: 0, unknown: 0 },
      active_days: 0,
      streak_days: 0,
    },
    recent_notes: [],
    text: `Mood was good (snapshot ${n} of ${user}).`,
    trigger_event_id: uuidv5(`${user}/${n}/event`, NS),
    trigger_type: 'MoodCreated',
    trace_id: null,
    source_topic: 'events',
    source_partition: 0,
    source_offset: n,
    aggregator_version: '1.0.0',
    // the input event reached Kafka a second after it occurred
    source_timestamp: windowEnd + 1000,
  };
}
