import type { ContextAggregated } from '../../contracts/snapshot.js';
import { snapshotFacts, type SnapshotFacts } from './snapshot-facts.js';

/**
 * Version of the text this renderer writes: raise it with every change of `renderText`'s output.
 * Part of the index version (src/contracts/index-version.ts): a new text version is a new
 * collection, built by `aura-stream reindex` (docs/reindex.md).
 */
export const TEXT_VERSION = 1;

/** A snapshot before its text is rendered. */
export type SnapshotWithoutText = Omit<ContextAggregated, 'text'>;

/** What the text is rendered from: the window fields only (a stored point's payload holds them too). */
export type RenderInput = Pick<SnapshotWithoutText, 'window_days' | 'mood' | 'activity' | 'recent_notes'>;

/**
 * Renders a snapshot as a few short plain-language sentences, for an embedding model (semantic
 * search by questions such as "mood getting worse" or "mostly mindfulness") and for an agent.
 * Every word is chosen from the statistics by the thresholds of `snapshotFacts`
 * (src/pipeline/domain/snapshot-facts.ts); the exact figures and the notes live in the point payload.
 *
 * Why this shape (measured by bench/retrieval.ts): a sentence-embedding model matches words, not
 * numbers, so each fact is said in the words a question would use; the direction leads its
 * sentence with one verb ("improving", "declining") because MiniLM places "getting better" and
 * "getting worse" close together; notes are left out, since a quoted note outweighs the facts
 * (their themes still count, through the lexicon of snapshotFacts).
 *
 * Contract: a pure function of the window fields only — window_days, mood, activity,
 * recent_notes. User id, dates, trigger, trace and source fields are left out on purpose, so equal
 * windows give byte-equal text whichever event or user produced them (and hit the embedding
 * cache). No clock, no randomness, no locale: numbers are integers or toFixed(1).
 *
 * Grammar (optional parts in brackets; <level> = mostly low | mixed | mostly good):
 *   Mood improving: <level> and getting better[, with mood swings up and down] (<n> logged).
 *     | Mood declining: <level> and getting worse[, with mood swings up and down] (<n> logged).
 *     | Mood steady: <level> (<n> logged).
 *     | Mood swings: <level>, up and down (<n> logged).
 *     | <Level> mood (<n> logged).
 *     | Mood not rated (<n> logged). | No moods logged.
 *   <Mostly <type>|Mix of <type> and <type>|Only <type>>, about <amount> <this week|in <d> days>[, mostly gentle|moderate|hard sessions].
 *     <Active almost every day|Active some days|Rarely active> (<a> of <d> days)[, <s>-day streak].
 *     | No activity logged.
 *   [Often mentions <theme>[, <theme>] and <theme>.]
 */
export function renderText(snapshot: RenderInput): string {
  const { mood, activity, notes } = renderAspects(snapshot);
  return [mood, activity, notes].filter((s) => s !== '').join(' ');
}

/** The text's sentences by aspect (mood; activity; themes, '' when none): `renderText` joins them. */
export function renderAspects(snapshot: RenderInput): { mood: string; activity: string; notes: string } {
  const facts = snapshotFacts(snapshot);
  return {
    mood: moodSentence(snapshot.mood, facts),
    activity: activitySentences(snapshot.activity, snapshot.window_days, facts).join(' '),
    notes: facts.themes.length > 0 ? `Often mentions ${list(facts.themes)}.` : '',
  };
}

const LEVEL_WORDS = { low: 'mostly low', mixed: 'mixed', good: 'mostly good' } as const;
const LEVEL_MOOD = { low: 'Mostly low mood', mixed: 'Mixed mood', good: 'Mostly good mood' } as const;
const CONSISTENCY_WORDS = { 'almost daily': 'Active almost every day', 'some days': 'Active some days', rarely: 'Rarely active' } as const;
const INTENSITY_WORDS = { gentle: 'mostly gentle sessions', moderate: 'mostly moderate sessions', hard: 'mostly hard sessions', mixed: '' } as const;

function moodSentence(mood: RenderInput['mood'], facts: SnapshotFacts): string {
  if (mood.count === 0) return 'No moods logged.';
  const logged = ` (${mood.count.toFixed(0)} logged).`;
  if (facts.moodLevel === null) return `Mood not rated${logged}`;
  const swings = facts.variable ? ', with mood swings up and down' : '';
  const level = LEVEL_WORDS[facts.moodLevel];
  if (facts.direction === 'better') return `Mood improving: ${level} and getting better${swings}${logged}`;
  if (facts.direction === 'worse') return `Mood declining: ${level} and getting worse${swings}${logged}`;
  // "steady" next to swings would contradict them: a flat but swinging mood is only said to swing,
  // with "swings" leading as the verbs lead the other directions.
  if (facts.direction === 'steady' && !facts.variable) return `Mood steady: ${level}${logged}`;
  if (facts.variable) return `Mood swings: ${level}, up and down${logged}`;
  return `${LEVEL_MOOD[facts.moodLevel]}${logged}`;
}

function activitySentences(activity: RenderInput['activity'], windowDays: number, facts: SnapshotFacts): string[] {
  if (activity.sessions === 0) return ['No activity logged.'];
  const types = facts.activityTypes.map(label);
  const what =
    types.length === 1 ? `Only ${types[0]}` : facts.dominantActivity !== null ? `Mostly ${label(facts.dominantActivity)}` : `Mix of ${types[0]} and ${types[1]}`;
  const period = windowDays === 7 ? 'this week' : `in ${windowDays.toFixed(0)} days`;
  const first = [what, `about ${amount(activity.total_minutes)} ${period}`];
  const intensity = facts.intensity === null ? '' : INTENSITY_WORDS[facts.intensity];
  if (intensity !== '') first.push(intensity);
  const streak = activity.streak_days >= 2 ? `, ${activity.streak_days.toFixed(0)}-day streak` : '';
  // A window of 7 × 24 h touches up to 8 calendar days: the count is capped at the window's days.
  const days = `${Math.min(activity.active_days, windowDays).toFixed(0)} of ${windowDays.toFixed(0)} days`;
  return [`${first.join(', ')}.`, `${CONSISTENCY_WORDS[facts.consistency ?? 'rarely']} (${days})${streak}.`];
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

/** `other` → `other activities`; the enum symbols are otherwise plain words. */
function label(type: string): string {
  return type === 'other' ? 'other activities' : type.replaceAll('_', ' ');
}
