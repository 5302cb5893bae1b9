import type { ActivityType, Intensity, MoodLevel, UserEventType } from './events.js';

/**
 * The `ContextAggregated` record (schemas/ContextAggregated.avsc), one per accepted input event.
 * Every statistic is defined exactly in docs/ARCHITECTURE.md §3b; maps are built with keys
 * in a fixed order (the enum order) so that equal windows encode to equal bytes.
 */
export interface TagCount {
  tag: string;
  count: number;
}

export interface MoodStats {
  count: number;
  /** null when count is 0 (also min/max/stddev/latest). Scores use very_low 1 .. excellent 5. */
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Population standard deviation of scored moods. */
  stddev: number | null;
  /** Least-squares slope of score against time in days; null with < 2 scored moods or one distinct time. */
  trend_per_day: number | null;
  latest: MoodLevel | null;
  /** Count per level, every level of MoodLevel present (0 when none), in enum order then `unknown`. */
  distribution: Record<string, number>;
  top_tags: TagCount[];
}

export interface ActivityStats {
  sessions: number;
  total_minutes: number;
  /** Minutes per activity type, every type present (0 when none), enum order then `other`. */
  minutes_by_type: Record<string, number>;
  /** Minutes per intensity, every intensity present, enum order then `unknown`. */
  minutes_by_intensity: Record<string, number>;
  active_days: number;
  streak_days: number;
}

export interface ContextAggregated {
  /** UUIDv5(user_id, trigger event_id) in the aura namespace (src/contracts/ids.ts). */
  snapshot_id: string;
  user_id: string;
  /** Exclusive lower bound of the window: window_end - WINDOW_DAYS, epoch ms. */
  window_start: number;
  /** Largest accepted occurred_at of the user, epoch ms. */
  window_end: number;
  window_days: number;
  /** Entries in the window after eviction and cap. */
  event_count: number;
  mood: MoodStats;
  activity: ActivityStats;
  /** Up to 3 newest non-empty notes, newest first, each cut to 200 characters. */
  recent_notes: string[];
  /** Deterministic natural-language rendering of the fields above. */
  text: string;
  trigger_event_id: string;
  trigger_type: UserEventType;
  trace_id: string | null;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  aggregator_version: string;
  /**
   * Kafka timestamp (epoch ms) of the input event at source_offset: where the index's freshness is
   * measured from. Optional in the schema (added later, default null); absent or null means unknown.
   */
  source_timestamp?: number | null;
}

export type { ActivityType, Intensity, MoodLevel };

/** The `ContextVectorized` record (schemas/ContextVectorized.avsc). Never carries the vector. */
export interface ContextVectorized {
  /** UUIDv5(user_id, UTC date of window_end). */
  point_id: string;
  /** `qdrant` or `lancedb`. */
  store: string;
  collection: string;
  model_id: string;
  model_version: string;
  dimension: number;
  snapshot_id: string;
  user_id: string;
  /** UTC date of window_end, YYYY-MM-DD. */
  day: string;
  window_end: number;
  trace_id: string | null;
  /** Where the snapshot was read (the aggregated topic). */
  snapshot_topic: string;
  snapshot_partition: number;
  snapshot_offset: number;
  /** Where the trigger event was read (the user-events topic). */
  event_partition: number;
  event_offset: number;
  /** Whether the vector came from the embedding cache. */
  cache_hit: boolean;
}
