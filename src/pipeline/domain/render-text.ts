import type { ContextAggregated } from '../../contracts/snapshot.js';
import { MOOD_GOOD_MIN, MOOD_LOW_MAX, snapshotFacts, type SnapshotFacts } from './snapshot-facts.js';

/**
 * Version of the text this renderer writes: raise it with every change of `renderText`'s output.
 * Part of the index version (src/contracts/index-version.ts): a new text version is a new
 * collection, built by `aura-stream reindex` (docs/reindex.md). History (docs/retrieval.md, "Text versions"):
 * 1 the first plain-language text; 2 five mood levels, separate direction and spread sentences,
 * everyday words, the intensity leading; 3 the notes lexicon of snapshotFacts (THEME_LEXICON) no
 * longer counts exercise ("workout", "worked out", "core work"), "tired of", a training partner,
 * "stress fracture" or "blood pressure" as a theme, so fewer windows say "Often mentions work".
 */
export const TEXT_VERSION = 3;

/** A snapshot before its text is rendered. */
export type SnapshotWithoutText = Omit<ContextAggregated, 'text'>;
/** What the text is rendered from: the window fields only (a stored point's payload holds them too). */
export type RenderInput = Pick<SnapshotWithoutText, 'window_days' | 'mood' | 'activity' | 'recent_notes'>;

/**
 * Renders a snapshot as a few short plain-language sentences, for an embedding model (semantic
 * search by questions such as "I've been feeling down" or "mostly yoga") and for an agent.
 * Every word is chosen from the statistics by fixed thresholds (`snapshotFacts` in
 * src/pipeline/domain/snapshot-facts.ts, and the finer text-only ones below); the exact figures and the
 * notes live in the point payload.
 *
 * Why this shape (measured by bench/retrieval.ts, chosen on its tuning half of questions): a
 * sentence-embedding model matches words, not numbers, and people do not ask in the data's
 * vocabulary. So each fact is said in the everyday words a question uses next to the technical
 * one ("flexibility (yoga, stretching)", "low mood, feeling down"); the mood level has five steps,
 * since "in a great mood" and "fairly good" are different questions; the direction (improving,
 * getting worse) and the spread (ups and downs, or stable) are separate sentences, since a mood
 * can be steady in direction and still swing; the intensity leads the activity sentence; no
 * sentence states a fact by denying its opposite ("not happy"), which a model reads as the
 * opposite. Notes are left out, since a quoted note
 * outweighs the facts (their themes still count, through the lexicon of snapshotFacts).
 *
 * Contract: a pure function of the window fields only — window_days, mood, activity,
 * recent_notes. User id, dates, trigger, trace and source fields are left out on purpose, so equal
 * windows give byte-equal text whichever event or user produced them (and hit the embedding
 * cache). No clock, no randomness, no locale: numbers are integers.
 *
 * Grammar (optional parts in brackets):
 *   <Very low mood, feeling down and unhappy | Low mood, feeling down and unhappy | Mixed mood, so-so
 *    | Good mood, fairly happy | Great mood, happy and cheerful> (<n> logged).
 *     | Mood not rated (<n> logged). | No moods logged.
 *   [Mood improving, feeling better lately. | Mood getting worse, feeling worse lately.]
 *   [Mood varies a lot, ups and downs from day to day. | Mood stable and consistent, about the same each day.]
 *   [Gentle, easy workouts: |Moderate workouts: |Hard, intense workouts: ]<Mostly <type>|Mix of <type> and <type>|Only <type>>
 *     (lower-cased after the intensity), about <amount> <this week|in <d> days>.
 *     <Exercises almost every day|Exercises some days|Rarely exercises|Barely active, little exercise> (<a> of <d> days)[, <s>-day streak].
 *     | No exercise logged, inactive.
 *   [Often mentions <theme>[, <theme>] and <theme>.]
 * where <type> is e.g. "flexibility (yoga, stretching)" (TYPE_WORDS) and <theme> e.g. "work (job, deadlines)" (THEME_WORDS).
 */
export function renderText(snapshot: RenderInput): string {
  const { mood, activity, notes } = renderAspects(snapshot);
  return [mood, activity, notes].filter((s) => s !== '').join(' ');
}

/** The text's sentences by aspect (mood; activity; themes, '' when none): `renderText` joins them. */
export function renderAspects(snapshot: RenderInput): { mood: string; activity: string; notes: string } {
  const facts = snapshotFacts(snapshot);
  return {
    mood: moodSentences(snapshot.mood, facts).join(' '),
    activity: activitySentences(snapshot.activity, snapshot.window_days, facts).join(' '),
    notes: facts.themes.length > 0 ? `Often mentions ${list(facts.themes.map(themeWords))}.` : '',
  };
}

/** Text-only thresholds on the mean score (very_low 1 .. excellent 5), finer than the payload's mood_level. */
export const MOOD_VERY_LOW_MAX = 1.75;
export const MOOD_GREAT_MIN = 4.0;
/** Population sd at or below which a mood with no clear direction is said to be stable. */
export const MOOD_STABLE_SD_MAX = 0.6;

const TYPE_WORDS: Readonly<Record<string, string>> = {
  cardio: 'cardio (running, cycling, swimming)',
  strength: 'strength training (weights, gym)',
  flexibility: 'flexibility (yoga, stretching)',
  mindfulness: 'mindfulness (meditation, breathing exercises)',
  other: 'other activities',
};
const THEME_WORDS: Readonly<Record<string, string>> = {
  work: 'work (job, deadlines)',
  stress: 'stress (anxious, under pressure)',
  sleep: 'sleep and tiredness',
  family: 'family (kids, partner)',
  friends: 'friends (social life)',
  outdoors: 'the outdoors',
};
const INTENSITY_WORDS = { gentle: 'Gentle, easy workouts', moderate: 'Moderate workouts', hard: 'Hard, intense workouts', mixed: '' } as const;

function moodLevelWords(mean: number): string {
  if (mean <= MOOD_VERY_LOW_MAX) return 'Very low mood, feeling down and unhappy';
  if (mean <= MOOD_LOW_MAX) return 'Low mood, feeling down and unhappy';
  if (mean < MOOD_GOOD_MIN) return 'Mixed mood, so-so';
  if (mean < MOOD_GREAT_MIN) return 'Good mood, fairly happy';
  return 'Great mood, happy and cheerful';
}

function moodSentences(mood: RenderInput['mood'], facts: SnapshotFacts): string[] {
  if (mood.count === 0) return ['No moods logged.'];
  const logged = ` (${mood.count.toFixed(0)} logged).`;
  if (mood.mean === null) return [`Mood not rated${logged}`];
  const out = [`${moodLevelWords(mood.mean)}${logged}`];
  if (facts.direction === 'better') out.push('Mood improving, feeling better lately.');
  if (facts.direction === 'worse') out.push('Mood getting worse, feeling worse lately.');
  if (facts.variable) out.push('Mood varies a lot, ups and downs from day to day.');
  else if (facts.direction === 'steady' && mood.stddev !== null && mood.stddev <= MOOD_STABLE_SD_MAX) out.push('Mood stable and consistent, about the same each day.');
  return out;
}

function activitySentences(activity: RenderInput['activity'], windowDays: number, facts: SnapshotFacts): string[] {
  if (activity.sessions === 0) return ['No exercise logged, inactive.'];
  const types = facts.activityTypes.map(typeWords);
  const what =
    types.length === 1 ? `Only ${types[0]}` : facts.dominantActivity !== null ? `Mostly ${typeWords(facts.dominantActivity)}` : `Mix of ${types[0]} and ${types[1]}`;
  const period = windowDays === 7 ? 'this week' : `in ${windowDays.toFixed(0)} days`;
  const intensity = facts.intensity === null ? '' : INTENSITY_WORDS[facts.intensity];
  // The intensity leads its sentence: at the end of a long one, "hard, intense" weighed less than a
  // stressed, worsening mood elsewhere in another user's text (bge-small ranked that user first for
  // "hard, intense workouts"); leading, it raised the tuning half for both models.
  const lead = intensity === '' ? what : `${intensity}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`;
  const streak = activity.streak_days >= 2 ? `, ${activity.streak_days.toFixed(0)}-day streak` : '';
  // A window of 7 × 24 h touches up to 8 calendar days: the count is capped at the window's days.
  const active = Math.min(activity.active_days, windowDays);
  const days = `${active.toFixed(0)} of ${windowDays.toFixed(0)} days`;
  const how =
    facts.consistency === 'almost daily' ? 'Exercises almost every day' : facts.consistency === 'some days' ? 'Exercises some days' : active <= 1 ? 'Barely active, little exercise' : 'Rarely exercises';
  return [`${lead}, about ${amount(activity.total_minutes)} ${period}.`, `${how} (${days})${streak}.`];
}

/** Minutes in words: under 90 to the nearest 10 minutes, else to the nearest half hour. */
function amount(minutes: number): string {
  if (minutes < 90) return `${Math.max(10, Math.round(minutes / 10) * 10).toFixed(0)} minutes`;
  const hours = Math.round(minutes / 30) / 2;
  return `${Number.isInteger(hours) ? hours.toFixed(0) : hours.toFixed(1)} hours`;
}

/** `a`, `a and b`, `a, b and c`. */
function list(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** An activity type with the everyday words for it; unknown symbols as plain words. */
function typeWords(type: string): string {
  return TYPE_WORDS[type] ?? type.replaceAll('_', ' ');
}

/** A theme (a mood tag) with the everyday words for it; other tags as they are. */
function themeWords(tag: string): string {
  return THEME_WORDS[tag] ?? tag.replaceAll('_', ' ');
}
