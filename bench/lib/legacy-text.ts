// The snapshot text as rendered before plain language (statistics as numbers), kept as the
// baseline of bench/retrieval.ts. Not used by the pipeline.
import { utcDay } from '../../src/contracts/ids.js';
import { ACTIVITY_TYPE_KEYS, INTENSITY_KEYS, MOOD_DISTRIBUTION_KEYS } from '../../src/pipeline/domain/snapshot-stats.js';
import type { SnapshotWithoutText } from '../../src/pipeline/domain/render-text.js';

/**
 * Renders a snapshot as one compact English paragraph for an embedding model or an agent.
 *
 * Contract: a pure function of the window fields only — user_id, window_days, window_end (its UTC
 * date), event_count, mood, activity, recent_notes. Trigger, trace and source fields are left out
 * on purpose, so equal windows give byte-equal text whichever event produced them (and hit the
 * embedding cache). No clock, no randomness, no locale: numbers go through toFixed, notes through
 * JSON.stringify (quotes and control characters escaped the same way everywhere).
 *
 * Grammar (optional parts in brackets, lists comma-separated, zero entries omitted):
 *   Wellbeing context for user <id>, <days> days to <YYYY-MM-DD>, <n> events.
 *   Moods: none logged. | Moods: <n> logged[, mean <m.mm> (sd <s.ss>, range <min>-<max>)][, trend <±t.tt>/day | , trend n/a], latest <level>; levels <level> <n>, ...
 *   Activity: none logged. | Activity: <n> sessions, <m> min (<type> <m>, ...); intensity <i> <m>, ...; active <d> days, streak <s> days.
 *   [Top tags: <tag>(<n>), ....]
 *   [Recent notes: "<note>"; "<note>".]
 */
export function renderLegacyText(snapshot: SnapshotWithoutText): string {
  const parts = [
    `Wellbeing context for user ${snapshot.user_id}, ${plural(snapshot.window_days, 'day')} to ${utcDay(snapshot.window_end)}, ${plural(snapshot.event_count, 'event')}.`,
    moodSentence(snapshot.mood),
    activitySentence(snapshot.activity),
  ];
  if (snapshot.mood.top_tags.length > 0) {
    parts.push(`Top tags: ${snapshot.mood.top_tags.map((t) => `${t.tag}(${num(t.count)})`).join(', ')}.`);
  }
  if (snapshot.recent_notes.length > 0) {
    parts.push(`Recent notes: ${snapshot.recent_notes.map((n) => JSON.stringify(n)).join('; ')}.`);
  }
  return parts.join(' ');
}

function moodSentence(mood: SnapshotWithoutText['mood']): string {
  if (mood.count === 0) return 'Moods: none logged.';
  const head = [`Moods: ${num(mood.count)} logged`];
  if (mood.mean !== null) {
    const spread = [`sd ${fixed2(mood.stddev ?? 0)}`];
    if (mood.min !== null && mood.max !== null) spread.push(`range ${num(mood.min)}-${num(mood.max)}`);
    head.push(`mean ${fixed2(mood.mean)} (${spread.join(', ')})`);
  } else {
    head.push('none with a known level');
  }
  head.push(mood.trend_per_day === null ? 'trend n/a' : `trend ${signed2(mood.trend_per_day)}/day`);
  if (mood.latest !== null) head.push(`latest ${label(mood.latest)}`);
  const levels = nonZero(MOOD_DISTRIBUTION_KEYS, mood.distribution).map(([k, n]) => `${label(k)} ${num(n)}`);
  return `${head.join(', ')}; levels ${levels.join(', ')}.`;
}

function activitySentence(activity: SnapshotWithoutText['activity']): string {
  if (activity.sessions === 0) return 'Activity: none logged.';
  const types = nonZero(ACTIVITY_TYPE_KEYS, activity.minutes_by_type).map(([k, m]) => `${label(k)} ${num(m)}`);
  const intensities = nonZero(INTENSITY_KEYS, activity.minutes_by_intensity).map(([k, m]) => `${label(k)} ${num(m)}`);
  const parts = [`Activity: ${plural(activity.sessions, 'session')}, ${num(activity.total_minutes)} min${types.length > 0 ? ` (${types.join(', ')})` : ''}`];
  if (intensities.length > 0) parts.push(`intensity ${intensities.join(', ')}`);
  parts.push(`active ${plural(activity.active_days, 'day')}, streak ${plural(activity.streak_days, 'day')}`);
  return `${parts.join('; ')}.`;
}

/** Entries of `map` with a non-zero value, in the fixed key order. */
function nonZero(keys: readonly string[], map: Record<string, number>): Array<[string, number]> {
  return keys.flatMap((k): Array<[string, number]> => {
    const v = map[k] ?? 0;
    return v !== 0 ? [[k, v]] : [];
  });
}

/** `very_low` → `very low`: reads better for a language model. */
function label(symbol: string): string {
  return symbol.replaceAll('_', ' ');
}

function plural(n: number, unit: string): string {
  return `${num(n)} ${unit}${n === 1 ? '' : 's'}`;
}

/** Integers without decimals, anything else with two; never locale-formatted. */
function num(n: number): string {
  return Number.isInteger(n) ? n.toFixed(0) : n.toFixed(2);
}

function fixed2(n: number): string {
  const s = n.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

/** Two decimals with an explicit sign; a value that rounds to zero prints as `+0.00`. */
function signed2(n: number): string {
  const s = Math.abs(n).toFixed(2);
  return n < 0 && s !== '0.00' ? `-${s}` : `+${s}`;
}
