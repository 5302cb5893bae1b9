import type { IndexVersion } from '../../contracts/index-version.js';
import type { MoodLevel } from '../../contracts/snapshot.js';
import type { PointPayload, VectorPoint } from '../../ports.js';
import { renderText, type RenderInput } from './render-text.js';
import { snapshotFacts } from './snapshot-facts.js';
import { factFields } from './to-point.js';

/**
 * A stored point as the source of another index version (`aura-stream reindex`): the payload
 * keeps every statistic the renderer reads, so the text is rendered again by this build's
 * renderer and embedded by the new model, and the facts fields (`themes`, `mood_level`, …) are
 * derived again by this build's `snapshotFacts`, so they agree with the new text (text v3 changed
 * `themes`); nothing else of the point changes.
 */

/** The window fields of a stored payload, as `renderText` reads them. */
export function renderInputOf(p: PointPayload): RenderInput {
  return {
    window_days: p.window_days,
    mood: {
      count: p.mood_count,
      mean: p.mood_mean,
      min: p.mood_min,
      max: p.mood_max,
      stddev: p.mood_stddev,
      trend_per_day: p.mood_trend_per_day,
      latest: p.mood_latest as MoodLevel | null,
      distribution: { ...p.mood_distribution },
      top_tags: p.top_tags.map((t) => ({ tag: t.tag, count: t.count })),
    },
    activity: {
      sessions: p.activity_sessions,
      total_minutes: p.activity_minutes,
      minutes_by_type: { ...p.minutes_by_type },
      minutes_by_intensity: { ...p.minutes_by_intensity },
      active_days: p.active_days,
      streak_days: p.streak_days,
    },
    recent_notes: [...p.recent_notes],
  };
}

/** The text of a stored point in this build's renderer. */
export function rerenderText(p: PointPayload): string {
  return renderText(renderInputOf(p));
}

/**
 * The point of `version` made from a stored one: same id and statistics, same source offsets (so
 * the catch-up and the erasure guard can compare), the re-rendered `text` and facts fields, the
 * new vector and the new version's model (id, ONNX hash, manifest hash) and text version.
 */
export function reindexedPoint(stored: { id: string; payload: PointPayload }, text: string, vector: Float32Array, version: IndexVersion): VectorPoint {
  return {
    id: stored.id,
    vector,
    payload: { ...stored.payload, ...factFields(snapshotFacts(renderInputOf(stored.payload))), text, model_id: version.model_id, model_version: version.model_version, manifest_sha256: version.manifest_sha256, text_version: version.text_version },
  };
}
