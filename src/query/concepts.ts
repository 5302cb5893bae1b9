import type { FieldCondition } from '../ports.js';

/**
 * What the query interpreter (src/query/interpret.ts) recognises: one concept per meaning a payload
 * field already holds (src/query/fields.ts), the filters that meaning is, an order for questions
 * about degree, and everyday ways people say it. The descriptions are written from the fields'
 * meanings (mood_level, mood_direction, mood_variable, main_activity, intensity, active_days,
 * themes), not from any benchmark's questions; negated forms ("not happy") are listed where people
 * use them for the opposite, since an embedding alone puts "not happy" next to "happy".
 *
 * Aspects group concepts that answer the same question (how is the mood, which activity, ...):
 * an interpretation takes at most one concept per aspect, and two of different aspects combine
 * with AND ("low mood and not exercising").
 */
export interface Concept {
  id: string;
  aspect: 'mood level' | 'mood direction' | 'mood variability' | 'activity type' | 'intensity' | 'consistency' | 'theme';
  /** One sentence for docs and `interpreted_as` readers: what the filters select. */
  means: string;
  filters: FieldCondition[];
  /** The order inside the filter, the most of it first (e.g. the fewest active days for "barely"; for a theme or a direction, the most moods); the first concept's applies. */
  order_by?: { field: string; direction: 'asc' | 'desc' };
  descriptions: readonly string[];
}

/**
 * A mood level needs as many moods as the payload's own direction and variability do (mood_direction
 * and mood_variable need 3 scored moods: "too few to tell" below): one sad entry is not a low week.
 */
const ENOUGH_MOODS: FieldCondition = { field: 'mood_count', op: 'gte', value: 3 };

/**
 * A direction, a steadiness or a recurring theme read from more moods is surer (a theme recurring
 * over many moods is mentioned more often): those windows first.
 */
const MOST_MOODS = { field: 'mood_count', direction: 'desc' } as const;

const theme = (tag: string, means: string, descriptions: readonly string[]): Concept => ({
  id: `theme-${tag}`,
  aspect: 'theme',
  means,
  filters: [{ field: 'themes', op: 'contains', value: tag }],
  order_by: MOST_MOODS,
  descriptions,
});

const mainActivity = (type: string, means: string, descriptions: readonly string[]): Concept => ({
  id: `mostly-${type}`,
  aspect: 'activity type',
  means,
  filters: [{ field: 'main_activity', op: 'eq', value: type }],
  order_by: { field: `minutes_by_type.${type}`, direction: 'desc' },
  descriptions,
});

const moodLevel = (level: 'low' | 'good', means: string, direction: 'asc' | 'desc', descriptions: readonly string[]): Concept => ({
  id: `mood-${level}`,
  aspect: 'mood level',
  means,
  filters: [{ field: 'mood_level', op: 'eq', value: level }, ENOUGH_MOODS],
  order_by: { field: 'mood_mean', direction },
  descriptions,
});

export const CONCEPTS: readonly Concept[] = [
  moodLevel('low', 'mood_level low (mean mood ≤ 2.5) over ≥ 3 moods, lowest mean first', 'asc', [
    'low mood',
    'feeling sad',
    'unhappy',
    'depressed and gloomy',
    'in a bad mood',
    'not happy',
    'isn\'t happy',
    'never happy anymore',
    'not feeling good',
    'spirits are low',
    'feeling blue',
    'unhappy lately',
    'sad these days',
    'down in the dumps',
    'low spirits',
    'feeling terrible',
    'depressed',
    'in a dark place',
    'heavy-hearted',
    'struggling',
  ]),
  moodLevel('good', 'mood_level good (mean mood ≥ 3.5) over ≥ 3 moods, highest mean first', 'desc', [
    'good mood',
    'in a good mood',
    'happy',
    'cheerful and upbeat',
    'in high spirits',
    'content and positive',
    'joyful',
    'happy lately',
    'in good spirits these days',
    'doing well',
    'feeling wonderful',
    'never been happier',
    'on top of the world',
    'in good spirits',
    'upbeat and positive',
    'delighted',
  ]),
  {
    id: 'mood-improving',
    aspect: 'mood direction',
    means: 'mood_direction better (mood trend ≥ +0.1 per day), most moods first',
    filters: [{ field: 'mood_direction', op: 'eq', value: 'better' }],
    order_by: MOST_MOODS,
    descriptions: [
      'mood improving',
      'mood picking up',
      'feeling better than before',
      'getting happier',
      'things getting better',
      'on the mend',
      'turning a corner',
      'mood lifting',
      'happier over time',
      'bouncing back',
      'mood getting better',
      'mood getting better over time',
      'cheering up',
      'recovering',
      'mood on the upswing',
      'spirits rising',
      'brighter than before',
    ],
  },
  {
    id: 'mood-worsening',
    aspect: 'mood direction',
    means: 'mood_direction worse (mood trend ≤ -0.1 per day), most moods first',
    filters: [{ field: 'mood_direction', op: 'eq', value: 'worse' }],
    order_by: MOST_MOODS,
    descriptions: [
      'mood getting worse',
      'feeling worse than before',
      'getting sadder',
      'things getting worse',
      'going from bad to worse',
      'mood sliding',
      'less and less happy',
      'losing heart',
      'mood declining',
      'mood dropping day by day',
      'deteriorating',
      'spiralling down',
      'spirits falling',
      'more and more down',
    ],
  },
  {
    id: 'mood-variable',
    aspect: 'mood variability',
    means: 'mood_variable true (mood standard deviation ≥ 1), most variable first',
    filters: [{ field: 'mood_variable', op: 'eq', value: true }],
    order_by: { field: 'mood_stddev', direction: 'desc' },
    descriptions: [
      'mood varies a lot',
      'mood swings',
      'up and down from day to day',
      'emotional ups and downs',
      'up one day and down the next',
      'erratic, volatile mood',
      'emotions changing all the time',
      'unpredictable moods',
      'moody and changeable',
      'unstable emotions',
      'highs and lows',
      'moody',
      'mood changes a lot',
      'one moment happy, the next sad',
    ],
  },
  {
    id: 'mood-stable',
    aspect: 'mood variability',
    means: 'mood_direction steady and mood_stddev ≤ 0.6 (the text\'s "stable" threshold), most moods first',
    filters: [
      { field: 'mood_direction', op: 'eq', value: 'steady' },
      { field: 'mood_stddev', op: 'lte', value: 0.6 },
    ],
    order_by: MOST_MOODS,
    descriptions: [
      'stable mood',
      'even mood',
      'mood steady and consistent',
      'mood hardly changes',
      'same mood day after day',
      'even-tempered',
      'no mood swings',
      'calm and balanced',
      'emotionally stable',
      'even-keeled',
      'level mood',
      'consistent mood',
    ],
  },
  mainActivity('cardio', 'main_activity cardio (at least half of the minutes), most cardio minutes first', [
    'cardio',
    'running',
    'cycling',
    'swimming',
    'jogging and biking',
    'aerobic workouts',
    'endurance training',
    'runs and bike rides',
    'goes for runs',
    'long walks and hikes',
    'a runner',
    'bike commuting',
    'laps in the pool',
  ]),
  mainActivity('strength', 'main_activity strength (at least half of the minutes), most strength minutes first', [
    'strength training',
    'lifting weights',
    'weightlifting at the gym',
    'resistance exercises',
    'building muscle',
    'bodyweight exercises like push-ups',
    'pumping iron',
    'bodybuilding',
    'kettlebells and barbells',
  ]),
  mainActivity('flexibility', 'main_activity flexibility (at least half of the minutes), most flexibility minutes first', [
    'yoga',
    'stretching',
    'flexibility exercises',
    'pilates',
    'mobility work',
    'stretching routine',
    'yoga classes',
  ]),
  mainActivity('mindfulness', 'main_activity mindfulness (at least half of the minutes), most mindfulness minutes first', [
    'meditation',
    'mindfulness',
    'breathing exercises',
    'meditating',
    'relaxation practice',
    'breathwork',
    'mindful moments',
  ]),
  {
    id: 'intensity-hard',
    aspect: 'intensity',
    means: 'intensity hard (at least half of the minutes of known intensity are high), most high-intensity minutes first',
    filters: [{ field: 'intensity', op: 'eq', value: 'hard' }],
    order_by: { field: 'minutes_by_intensity.high', direction: 'desc' },
    descriptions: ['hard, intense workouts', 'trains hard', 'vigorous exercise', 'high intensity training', 'strenuous workouts', 'pushing to the limit', 'exhausting training', 'HIIT', 'all-out effort', 'tough, sweaty sessions'],
  },
  {
    id: 'intensity-gentle',
    aspect: 'intensity',
    means: 'intensity gentle (at least half of the minutes of known intensity are low), most low-intensity minutes first',
    filters: [{ field: 'intensity', op: 'eq', value: 'gentle' }],
    order_by: { field: 'minutes_by_intensity.low', direction: 'desc' },
    descriptions: ['gentle, easy workouts', 'light exercise', 'low intensity activity', 'relaxed pace', 'taking it easy when exercising', 'nothing too hard', 'exercising gently', 'nothing intense', 'easy-going workouts', 'leisurely pace', 'light workouts'],
  },
  {
    id: 'very-active',
    aspect: 'consistency',
    means: 'active_days ≥ 6 (the text\'s "almost every day"), most active days first',
    filters: [{ field: 'active_days', op: 'gte', value: 6 }],
    order_by: { field: 'active_days', direction: 'desc' },
    descriptions: [
      'exercises every day',
      'works out daily',
      'very active',
      'active almost every day',
      'consistent exercise routine',
      'never misses a workout',
      'long streak of workouts',
      'seven days a week',
      'every day without fail',
      'trains every day',
    ],
  },
  {
    id: 'inactive',
    aspect: 'consistency',
    means: 'active_days ≤ 2 (the text\'s "rarely"), fewest active days first',
    filters: [{ field: 'active_days', op: 'lte', value: 2 }],
    order_by: { field: 'active_days', direction: 'asc' },
    descriptions: [
      'barely active',
      'little or no exercise',
      'inactive',
      'does not exercise',
      'sedentary',
      'rarely works out',
      'not exercising',
      'skipping workouts',
      'stopped exercising',
      'hardly moves',
      'no workouts',
      'not physically active',
      'couch potato',
      'hardly any exercise',
      'rarely moves',
    ],
  },
  theme('work', 'themes contains work, most moods first', ['work', 'job', 'deadlines', 'the office', 'boss and colleagues', 'career', 'meetings at work', 'workload', 'colleagues', 'overtime', 'the boss']),
  theme('sleep', 'themes contains sleep, most moods first', ['sleep', 'tiredness', 'insomnia', 'can\'t sleep', 'exhausted', 'poor sleep', 'rest and naps', 'lying awake at night', 'restless nights', 'can\'t fall asleep', 'sleepy and worn out', 'sleepless', 'waking up at night', 'bedtime']),
  theme('stress', 'themes contains stress, most moods first', ['stress', 'anxious', 'under pressure', 'overwhelmed', 'nervous', 'worry', 'stressed out', 'anxiety', 'too much on my plate', 'on edge', 'stressful', 'pressured']),
  theme('family', 'themes contains family, most moods first', ['family', 'kids', 'partner', 'parents', 'children', 'spouse', 'home life', 'husband or wife', 'relatives', 'my son or daughter', 'mum and dad']),
  theme('friends', 'themes contains friends, most moods first', ['friends', 'social life', 'going out with friends']),
  theme('outdoors', 'themes contains outdoors, most moods first', ['the outdoors', 'nature', 'being outside']),
];
