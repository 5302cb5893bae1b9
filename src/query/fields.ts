import { ACTIVITY_TYPES, INTENSITIES, MOOD_LEVELS } from '../contracts/events.js';
import type { FieldCondition } from '../ports.js';

/**
 * The payload fields a reader may filter and order by: the catalog behind `search --where/--order-by`,
 * `POST /v1/search`, the query's JSON schema, docs/search.md and the Qdrant payload indexes.
 *
 * Every field is one value per point (one point = one user's window on one UTC day, the last
 * snapshot of that day). Types:
 * - `keyword`: a string, compared whole (`eq`, `ne`, `in`).
 * - `integer`, `number`: compared and orderable (`eq`, `gt`, `gte`, `lt`, `lte`); null when the
 *   window has nothing to measure (e.g. no scored mood), and such points never match a comparison
 *   and are left out of an ordering.
 * - `boolean`: `eq` only.
 * - `keyword[]`: a list of strings (`contains` one, `in` = contains any of).
 */
export type FieldType = 'keyword' | 'integer' | 'number' | 'boolean' | 'keyword[]';

export interface QueryField {
  type: FieldType;
  /** What the value means, in the words an agent reads before choosing a field. */
  meaning: string;
  /** The values a keyword field takes (documented and checked). */
  values?: readonly string[];
  /** Qdrant payload index type; every field has one, so filters and ordering stay indexed. */
  index: 'keyword' | 'integer' | 'float' | 'bool';
}

export const OPS_BY_TYPE: Readonly<Record<FieldType, ReadonlyArray<FieldCondition['op']>>> = {
  keyword: ['eq', 'ne', 'in'],
  integer: ['eq', 'gt', 'gte', 'lt', 'lte'],
  number: ['eq', 'gt', 'gte', 'lt', 'lte'],
  boolean: ['eq'],
  'keyword[]': ['contains', 'in'],
};

const int = (meaning: string): QueryField => ({ type: 'integer', meaning, index: 'integer' });
const num = (meaning: string): QueryField => ({ type: 'number', meaning, index: 'float' });
const kw = (meaning: string, values?: readonly string[]): QueryField => ({ type: 'keyword', meaning, index: 'keyword', ...(values && { values }) });

const MOOD_SCALE = 'on the 1-5 mood scale (very_low 1, low 2, moderate 3, good 4, excellent 5)';

export const QUERY_FIELDS: Readonly<Record<string, QueryField>> = {
  user_id: kw('The user the window belongs to.'),
  day: kw('UTC date (YYYY-MM-DD) the window ends on; for ranges use since/until.'),
  window_end: int('End of the window (epoch ms): the time of its newest event. Order by it for the latest context.'),
  event_count: int('Events (moods and activities) in the window.'),
  mood_count: int('Moods logged in the window.'),
  mood_mean: num(`Mean mood ${MOOD_SCALE}; null without a scored mood. Lowest = worst mood, highest = best.`),
  mood_stddev: num('Population standard deviation of the mood scores: how much the mood went up and down.'),
  mood_min: num(`Lowest mood ${MOOD_SCALE}.`),
  mood_max: num(`Highest mood ${MOOD_SCALE}.`),
  mood_trend_per_day: num('Least-squares slope of the mood score per day over the window: > 0 picking up, < 0 getting worse; null with fewer than two moods.'),
  mood_latest: kw('Level of the newest mood in the window.', MOOD_LEVELS),
  mood_level: kw('Overall mood: low (mean ≤ 2.5), good (mean ≥ 3.5), else mixed.', ['low', 'mixed', 'good']),
  mood_direction: kw('Direction of the mood over the window: better (slope ≥ +0.1/day), worse (≤ -0.1/day), else steady; null with fewer than 3 scored moods.', ['better', 'worse', 'steady']),
  mood_variable: { type: 'boolean', meaning: 'The mood went up and down (standard deviation ≥ 1 over ≥ 3 scored moods).', index: 'bool' },
  activity_sessions: int('Activity sessions in the window.'),
  activity_minutes: int('Minutes of activity in the window, all types: the most active windows have the most.'),
  ...Object.fromEntries(ACTIVITY_TYPES.map((t) => [`minutes_by_type.${t}`, int(`Minutes of ${t} activity in the window.`)])),
  ...Object.fromEntries(INTENSITIES.map((i) => [`minutes_by_intensity.${i}`, int(`Minutes of ${i}-intensity activity in the window.`)])),
  active_days: int('Distinct UTC days with an activity in the window (of window_days, 7 by default).'),
  streak_days: int('Consecutive days with an activity ending on the window\'s last day.'),
  main_activity: kw('The activity type with at least half of the minutes; null when none has.', ACTIVITY_TYPES),
  intensity: kw('The intensity with at least half of the minutes: gentle (low), moderate, hard (high), else mixed.', ['gentle', 'moderate', 'hard', 'mixed']),
  themes: { type: 'keyword[]', meaning: 'Recurring themes of the window from mood tags and notes (sleep, work, family, stress, friends, outdoors, exercise, meditation, ...), most mentioned first.', index: 'keyword' },
};

export const FIELD_NAMES: readonly string[] = Object.keys(QUERY_FIELDS);
/** Fields an order_by may name: the numeric ones. */
export const ORDERABLE_FIELDS: readonly string[] = FIELD_NAMES.filter((f) => {
  const t = QUERY_FIELDS[f]!.type;
  return t === 'integer' || t === 'number';
});

/** Where a field's value sits in the payload: a top-level key, or a map key one level down. */
export function fieldPath(field: string): [string] | [string, string] {
  const dot = field.indexOf('.');
  return dot < 0 ? [field] : [field.slice(0, dot), field.slice(dot + 1)];
}
