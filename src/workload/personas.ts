import { ACTIVITY_TYPES } from '../contracts/events.js';
import { userIdOf } from './ids.js';
import { Prng } from './prng.js';

type MoodTrend = 'improving' | 'declining' | 'steady' | 'volatile';

export interface Persona {
  userId: string;
  /** Relative share of the traffic. */
  weight: number;
  /** Probability that one of the user's events is a mood (otherwise an activity). */
  moodShare: number;
  trend: MoodTrend;
  /** Mood score (1–5) at startMs, its drift per day and the spread around it. */
  moodBase: number;
  moodSlopePerDay: number;
  moodNoise: number;
  /** Weights over ACTIVITY_TYPES, and the user's usual minutes per type. */
  activityWeights: number[];
  usualMinutes: number[];
  /** Weights over INTENSITIES. */
  intensityWeights: number[];
  favouriteTags: string[];
  noteChance: number;
  apiShare: number;
}

export const TAGS = ['work', 'sleep', 'family', 'exercise', 'stress', 'friends', 'outdoors', 'meditation'] as const;
/** Usual session minutes per ACTIVITY_TYPES entry: [low, high] of a persona's habit. */
const MINUTES_RANGE: Record<(typeof ACTIVITY_TYPES)[number], [number, number]> = {
  cardio: [20, 70],
  strength: [30, 80],
  flexibility: [15, 45],
  mindfulness: [10, 30],
};

export function makePersona(seedKey: string, userNumber: number, spanDays: number): Persona {
  const rng = new Prng(`${seedKey}/persona/${userNumber}`);
  const trend = rng.pick<MoodTrend>(['improving', 'declining', 'steady', 'steady', 'volatile']);
  // Improving and declining users move about two levels across the span.
  const drift = rng.range(1.2, 2.2) / Math.max(spanDays, 1);
  const mood = {
    improving: { base: rng.range(1.6, 2.6), slope: drift, noise: 0.5 },
    declining: { base: rng.range(3.6, 4.6), slope: -drift, noise: 0.5 },
    steady: { base: rng.range(2.6, 4.2), slope: 0, noise: 0.45 },
    volatile: { base: rng.range(2.6, 3.4), slope: 0, noise: 1.2 },
  }[trend];
  const favouriteType = rng.int(0, ACTIVITY_TYPES.length - 1);
  const activityWeights = ACTIVITY_TYPES.map((_, i) => (i === favouriteType ? 6 : rng.range(0.3, 2.5)));
  const usualMinutes = ACTIVITY_TYPES.map((type) => {
    const [low, high] = MINUTES_RANGE[type];
    return rng.range(low, high);
  });
  const intensityWeights = [rng.range(0.5, 3), rng.range(1, 4), rng.range(0.2, 2.5)];
  const favouriteTags: string[] = [];
  while (favouriteTags.length < 3) {
    const tag = rng.pick(TAGS);
    if (!favouriteTags.includes(tag)) favouriteTags.push(tag);
  }
  return {
    userId: userIdOf(userNumber),
    weight: rng.range(0.4, 2),
    moodShare: rng.range(0.35, 0.7),
    trend,
    moodBase: mood.base,
    moodSlopePerDay: mood.slope,
    moodNoise: mood.noise,
    activityWeights,
    usualMinutes,
    intensityWeights,
    favouriteTags,
    noteChance: rng.range(0.2, 0.6),
    apiShare: rng.range(0, 0.3),
  };
}
