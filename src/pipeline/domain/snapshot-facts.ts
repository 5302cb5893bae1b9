import type { ActivityStats, MoodStats } from '../../contracts/snapshot.js';
import { ACTIVITY_TYPE_KEYS } from './snapshot-stats.js';

/**
 * The plain-language facts of a snapshot: each one a word chosen from the statistics by a fixed,
 * documented threshold. `renderText` puts them into sentences, the point payload carries them as
 * filterable fields, and the retrieval benchmark uses the same thresholds for its ground truth.
 *
 * Thresholds (mood scores: very_low 1 .. excellent 5):
 * - mood level: mean ≤ 2.5 → `low` ("mostly low"); mean ≥ 3.5 → `good` ("mostly good"); else `mixed`.
 * - direction: needs ≥ 3 scored moods and a trend; slope ≥ +0.1/day → `better`, ≤ -0.1/day →
 *   `worse`, else `steady`. Fewer moods → null (too few to tell).
 * - variability: needs ≥ 3 scored moods; population sd ≥ 1.0 → `up and down` (variable = true).
 * - dominant activity: the type with most minutes; "mostly <type>" when it holds ≥ 50 % of the
 *   minutes, else the two largest types are named as a mix.
 * - intensity: the intensity with ≥ 50 % of the minutes of known intensity: low → `gentle`,
 *   moderate → `moderate`, high → `hard`; none → `mixed`.
 * - consistency: active days ≥ 6/7 of the window days → `almost daily`, ≤ 2/7 → `rarely`, else
 *   `some days`.
 * - themes: per tag, the moods carrying it (top_tags) plus the recent notes that mention it (a
 *   small keyword lexicon for sleep, work, family, stress and friends); a theme recurs when it has
 *   ≥ 2 mentions and ≥ 20 % of the moods; at most 3, by mentions then name.
 */

export const MOOD_LOW_MAX = 2.5;
export const MOOD_GOOD_MIN = 3.5;
export const TREND_MIN_PER_DAY = 0.1;
export const MIN_SCORED_MOODS = 3;
export const VARIABLE_SD_MIN = 1.0;
export const DOMINANT_SHARE = 0.5;
export const INTENSITY_SHARE = 0.5;
export const ALMOST_DAILY_SHARE = 6 / 7;
export const RARELY_SHARE = 2 / 7;
export const THEME_MIN_MENTIONS = 2;
export const THEME_MIN_MOOD_SHARE = 0.2;
export const MAX_THEMES = 3;

export type MoodLevelWord = 'low' | 'mixed' | 'good';
export type Direction = 'better' | 'worse' | 'steady';
export type IntensityWord = 'gentle' | 'moderate' | 'hard' | 'mixed';
export type Consistency = 'almost daily' | 'some days' | 'rarely';

/**
 * Words for the notes lexicon; a note mentions a theme when one of its words matches. Notes of
 * activities talk about exercise, so words that also name exercise are kept out where the phrase
 * says so (each exclusion has a must-not-match case in test/pipeline/domain/snapshot-facts.test.ts):
 * - work: work, works, worked, working, workday(s), workweek, workload(s), workplace(s),
 *   workmate(s), co-worker(s), colleague(s), deadline(s), office, desk, meeting(s), boss, review;
 *   not workout(s), "work out" / "worked out" / "working out" / "work-out" (exercise, or "it
 *   worked out": neither is the job), not training "work" ("core work", "speed work", "hill
 *   work", …), not "meeting up" or "meeting friends" (social).
 * - sleep: not "tired of" (fed up, not sleepy).
 * - family: not a "training / running / gym / … partner".
 * - stress: not "stress fracture" or "stress test", not "blood pressure" (health, not strain).
 * Left as they are, on purpose: "it works" / "worked well" and "working on my form" (a mention of
 * work more often than not), "review" (a performance review, the case notes mean), "rested".
 */
export const THEME_LEXICON: Readonly<Record<string, RegExp>> = {
  sleep: /\b(sleep\w*|slept|rested|tired(?!\s+of\b)|insomnia|naps?)\b/i,
  work: /\b((?<!\b(?:core|speed|hill|track|interval|tempo|mobility|strength|accessory|technique|gym|leg|ab|bag|pad)[\s-])work(?:s|ed|ing|days?|week|loads?|places?|mates?)?\b(?![\s-]+out\b)|co-?workers?|colleagues?|deadlines?|office|desk|meetings?\b(?!\s+(?:up|(?:with\s+)?(?:(?:a|my|some|old|new)\s+)?friends?)\b)|boss|review)\b/i,
  family: /\b(family|sister|brother|kids?|children|mother|mom|dad|father|(?<!\b(?:training|running|gym|workout|lifting|sparring|climbing|cycling|tennis|squash|dance)[\s-])partner|parents?)\b/i,
  stress: /\b(stress\w*(?![\s-]+(?:fractures?|tests?)\b)|anxious|anxiety|(?<!\bblood\s)pressure|jittery|overwhelmed)\b/i,
  friends: /\b(friends?)\b/i,
};

export interface SnapshotFacts {
  /** Moods with a known level. */
  scoredMoods: number;
  moodLevel: MoodLevelWord | null;
  direction: Direction | null;
  variable: boolean;
  /** Activity types by minutes, largest first (ties in key order), zero minutes left out. */
  activityTypes: string[];
  /** Share of the minutes of the largest type (0 without activity). */
  dominantShare: number;
  /** The largest type when it holds ≥ 50 % of the minutes. */
  dominantActivity: string | null;
  intensity: IntensityWord | null;
  consistency: Consistency | null;
  themes: string[];
}

export function snapshotFacts(input: { mood: MoodStats; activity: ActivityStats; recent_notes: readonly string[]; window_days: number }): SnapshotFacts {
  const { mood, activity } = input;
  const scoredMoods = mood.count - (mood.distribution['unknown'] ?? 0);
  const enough = scoredMoods >= MIN_SCORED_MOODS;
  const moodLevel: MoodLevelWord | null = mood.mean === null ? null : mood.mean <= MOOD_LOW_MAX ? 'low' : mood.mean >= MOOD_GOOD_MIN ? 'good' : 'mixed';
  const trend = mood.trend_per_day;
  const direction: Direction | null =
    !enough || trend === null ? null : trend >= TREND_MIN_PER_DAY ? 'better' : trend <= -TREND_MIN_PER_DAY ? 'worse' : 'steady';
  const variable = enough && (mood.stddev ?? 0) >= VARIABLE_SD_MIN;

  const total = activity.total_minutes;
  const activityTypes = ACTIVITY_TYPE_KEYS.filter((k) => (activity.minutes_by_type[k] ?? 0) > 0).sort(
    (a, b) => (activity.minutes_by_type[b] ?? 0) - (activity.minutes_by_type[a] ?? 0),
  );
  const top = activityTypes[0];
  const dominantShare = total > 0 && top !== undefined ? (activity.minutes_by_type[top] ?? 0) / total : 0;
  const dominantActivity = top !== undefined && dominantShare >= DOMINANT_SHARE ? top : null;

  const low = activity.minutes_by_intensity['low'] ?? 0;
  const moderate = activity.minutes_by_intensity['moderate'] ?? 0;
  const high = activity.minutes_by_intensity['high'] ?? 0;
  const known = low + moderate + high;
  const intensity: IntensityWord | null =
    known === 0 ? null : low >= INTENSITY_SHARE * known ? 'gentle' : high >= INTENSITY_SHARE * known ? 'hard' : moderate >= INTENSITY_SHARE * known ? 'moderate' : 'mixed';

  const days = Math.max(1, input.window_days);
  const consistency: Consistency | null =
    activity.sessions === 0 ? null : activity.active_days >= ALMOST_DAILY_SHARE * days ? 'almost daily' : activity.active_days <= RARELY_SHARE * days ? 'rarely' : 'some days';

  return { scoredMoods, moodLevel, direction, variable, activityTypes, dominantShare, dominantActivity, intensity, consistency, themes: themes(mood, input.recent_notes) };
}

function themes(mood: MoodStats, notes: readonly string[]): string[] {
  const mentions = new Map<string, number>();
  for (const { tag, count } of mood.top_tags) mentions.set(tag, count);
  for (const [theme, pattern] of Object.entries(THEME_LEXICON)) {
    const n = notes.filter((note) => pattern.test(note)).length;
    if (n > 0) mentions.set(theme, (mentions.get(theme) ?? 0) + n);
  }
  const floor = Math.max(THEME_MIN_MENTIONS, THEME_MIN_MOOD_SHARE * mood.count);
  return [...mentions]
    .filter(([, n]) => n >= floor)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, MAX_THEMES)
    .map(([tag]) => tag);
}
