import type { ContextAggregated } from '../../src/contracts/snapshot.js';

/**
 * The question families of bench/retrieval.ts: what people ask of the index, and which points are
 * the right answers.
 *
 * Rules this file keeps (and why it must not be edited to chase a score):
 * - The wordings were written before looking at the rendered texts, the way a person or an agent
 *   would ask: first person, third person, synonyms the text may not use, degree and negation
 *   words ("barely", "not at all", "every single day").
 * - Each family's truth is a predicate over the payload's statistics (mood mean, slope, spread,
 *   minutes per type and intensity, active days, tag counts), never over the text. The thresholds
 *   below are this file's own, chosen for what the words mean to a reader; they do not import the
 *   text renderer's thresholds.
 * - Every family's wordings are split once into a tuning half and a held-out half (the two arrays
 *   below). Text, thresholds of the renderer, models and fusion are chosen on the tuning half
 *   only; the held-out half is reported, never tuned on. The list was committed before any model
 *   or text change that it measures.
 */

export interface QuestionFamily {
  id: string;
  aspect: string;
  /** The truth predicate in words (printed next to the figures). */
  truth: string;
  trait: (s: ContextAggregated) => boolean;
  /** Wordings that may be used to choose text, model and fusion. */
  tuning: readonly string[];
  /** Wordings that are only reported. */
  heldOut: readonly string[];
}

/** Fewer scored moods than this say nothing about a level, a direction or a spread. */
const LEVEL_MIN_MOODS = 3;
const SHAPE_MIN_MOODS = 4;
/** Mean score (very_low 1 .. excellent 5) at or below which a person is "down". */
const LOW_MEAN = 2.5;
/** Mean score at or above which a person is "in a great mood". */
const HIGH_MEAN = 4.0;
/** Least-squares slope, levels per day: 0.1/day is about 0.7 of a level across a week. */
const SLOPE = 0.1;
/** Population standard deviation of scores: swings vs an even keel. */
const SWING_SD = 1.0;
const STEADY_SD = 0.6;
/** Share of minutes that makes a type or an intensity "mostly", and the minutes it needs. */
const MOSTLY = 0.5;
const MIN_MINUTES = 30;
/** Active days of the 7-day window. */
const DAILY_DAYS = 6;
const BARELY_DAYS = 1;
const LITTLE_DAYS = 2;
/** A theme: its tag on at least this many moods and at least this share of them. */
const THEME_MIN_TAGGED = 2;
const THEME_SHARE = 0.25;

const scored = (s: ContextAggregated) => s.mood.count - (s.mood.distribution['unknown'] ?? 0);
const meanAtMost = (s: ContextAggregated, x: number) => scored(s) >= LEVEL_MIN_MOODS && s.mood.mean !== null && s.mood.mean <= x;
const meanAtLeast = (s: ContextAggregated, x: number) => scored(s) >= LEVEL_MIN_MOODS && s.mood.mean !== null && s.mood.mean >= x;
const slope = (s: ContextAggregated) => (scored(s) >= SHAPE_MIN_MOODS ? s.mood.trend_per_day : null);
const spread = (s: ContextAggregated) => (scored(s) >= SHAPE_MIN_MOODS ? s.mood.stddev : null);
const typeMostly = (type: string) => (s: ContextAggregated) =>
  s.activity.total_minutes >= MIN_MINUTES && (s.activity.minutes_by_type[type] ?? 0) / s.activity.total_minutes >= MOSTLY;
const intensityMostly = (level: string) => (s: ContextAggregated) => {
  const m = s.activity.minutes_by_intensity;
  const known = (m['low'] ?? 0) + (m['moderate'] ?? 0) + (m['high'] ?? 0);
  return known >= MIN_MINUTES && (m[level] ?? 0) / known >= MOSTLY;
};
const tagged = (tag: string) => (s: ContextAggregated) => {
  const count = s.mood.top_tags.find((t) => t.tag === tag)?.count ?? 0;
  return count >= THEME_MIN_TAGGED && count >= THEME_SHARE * s.mood.count;
};

const TYPE_QUESTIONS: Record<string, { tuning: string[]; heldOut: string[] }> = {
  cardio: {
    tuning: ['I mostly go running', 'she does a lot of cycling and jogging', 'someone into aerobic exercise like swimming'],
    heldOut: ['he mainly runs', 'my workouts are mostly cardio', 'spends most of their exercise time on the treadmill or the bike'],
  },
  strength: {
    tuning: ['I lift weights most of the time', "she's into weight training at the gym", 'mostly resistance training'],
    heldOut: ['he does a lot of bodybuilding and lifting', 'my exercise is mostly strength work', 'pumping iron'],
  },
  flexibility: {
    tuning: ['I do yoga most days', 'she mostly stretches', 'someone focused on mobility and flexibility'],
    heldOut: ['he spends his workouts stretching', 'mainly pilates and yoga', 'my exercise is mostly stretching and limbering up'],
  },
  mindfulness: {
    tuning: ['I meditate a lot', 'she spends her activity time on meditation and breathing exercises', 'mostly mindfulness practice'],
    heldOut: [
      'he practises meditation regularly instead of workouts',
      'my sessions are mostly breathwork and relaxation',
      'someone whose exercise is mainly calm, meditative practice',
    ],
  },
};

export const FAMILIES: readonly QuestionFamily[] = [
  {
    id: 'mood-low',
    aspect: 'mood level',
    truth: `>= ${LEVEL_MIN_MOODS} scored moods, mean <= ${LOW_MEAN}`,
    trait: (s) => meanAtMost(s, LOW_MEAN),
    tuning: ["I've been feeling down most of the time", 'someone who is sad and miserable lately', 'not happy at all this week'],
    heldOut: ['she has been really depressed and gloomy', 'my mood has been pretty bad', 'users who feel blue nearly every day'],
  },
  {
    id: 'mood-high',
    aspect: 'mood level',
    truth: `>= ${LEVEL_MIN_MOODS} scored moods, mean >= ${HIGH_MEAN}`,
    trait: (s) => meanAtLeast(s, HIGH_MEAN),
    tuning: ["I've been in a great mood", 'he seems really happy and cheerful', "feeling fantastic, couldn't be better"],
    heldOut: ['in high spirits all week', 'someone who is upbeat and content', 'my mood has been excellent lately'],
  },
  {
    id: 'improving',
    aspect: 'direction',
    truth: `>= ${SHAPE_MIN_MOODS} scored moods, slope >= +${SLOPE}/day`,
    trait: (s) => (slope(s) ?? 0) >= SLOPE,
    tuning: ["I'm starting to feel better", 'her mood is picking up', 'things are looking up emotionally'],
    heldOut: ["he's been recovering and feeling brighter each day", 'my mood went from bad to good this week', 'someone getting happier over time'],
  },
  {
    id: 'worsening',
    aspect: 'direction',
    truth: `>= ${SHAPE_MIN_MOODS} scored moods, slope <= -${SLOPE}/day`,
    trait: (s) => (slope(s) ?? 0) <= -SLOPE,
    tuning: ["I've been feeling worse and worse", 'his mood is going downhill', 'a user whose spirits are sinking'],
    heldOut: ['my mood keeps dropping', "she was fine at first but now she's struggling", 'mood deteriorating over the week'],
  },
  {
    id: 'variable',
    aspect: 'variability',
    truth: `>= ${SHAPE_MIN_MOODS} scored moods, sd >= ${SWING_SD}`,
    trait: (s) => (spread(s) ?? 0) >= SWING_SD,
    tuning: ['my emotions are all over the place', 'she has big ups and downs', 'an emotional rollercoaster'],
    heldOut: ['his mood is unpredictable, one day great and the next awful', 'I swing between happy and miserable', 'moods that change a lot from day to day'],
  },
  {
    id: 'stable',
    aspect: 'stability',
    truth: `>= ${SHAPE_MIN_MOODS} scored moods, sd <= ${STEADY_SD}, |slope| < ${SLOPE}/day`,
    trait: (s) => {
      const sd = spread(s);
      const k = slope(s);
      return sd !== null && sd !== undefined && sd <= STEADY_SD && k !== null && Math.abs(k) < SLOPE;
    },
    tuning: ['my mood has been pretty even, no big swings', 'someone emotionally steady and consistent', 'she feels about the same every day'],
    heldOut: ['on an even keel all week', 'his mood hardly changes', "I feel balanced and level, it doesn't go up and down"],
  },
  ...Object.entries(TYPE_QUESTIONS).map(
    ([type, q]): QuestionFamily => ({
      id: `mostly-${type}`,
      aspect: 'activity type',
      truth: `total >= ${MIN_MINUTES} min, ${type} >= ${MOSTLY * 100}% of minutes`,
      trait: typeMostly(type),
      ...q,
    }),
  ),
  {
    id: 'intensity-high',
    aspect: 'intensity',
    truth: `>= ${MIN_MINUTES} min of known intensity, high >= ${MOSTLY * 100}%`,
    trait: intensityMostly('high'),
    tuning: ['I push myself hard in my workouts', 'she does intense, vigorous training', 'high intensity sessions'],
    heldOut: ['he trains really hard, lots of HIIT', 'my workouts are exhausting and tough', 'strenuous exercise'],
  },
  {
    id: 'intensity-low',
    aspect: 'intensity',
    truth: `>= ${MIN_MINUTES} min of known intensity, low >= ${MOSTLY * 100}%`,
    trait: intensityMostly('low'),
    tuning: ['I keep my workouts easy and light', 'she exercises gently, nothing strenuous', 'low intensity sessions'],
    heldOut: ['he takes it easy when exercising', 'my exercise is relaxed and not very demanding', 'light, gentle movement'],
  },
  {
    id: 'very-active',
    aspect: 'consistency',
    truth: `active days >= ${DAILY_DAYS} of 7`,
    trait: (s) => s.activity.active_days >= DAILY_DAYS,
    tuning: ['I work out every single day', 'she exercises daily', 'someone who is very active and never skips a day'],
    heldOut: ['he trains almost every day of the week', "I haven't missed a workout all week", 'working out nearly every day'],
  },
  {
    id: 'barely-active',
    aspect: 'consistency',
    truth: `active days <= ${BARELY_DAYS} of 7`,
    trait: (s) => s.activity.active_days <= BARELY_DAYS,
    tuning: ["I've barely exercised", 'she hardly works out at all', 'someone who is not active, very little exercise'],
    heldOut: ['he has been mostly sedentary this week', "I haven't been moving much", 'only exercised once or not at all'],
  },
  {
    id: 'theme-work',
    aspect: 'theme',
    truth: `tag work on >= ${THEME_MIN_TAGGED} and >= ${THEME_SHARE * 100}% of moods`,
    trait: tagged('work'),
    tuning: ["I'm stressed about my job", 'she talks a lot about work', 'worries about deadlines and the office'],
    heldOut: ['his job is on his mind', 'work has been really demanding for me', 'someone preoccupied with their career and workload'],
  },
  {
    id: 'theme-sleep',
    aspect: 'theme',
    truth: `tag sleep on >= ${THEME_MIN_TAGGED} and >= ${THEME_SHARE * 100}% of moods`,
    trait: tagged('sleep'),
    tuning: ["I'm not sleeping well", 'she mentions sleep a lot', 'trouble sleeping, tired all the time'],
    heldOut: ['he has insomnia', "my rest has been poor and I'm exhausted", 'someone who keeps bringing up their sleep'],
  },
  {
    id: 'theme-stress',
    aspect: 'theme',
    truth: `tag stress on >= ${THEME_MIN_TAGGED} and >= ${THEME_SHARE * 100}% of moods`,
    trait: tagged('stress'),
    tuning: ['I feel anxious and stressed', 'she is under a lot of pressure', 'someone who is tense and worried'],
    heldOut: ['he feels overwhelmed', 'my anxiety has been high', 'stress keeps coming up'],
  },
  {
    id: 'theme-family',
    aspect: 'theme',
    truth: `tag family on >= ${THEME_MIN_TAGGED} and >= ${THEME_SHARE * 100}% of moods`,
    trait: tagged('family'),
    tuning: ['things with my family', 'she talks about her kids and partner', 'family life comes up often'],
    heldOut: ['he mentions his parents and children', 'my relatives have been on my mind', 'someone focused on home and family'],
  },
  {
    id: 'work-stress-and-sleep',
    aspect: 'combination',
    truth: 'theme work or stress, and theme sleep (as above)',
    trait: (s) => (tagged('work')(s) || tagged('stress')(s)) && tagged('sleep')(s),
    tuning: ['stressed about work and not sleeping', "she's anxious about her job and sleeping badly", 'work pressure keeping me up at night'],
    heldOut: ["he can't sleep because of his job", "I'm worried about work and exhausted from poor sleep", 'deadline stress and insomnia'],
  },
  {
    id: 'low-and-inactive',
    aspect: 'combination',
    truth: `mood low (as above) and active days <= ${LITTLE_DAYS} of 7`,
    trait: (s) => meanAtMost(s, LOW_MEAN) && s.activity.active_days <= LITTLE_DAYS,
    tuning: ["I'm feeling down and not exercising", "she's unhappy and has stopped working out", 'sad and inactive'],
    heldOut: ["he's depressed and barely moving", 'low mood with almost no exercise', "my mood is bad and I've skipped the gym all week"],
  },
];

/**
 * Questions about things the payload does not measure (hobbies, pets, places, food, plans), fixed
 * with the families' split and never tuned on. A query interpreter (src/query/interpret.ts) must
 * leave them as written: bench/retrieval.ts reports the share it turned into filters, the cost side
 * of interpreting at all.
 */
export const OFF_CATALOG: readonly string[] = [
  'plays the guitar in a band',
  'talks about their dog',
  'planning a trip abroad',
  'cooking dinner at home',
  'learning a new language',
  'mentions a birthday party',
  'moved to a new apartment',
  'watching football on TV',
  'reading a good book',
  'bought a new car',
];
