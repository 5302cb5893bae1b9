import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderAspects, renderText } from '../../../src/pipeline/domain/render-text.js';
import type { SnapshotWithoutText } from '../../../src/pipeline/domain/render-text.js';
import { at } from '../../support/aggregate-fixtures.js';

function snapshot(overrides: Partial<SnapshotWithoutText> = {}): SnapshotWithoutText {
  return {
    snapshot_id: '11111111-1111-5111-8111-111111111111',
    user_id: 'u-17',
    window_start: at('2026-02-25T18:30:00Z'),
    window_end: at('2026-03-04T18:30:00Z'),
    window_days: 7,
    event_count: 8,
    mood: {
      count: 5,
      mean: 3.4,
      min: 2,
      max: 5,
      stddev: 1.0198039027185568,
      trend_per_day: 0.25,
      latest: 'good',
      distribution: { very_low: 0, low: 1, moderate: 2, good: 1, excellent: 1, unknown: 0 },
      top_tags: [
        { tag: 'work', count: 2 },
        { tag: 'sleep', count: 1 },
      ],
    },
    activity: {
      sessions: 3,
      total_minutes: 135,
      minutes_by_type: { cardio: 60, strength: 45, flexibility: 0, mindfulness: 30, other: 0 },
      minutes_by_intensity: { low: 30, moderate: 60, high: 45, unknown: 0 },
      active_days: 3,
      streak_days: 2,
    },
    recent_notes: ['slept badly', 'said "hi"'],
    trigger_event_id: '00000000-0000-4000-8000-000000000001',
    trigger_type: 'MoodCreated',
    trace_id: 'trace-1',
    source_topic: 'aura360.user.events',
    source_partition: 3,
    source_offset: 42,
    aggregator_version: '0.1.0',
    ...overrides,
  };
}

const empty = {
  mood: {
    count: 0,
    mean: null,
    min: null,
    max: null,
    stddev: null,
    trend_per_day: null,
    latest: null,
    distribution: { very_low: 0, low: 0, moderate: 0, good: 0, excellent: 0, unknown: 0 },
    top_tags: [],
  },
  activity: {
    sessions: 0,
    total_minutes: 0,
    minutes_by_type: { cardio: 0, strength: 0, flexibility: 0, mindfulness: 0, other: 0 },
    minutes_by_intensity: { low: 0, moderate: 0, high: 0, unknown: 0 },
    active_days: 0,
    streak_days: 0,
  },
  recent_notes: [],
} satisfies Partial<SnapshotWithoutText>;

type Mood = SnapshotWithoutText['mood'];
type Activity = SnapshotWithoutText['activity'];

/** A mood block from a list of scores (1-5) with a given trend; mean/sd computed here by hand. */
function moods(scores: number[], trend: number | null, tags: Mood['top_tags'] = []): Mood {
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  const levels = ['very_low', 'low', 'moderate', 'good', 'excellent'] as const;
  const distribution: Record<string, number> = { very_low: 0, low: 0, moderate: 0, good: 0, excellent: 0, unknown: 0 };
  for (const s of scores) distribution[levels[s - 1]!]! += 1;
  return { count: scores.length, mean, min: Math.min(...scores), max: Math.max(...scores), stddev: sd, trend_per_day: trend, latest: levels[scores.at(-1)! - 1]!, distribution, top_tags: tags };
}

function activity(byType: Partial<Record<string, number>>, byIntensity: Partial<Record<string, number>>, activeDays: number, streak: number): Activity {
  const minutes_by_type = { cardio: 0, strength: 0, flexibility: 0, mindfulness: 0, other: 0, ...byType } as Record<string, number>;
  const total = Object.values(minutes_by_type).reduce((a, b) => a + b, 0);
  return {
    sessions: activeDays,
    total_minutes: total,
    minutes_by_type,
    minutes_by_intensity: { low: 0, moderate: 0, high: 0, unknown: 0, ...byIntensity } as Record<string, number>,
    active_days: activeDays,
    streak_days: streak,
  };
}

describe('renderText', () => {
  test('a full snapshot reads as plain sentences, every word backed by a statistic', () => {
    assert.equal(
      renderText(snapshot()),
      // mean 3.4 → mixed; +0.25/day over 5 moods → improving; sd 1.02 → ups and downs.
      'Mixed mood, so-so (5 logged). Mood improving, feeling better lately. Mood varies a lot, ups and downs from day to day. ' +
        // cardio 60 of 135 min = 44 % < 50 % → a mix of the two largest; 135 min → 2.5 hours; no intensity has half.
        'Mix of cardio (running, cycling, swimming) and strength training (weights, gym), about 2.5 hours this week. ' +
        'Exercises some days (3 of 7 days), 2-day streak. ' +
        // work: 2 moods; sleep: 1 mood + the note "slept badly" → 2 mentions each, ties by name.
        'Often mentions sleep and tiredness and work (job, deadlines).',
    );
  });

  test('mood level in five steps by the mean: ≤ 1.75 very low, ≤ 2.5 low, < 3.5 mixed, < 4 good, else great', () => {
    const level = (scores: number[]) => renderText(snapshot({ ...empty, mood: moods(scores, 0) }));
    assert.match(level([1, 2, 2, 2]), /^Very low mood, feeling down and unhappy \(4 logged\)\./, 'mean 1.75');
    assert.match(level([2, 3]), /^Low mood, feeling down and unhappy \(2 logged\)\./, 'mean 2.5 is low');
    assert.match(level([2, 3, 3, 3]), /^Mixed mood, so-so \(4 logged\)\./, 'mean 2.75');
    assert.match(level([4, 3]), /^Good mood, fairly happy \(2 logged\)\./, 'mean 3.5 is good');
    assert.match(level([4, 4, 4, 5]), /^Great mood, happy and cheerful \(4 logged\)\./, 'mean 4.25');
    assert.match(level([4, 4]), /^Great mood, happy and cheerful \(2 logged\)\. No exercise logged, inactive\.$/, 'mean 4.0 is great; two moods say nothing of stability');
  });

  test('direction is its own sentence: three scored moods and a slope of at least 0.1 per day either way', () => {
    const direction = (trend: number, scores = [3, 3, 3]) => renderText(snapshot({ ...empty, mood: moods(scores, trend) }));
    assert.match(direction(-0.1), /^Mixed mood, so-so \(3 logged\)\. Mood getting worse, feeling worse lately\. No exercise/);
    assert.match(direction(0.1), /^Mixed mood, so-so \(3 logged\)\. Mood improving, feeling better lately\. No exercise/);
    assert.doesNotMatch(direction(-0.099), /improving|worse/);
    assert.doesNotMatch(direction(0.5, [3, 3]), /improving|worse|stable/, 'two moods: no direction');
    assert.doesNotMatch(renderText(snapshot({ ...empty, mood: moods([3, 3, 3], null) })), /improving|worse|stable/, 'no trend: no direction');
  });

  test('spread is separate from direction: sd ≥ 1 varies a lot (whatever the direction); sd ≤ 0.6 with no direction is stable', () => {
    assert.match(renderText(snapshot({ ...empty, mood: moods([1, 5, 1, 5], 0) })), /^Mixed mood, so-so \(4 logged\)\. Mood varies a lot, ups and downs from day to day\. No exercise/);
    assert.match(renderText(snapshot({ ...empty, mood: moods([1, 5, 1, 5], -0.3) })), /Mood getting worse, feeling worse lately\. Mood varies a lot, ups and downs from day to day\./);
    assert.match(renderText(snapshot({ ...empty, mood: moods([2, 4, 2, 4], 0) })), /Mood varies a lot, ups and downs/, 'sd 1.0 exactly counts');
    assert.match(renderText(snapshot({ ...empty, mood: moods([3, 3, 4, 3], 0) })), /Mood stable and consistent, about the same each day\./, 'sd 0.43, flat');
    assert.doesNotMatch(renderText(snapshot({ ...empty, mood: moods([2, 4, 3, 3], 0) })), /stable|varies/, 'sd 0.71: neither');
    assert.doesNotMatch(renderText(snapshot({ ...empty, mood: moods([3, 3, 4, 3], 0.2) })), /stable/, 'a clear direction is not stable');
  });

  test('moods that all have an unknown level are reported as not rated', () => {
    const text = renderText(snapshot({ ...empty, event_count: 2, mood: { ...empty.mood, count: 2, latest: 'unknown', distribution: { ...empty.mood.distribution, unknown: 2 } } }));
    assert.match(text, /^Mood not rated \(2 logged\)\. No exercise logged, inactive\.$/);
  });

  test('the main activity holds half the minutes; otherwise the two largest are named; each type with its everyday words', () => {
    const act = (byType: Partial<Record<string, number>>) => renderText(snapshot({ ...empty, activity: activity(byType, { low: 1 }, 3, 1) }));
    assert.match(act({ mindfulness: 100, cardio: 100 }), /^No moods logged\. Gentle, easy workouts: mostly cardio \(running, cycling, swimming\), about 3.5 hours this week/, 'a tie at 50 %: the first in key order');
    assert.match(act({ mindfulness: 100, cardio: 90 }), /Gentle, easy workouts: mostly mindfulness \(meditation, breathing exercises\), about 3 hours this week/);
    assert.match(act({ strength: 40, flexibility: 35, cardio: 30 }), /Gentle, easy workouts: mix of strength training \(weights, gym\) and flexibility \(yoga, stretching\), about 2 hours this week/);
    assert.match(act({ flexibility: 25 }), /Gentle, easy workouts: only flexibility \(yoga, stretching\), about 30 minutes this week/);
    assert.match(act({ other: 60 }), /Gentle, easy workouts: only other activities, about 60 minutes/);
  });

  test('amounts: under 90 minutes to the nearest 10 minutes (at least 10), else to the nearest half hour', () => {
    const amount = (minutes: number) => renderText(snapshot({ ...empty, activity: activity({ cardio: minutes }, {}, 1, 1) }));
    assert.match(amount(4), /about 10 minutes this week/);
    assert.match(amount(84), /about 80 minutes/);
    assert.match(amount(89), /about 90 minutes/);
    assert.match(amount(90), /about 1.5 hours/);
    assert.match(amount(12345), /about 206 hours/, 'never grouped by a locale');
    assert.match(renderText(snapshot({ ...empty, window_days: 3, activity: activity({ cardio: 200 }, {}, 1, 1) })), /about 3.5 hours in 3 days/, 'a window other than a week says its days');
  });

  test('intensity: the level with half the minutes of known intensity, in words, leading the activity sentence', () => {
    const intensity = (byIntensity: Partial<Record<string, number>>) => renderText(snapshot({ ...empty, activity: activity({ cardio: 100 }, byIntensity, 3, 1) }));
    assert.match(intensity({ low: 60, high: 40 }), /Gentle, easy workouts: only cardio \(running, cycling, swimming\), about 1\.5 hours this week\./);
    assert.match(intensity({ high: 50, moderate: 50 }), /Hard, intense workouts: only cardio \(running, cycling, swimming\), about 1\.5 hours this week\./, 'low first, then high, then moderate at a tie');
    assert.match(intensity({ moderate: 60, unknown: 900 }), /Moderate workouts: only cardio \(running, cycling, swimming\), about 1\.5 hours this week\./, 'unknown minutes do not count');
    assert.match(intensity({ low: 40, moderate: 30, high: 30 }), /^No moods logged\. Only cardio \(running, cycling, swimming\), about 1\.5 hours this week\. /, 'no majority: nothing said');
    assert.match(intensity({ unknown: 100 }), /^No moods logged\. Only cardio \(running, cycling, swimming\), about 1\.5 hours this week\. /, 'unknown only: nothing said');
  });

  test('consistency: almost every day from 6 of 7, rarely at 2 of 7, barely active at 1; the streak from 2 days; never more days than the window', () => {
    const days = (active: number, streak: number) => renderText(snapshot({ ...empty, activity: activity({ cardio: 100 }, {}, active, streak) }));
    assert.match(days(6, 5), /Exercises almost every day \(6 of 7 days\), 5-day streak\./);
    assert.match(days(5, 5), /Exercises some days \(5 of 7 days\), 5-day streak\./);
    assert.match(days(8, 8), /Exercises almost every day \(7 of 7 days\), 8-day streak\./, 'a 7 × 24 h window touches 8 dates');
    assert.match(days(3, 0), /Exercises some days \(3 of 7 days\)\./);
    assert.match(days(2, 1), /Rarely exercises \(2 of 7 days\)\./, 'a one-day streak is not mentioned');
    assert.match(days(1, 1), /Barely active, little exercise \(1 of 7 days\)\./);
  });

  test('themes: tags and notes mentioned at least twice and by ≥ 20 % of the moods, at most three', () => {
    const themes = (tags: Mood['top_tags'], notes: string[], scores = [3, 3, 3, 3, 3]) =>
      renderText(snapshot({ ...empty, mood: moods(scores, 0, tags), recent_notes: notes }));
    assert.doesNotMatch(themes([{ tag: 'work', count: 1 }], []), /Often mentions/, 'once is not recurring');
    assert.match(themes([{ tag: 'work', count: 1 }], ['Deadline pressure at work again.']), /Often mentions work \(job, deadlines\)\.$/, 'the note adds a work mention; stress has only one');
    assert.match(themes([{ tag: 'family', count: 2 }], ['The kids were sick, long day.']), /Often mentions family \(kids, partner\)\./, 'tags and notes add up');
    assert.match(
      themes([{ tag: 'work', count: 4 }, { tag: 'stress', count: 3 }, { tag: 'sleep', count: 2 }, { tag: 'friends', count: 2 }], []),
      /Often mentions work \(job, deadlines\), stress \(anxious, under pressure\) and friends \(social life\)\./,
      'three at most, by mentions then name',
    );
    assert.doesNotMatch(themes([{ tag: 'work', count: 2 }], [], Array(11).fill(3) as number[]), /Often mentions/, '2 of 11 moods is under 20 %');
  });

  test('notes stay out of the text (they are in the payload); their themes count', () => {
    const text = renderText(snapshot({ recent_notes: ['Slept badly again', 'slept badly', 'said "hi"'] }));
    assert.doesNotMatch(text, /Slept|said/);
    assert.match(text, /Often mentions sleep and tiredness and work \(job, deadlines\)\.$/);
  });

  test('an empty window says so instead of printing zeros and nulls', () => {
    assert.equal(renderText(snapshot({ event_count: 0, ...empty })), 'No moods logged. No exercise logged, inactive.');
  });

  test('only window fields count: user, dates, trigger, trace, source and version do not change the text', () => {
    const other = snapshot({
      snapshot_id: '22222222-2222-5222-8222-222222222222',
      user_id: 'someone-else',
      window_start: at('2027-01-01T00:00:00Z'),
      window_end: at('2027-01-08T00:00:00Z'),
      trigger_event_id: '00000000-0000-4000-8000-000000000099',
      trigger_type: 'ActivityCreated',
      trace_id: null,
      source_partition: 0,
      source_offset: 7,
      aggregator_version: '9.9.9',
    });
    assert.equal(renderText(other), renderText(snapshot()), 'byte-equal for equal windows');
  });

  test('the aspects join to the text', () => {
    const a = renderAspects(snapshot());
    assert.equal(renderText(snapshot()), [a.mood, a.activity, a.notes].join(' '));
    assert.equal(renderAspects(snapshot({ ...empty })).notes, '');
  });

  test('a full snapshot stays short, whatever its notes', () => {
    const long = snapshot({ recent_notes: ['n'.repeat(200), 'o'.repeat(200), 'p'.repeat(200)] });
    assert.ok(renderText(snapshot()).length < 400, `short: ${renderText(snapshot()).length} characters`);
    assert.ok(renderText(long).length < 400, 'notes are not quoted');
    assert.doesNotMatch(renderText(long), /nnnn|oooo|pppp/, 'no note text');
  });
});
