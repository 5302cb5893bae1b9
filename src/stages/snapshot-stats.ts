import { ACTIVITY_TYPES, INTENSITIES, MOOD_LEVELS } from '../contracts/events.js';
import type { MoodLevel } from '../contracts/events.js';
import type { ActivityStats, MoodStats, TagCount } from '../contracts/snapshot.js';
import type { ActivityEntry, MoodEntry, WindowEntry } from '../contracts/window.js';
import { DAY_MS, compareEntries } from './roll-window.js';

/**
 * The statistics of docs/ARCHITECTURE.md §3b, computed from a window's entries. Every
 * function sorts what it reads by (occurred_at, seq) first, so the result (down to the last bit of
 * every float) depends only on the set of entries, never on the order they are handed in.
 */

/** Mood score on the 1-5 scale; `unknown` (a symbol this build does not know) is not scored. */
export const MOOD_SCORES: Readonly<Record<(typeof MOOD_LEVELS)[number], number>> = {
  very_low: 1,
  low: 2,
  moderate: 3,
  good: 4,
  excellent: 5,
};

/** Keys of `MoodStats.distribution`, in the order they are written. */
export const MOOD_DISTRIBUTION_KEYS: readonly string[] = [...MOOD_LEVELS, 'unknown'];
/** Keys of `ActivityStats.minutes_by_type`, in the order they are written. */
export const ACTIVITY_TYPE_KEYS: readonly string[] = [...ACTIVITY_TYPES, 'other'];
/** Keys of `ActivityStats.minutes_by_intensity`, in the order they are written. */
export const INTENSITY_KEYS: readonly string[] = [...INTENSITIES, 'unknown'];

/** How many tags `top_tags` lists. */
export const TOP_TAGS = 5;
/** How many notes `recent_notes` lists. */
export const RECENT_NOTES = 3;
/** Length of a recent note, in Unicode code points. */
export const NOTE_MAX_CODE_POINTS = 200;

export function moodScore(level: MoodLevel): number | null {
  return Object.hasOwn(MOOD_SCORES, level) ? MOOD_SCORES[level as keyof typeof MOOD_SCORES] : null;
}

/**
 * Mood statistics of the window.
 *
 * Decisions where docs/ARCHITECTURE.md is silent:
 * - `count` is the number of mood entries, scored or not; `mean`/`min`/`max`/`stddev`/`trend_per_day`
 *   are over the scored moods only and null when there is none (so `count` > 0 with a null mean
 *   means every mood had an unknown level).
 * - `latest` considers every mood, scored or not: it can be `unknown`. Null only when count is 0.
 * - The trend's time axis is `occurred_at` in days; the slope does not depend on the origin.
 * - A tag counts once per mood: `["Work", "work "]` on one mood adds 1 to `work`. Names are
 *   compared by UTF-16 code units (not localeCompare), so the order is the same on every host.
 */
export function moodStats(entries: readonly WindowEntry[]): MoodStats {
  const moods = entries.filter((e): e is MoodEntry => e.kind === 'mood').sort(compareEntries);

  const distribution = zeroes(MOOD_DISTRIBUTION_KEYS);
  for (const m of moods) distribution[bucket(MOOD_DISTRIBUTION_KEYS, m.level, 'unknown')]! += 1;

  const scored: Array<{ score: number; occurredAt: number }> = [];
  for (const m of moods) {
    const score = moodScore(m.level);
    if (score !== null) scored.push({ score, occurredAt: m.occurred_at });
  }

  let mean: number | null = null;
  let min: number | null = null;
  let max: number | null = null;
  let stddev: number | null = null;
  if (scored.length > 0) {
    let sum = 0;
    for (const s of scored) sum += s.score;
    mean = sum / scored.length;
    min = Math.min(...scored.map((s) => s.score));
    max = Math.max(...scored.map((s) => s.score));
    let squares = 0;
    for (const s of scored) squares += (s.score - mean) ** 2;
    stddev = Math.sqrt(squares / scored.length);
  }

  return {
    count: moods.length,
    mean,
    min,
    max,
    stddev,
    trend_per_day: trendPerDay(scored),
    latest: moods.length === 0 ? null : moods[moods.length - 1]!.level,
    distribution,
    top_tags: topTags(moods),
  };
}

/**
 * Least-squares slope of score against time in days. Times are taken relative to the first
 * scored mood (the slope is shift-invariant; small numbers keep the sums exact enough).
 * Null with fewer than two scored moods or when they all share one occurred_at.
 */
function trendPerDay(scored: ReadonlyArray<{ score: number; occurredAt: number }>): number | null {
  if (scored.length < 2) return null;
  if (new Set(scored.map((s) => s.occurredAt)).size < 2) return null;
  const origin = scored[0]!.occurredAt;
  const xs = scored.map((s) => (s.occurredAt - origin) / DAY_MS);
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < scored.length; i++) {
    sumX += xs[i]!;
    sumY += scored[i]!.score;
  }
  const meanX = sumX / scored.length;
  const meanY = sumY / scored.length;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < scored.length; i++) {
    const dx = xs[i]! - meanX;
    sxx += dx * dx;
    sxy += dx * (scored[i]!.score - meanY);
  }
  return sxy / sxx;
}

function topTags(moods: readonly MoodEntry[]): TagCount[] {
  const counts = new Map<string, number>();
  for (const m of moods) {
    const tags = new Set(m.tags.map((t) => t.trim().toLowerCase()).filter((t) => t !== ''));
    for (const tag of tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return [...counts]
    .map(([tag, count]) => ({ tag, count }))
    .sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
    .slice(0, TOP_TAGS);
}

/**
 * Activity statistics of the window. `end` is the window end (the user's largest accepted
 * occurred_at), whose UTC date anchors the streak. Unrecognised enum values (impossible after
 * validation) are counted under the default symbol rather than dropped.
 */
export function activityStats(entries: readonly WindowEntry[], end: number): ActivityStats {
  const activities = entries.filter((e): e is ActivityEntry => e.kind === 'activity').sort(compareEntries);
  const byType = zeroes(ACTIVITY_TYPE_KEYS);
  const byIntensity = zeroes(INTENSITY_KEYS);
  const days = new Set<number>();
  let total = 0;
  for (const a of activities) {
    total += a.duration_minutes;
    byType[bucket(ACTIVITY_TYPE_KEYS, a.activity_type, 'other')]! += a.duration_minutes;
    byIntensity[bucket(INTENSITY_KEYS, a.intensity, 'unknown')]! += a.duration_minutes;
    days.add(utcDayNumber(a.occurred_at));
  }
  let streak = 0;
  const endDay = utcDayNumber(end);
  while (days.has(endDay - streak)) streak += 1;
  return {
    sessions: activities.length,
    total_minutes: total,
    minutes_by_type: byType,
    minutes_by_intensity: byIntensity,
    active_days: days.size,
    streak_days: streak,
  };
}

/**
 * The newest non-empty notes (mood `note`, activity `notes`), newest first by (occurred_at, seq).
 * A note is trimmed; one that is empty after trimming is skipped (the next one takes its place);
 * the trimmed text is cut to its first 200 code points, so a surrogate pair is never split.
 */
export function recentNotes(entries: readonly WindowEntry[]): string[] {
  const newestFirst = [...entries].sort(compareEntries).reverse();
  const notes: string[] = [];
  for (const e of newestFirst) {
    if (notes.length === RECENT_NOTES) break;
    const text = (e.kind === 'mood' ? e.note : e.notes)?.trim() ?? '';
    if (text !== '') notes.push(cutCodePoints(text, NOTE_MAX_CODE_POINTS));
  }
  return notes;
}

/** The first `max` Unicode code points of `text`. */
export function cutCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join('');
}

/** Days since the epoch of the UTC date of `epochMs`. */
function utcDayNumber(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

function zeroes(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = 0;
  return out;
}

function bucket(keys: readonly string[], value: string, fallback: string): string {
  return keys.includes(value) ? value : fallback;
}
