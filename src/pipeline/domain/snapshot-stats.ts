import { ACTIVITY_TYPES, INTENSITIES, MOOD_LEVELS } from '../../contracts/events.js';
import type { MoodLevel } from '../../contracts/events.js';
import type { ActivityStats, MoodStats, TagCount } from '../../contracts/snapshot.js';
import type { ActivityEntry, MoodEntry, WindowEntry } from '../../contracts/window.js';
import { DAY_MS, compareEntries } from './window-entries.js';

/**
 * The statistics of docs/ARCHITECTURE.md §3b, computed from a window's entries: the
 * definition, and the reference that the incremental statistics (window-state.ts) are tested
 * against. Floats come from exact integer sums (ScoreSums), so the result, down to the last bit,
 * depends only on the set of entries, never on their order, and a running total kept by adding
 * and removing entries gives the same bits.
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

  const sums = emptyScoreSums();
  for (const m of moods) {
    const score = moodScore(m.level);
    if (score !== null) addScore(sums, score, m.occurred_at, 1);
  }

  return {
    count: moods.length,
    ...scoreStats(sums),
    latest: moods.length === 0 ? null : moods[moods.length - 1]!.level,
    distribution,
    top_tags: topTagsOf(tagCounts(moods)),
  };
}

/**
 * Exact sufficient statistics of the scored moods: integer sums only, so adding and removing a
 * mood in any order gives the same values, and the floats below are computed once from them.
 * `x` is occurred_at in epoch ms (an integer), `y` the score; the x sums are BigInt because x² and
 * x·y pass 2^53.
 */
export interface ScoreSums {
  n: number;
  sumY: number;
  sumYY: number;
  /** Moods per score, index = score (1..5): gives min and max. */
  perScore: number[];
  sumX: bigint;
  sumXX: bigint;
  sumXY: bigint;
}

export function emptyScoreSums(): ScoreSums {
  return { n: 0, sumY: 0, sumYY: 0, perScore: [0, 0, 0, 0, 0, 0], sumX: 0n, sumXX: 0n, sumXY: 0n };
}

/** Adds (`sign` 1) or removes (`sign` -1) one scored mood. */
export function addScore(s: ScoreSums, score: number, occurredAt: number, sign: 1 | -1): void {
  const x = BigInt(occurredAt);
  const y = BigInt(score);
  s.n += sign;
  s.sumY += sign * score;
  s.sumYY += sign * score * score;
  s.perScore[score]! += sign;
  if (sign === 1) {
    s.sumX += x;
    s.sumXX += x * x;
    s.sumXY += x * y;
  } else {
    s.sumX -= x;
    s.sumXX -= x * x;
    s.sumXY -= x * y;
  }
}

/**
 * mean, min, max, stddev and trend from the exact sums. Each float is one rounding away from
 * exact integers, so the result depends only on the set of scored moods:
 * - mean = Σy / n;
 * - stddev (population) = √(nΣy² − (Σy)²) / n;
 * - trend_per_day = (nΣxy − ΣxΣy) · DAY_MS / (nΣx² − (Σx)²), the least-squares slope; null with
 *   fewer than two scored moods or when they all share one occurred_at (the denominator is 0).
 */
export function scoreStats(s: ScoreSums): Pick<MoodStats, 'mean' | 'min' | 'max' | 'stddev' | 'trend_per_day'> {
  if (s.n === 0) return { mean: null, min: null, max: null, stddev: null, trend_per_day: null };
  let min = 1;
  while (s.perScore[min] === 0) min += 1;
  let max = 5;
  while (s.perScore[max] === 0) max -= 1;
  const n = BigInt(s.n);
  const den = n * s.sumXX - s.sumX * s.sumX;
  const trend = s.n < 2 || den === 0n ? null : Number((n * s.sumXY - s.sumX * BigInt(s.sumY)) * BigInt(DAY_MS)) / Number(den);
  return {
    mean: s.sumY / s.n,
    min,
    max,
    stddev: Math.sqrt(s.n * s.sumYY - s.sumY * s.sumY) / s.n,
    trend_per_day: trend,
  };
}

/** Normalised tags of one mood: trimmed, lower-cased, non-empty, each once. */
export function moodTags(mood: MoodEntry): string[] {
  const out: string[] = [];
  for (const t of mood.tags) {
    const tag = t.trim().toLowerCase();
    if (tag !== '' && !out.includes(tag)) out.push(tag);
  }
  return out;
}

function tagCounts(moods: readonly MoodEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of moods) for (const tag of moodTags(m)) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  return counts;
}

/**
 * The TOP_TAGS greatest by (count desc, tag asc by UTF-16 code units): one pass over the distinct
 * tags keeping a sorted run of at most TOP_TAGS, so the cost follows the tag vocabulary, not the
 * number of moods.
 */
export function topTagsOf(counts: ReadonlyMap<string, number>): TagCount[] {
  const top: TagCount[] = [];
  for (const [tag, count] of counts) {
    if (count <= 0) continue;
    let i = top.length;
    while (i > 0 && before(count, tag, top[i - 1]!)) i -= 1;
    if (i >= TOP_TAGS) continue;
    top.splice(i, 0, { tag, count });
    if (top.length > TOP_TAGS) top.pop();
  }
  return top;
}

function before(count: number, tag: string, other: TagCount): boolean {
  return count > other.count || (count === other.count && tag < other.tag);
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
  return {
    sessions: activities.length,
    total_minutes: total,
    minutes_by_type: byType,
    minutes_by_intensity: byIntensity,
    active_days: days.size,
    streak_days: streakDays(days, end),
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
    const text = noteOf(e);
    if (text !== '') notes.push(cutCodePoints(text, NOTE_MAX_CODE_POINTS));
  }
  return notes;
}

/** The entry's note (mood `note`, activity `notes`), trimmed; '' when absent or blank. */
export function noteOf(e: WindowEntry): string {
  return (e.kind === 'mood' ? e.note : e.notes)?.trim() ?? '';
}

/** Consecutive UTC days with an activity, ending on the UTC date of `end` (0 when that day has none). */
export function streakDays(days: { has(day: number): boolean }, end: number): number {
  let streak = 0;
  const endDay = utcDayNumber(end);
  while (days.has(endDay - streak)) streak += 1;
  return streak;
}

/** The first `max` Unicode code points of `text`. */
export function cutCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join('');
}

/** Days since the epoch of the UTC date of `epochMs`. */
export function utcDayNumber(epochMs: number): number {
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
