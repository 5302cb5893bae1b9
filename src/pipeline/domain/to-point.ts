import { utcDay } from '../../contracts/ids.js';
import type { ContextAggregated } from '../../contracts/snapshot.js';
import type { EmbedderInfo, PointPayload, SourceRecord, VectorPoint } from '../../ports.js';
import { TEXT_VERSION } from './render-text.js';
import { snapshotFacts, type SnapshotFacts } from './snapshot-facts.js';

/** A decoded snapshot with the record it was read from and its point id. */
export interface PointItem {
  record: Pick<SourceRecord, 'topic' | 'partition' | 'offset'>;
  snapshot: ContextAggregated;
  pointId: string;
}

/**
 * The point of a snapshot: its vector, and a payload with the statistics as fields (for filters
 * and hybrid queries), the text, the plain-language facts behind the text, what made the vector
 * (`model_id`, `manifest_sha256` of the model folder, `text_version` of the text), and where the
 * snapshot came from. Pure: equal inputs give equal payloads, key order included.
 */
export function toPoint(
  item: PointItem,
  vector: Float32Array,
  embedder: Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'>,
  textVersion: number = TEXT_VERSION,
): VectorPoint {
  const s = item.snapshot;
  const facts = snapshotFacts(s);
  const payload: PointPayload = {
    user_id: s.user_id,
    day: utcDay(s.window_end),
    window_end: s.window_end,
    window_start: s.window_start,
    window_days: s.window_days,
    snapshot_id: s.snapshot_id,
    trigger_event_id: s.trigger_event_id,
    event_count: s.event_count,
    text: s.text,
    mood_count: s.mood.count,
    mood_mean: s.mood.mean,
    mood_stddev: s.mood.stddev,
    mood_min: s.mood.min,
    mood_max: s.mood.max,
    mood_trend_per_day: s.mood.trend_per_day,
    mood_latest: s.mood.latest,
    mood_distribution: { ...s.mood.distribution },
    ...factFields(facts),
    activity_sessions: s.activity.sessions,
    activity_minutes: s.activity.total_minutes,
    minutes_by_type: { ...s.activity.minutes_by_type },
    minutes_by_intensity: { ...s.activity.minutes_by_intensity },
    active_days: s.activity.active_days,
    streak_days: s.activity.streak_days,
    top_tags: s.mood.top_tags.map((t) => ({ tag: t.tag, count: t.count })),
    recent_notes: [...s.recent_notes],
    aggregator_version: s.aggregator_version,
    model_id: embedder.modelId,
    model_version: embedder.modelVersion,
    manifest_sha256: embedder.manifestSha256,
    text_version: textVersion,
    snapshot_topic: item.record.topic,
    snapshot_partition: item.record.partition,
    snapshot_offset: Number(item.record.offset),
    event_partition: s.source_partition,
    event_offset: s.source_offset,
  };
  return { id: item.pointId, vector, payload };
}

/** The payload fields that hold a window's plain-language facts (for filters), from `snapshotFacts`. */
export type FactFields = Pick<PointPayload, 'mood_level' | 'mood_direction' | 'mood_variable' | 'main_activity' | 'intensity' | 'themes'>;

export function factFields(facts: SnapshotFacts): FactFields {
  return { mood_level: facts.moodLevel, mood_direction: facts.direction, mood_variable: facts.variable, main_activity: facts.dominantActivity, intensity: facts.intensity, themes: facts.themes };
}
