import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActivityEntry, MoodEntry, WindowEntry } from '../../../src/contracts/window.js';
import { activityStats, cutCodePoints, moodStats, recentNotes } from '../../../src/pipeline/domain/snapshot-stats.js';
import { DAY, HOUR, at, uuid } from '../../support/aggregate-fixtures.js';

let nextSeq = 0;
function m(occurredAt: number, level: MoodEntry['level'], extra: Partial<MoodEntry> = {}): MoodEntry {
  const seq = extra.seq ?? nextSeq++;
  return { kind: 'mood', event_id: uuid(seq), occurred_at: occurredAt, seq, level, tags: [], note: null, ...extra };
}
function a(occurredAt: number, type: ActivityEntry['activity_type'], intensity: ActivityEntry['intensity'], minutes: number, extra: Partial<ActivityEntry> = {}): ActivityEntry {
  const seq = extra.seq ?? nextSeq++;
  return { kind: 'activity', event_id: uuid(seq), occurred_at: occurredAt, seq, activity_type: type, intensity, duration_minutes: minutes, notes: null, ...extra };
}
function close(actual: number | null, expected: number, message: string): void {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${message}: expected ${expected}, got ${actual}`);
}

const t0 = at('2026-03-01T09:00:00Z');

describe('moodStats', () => {
  // Scores 2,3,4,4,5 at days 0..4, plus one unknown symbol at day 2.5 and one activity.
  // Hand computation: mean 18/5 = 3.6; deviations -1.6 -0.6 0.4 0.4 1.4, squares sum 5.2,
  // population variance 1.04, sd sqrt(1.04); x = 0..4 days, x̄ = 2, Sxx = 10,
  // Sxy = 3.2 + 0.6 + 0 + 0.4 + 2.8 = 7.0, slope 0.7 per day.
  const entries: WindowEntry[] = [
    m(t0, 'low'),
    m(t0 + DAY, 'moderate'),
    m(t0 + 2 * DAY, 'good'),
    m(t0 + 2.5 * DAY, 'unknown'),
    a(t0 + 2.7 * DAY, 'cardio', 'high', 30),
    m(t0 + 3 * DAY, 'good'),
    m(t0 + 4 * DAY, 'excellent'),
  ];

  test('count includes unscored moods while mean, min, max and stddev use the scored ones', () => {
    const s = moodStats(entries);
    assert.equal(s.count, 6, 'six mood entries, one of them unknown; the activity is not a mood');
    close(s.mean, 3.6, 'mean of 2,3,4,4,5');
    assert.equal(s.min, 2, 'min score');
    assert.equal(s.max, 5, 'max score');
    close(s.stddev, Math.sqrt(1.04), 'population stddev');
  });

  test('the trend is the least-squares slope of score against time in days', () => {
    close(moodStats(entries).trend_per_day, 0.7, 'slope of 2,3,4,4,5 over days 0..4');
  });

  test('the trend uses fractional days', () => {
    // 2 then 4 twelve hours later: +2 over half a day = +4 per day.
    close(moodStats([m(t0, 'low'), m(t0 + 12 * HOUR, 'good')]).trend_per_day, 4, 'slope over half a day');
    // Falling: 5, 3, 1 on days 0, 1, 2 → slope -2.
    close(moodStats([m(t0, 'excellent'), m(t0 + DAY, 'moderate'), m(t0 + 2 * DAY, 'very_low')]).trend_per_day, -2, 'falling slope');
  });

  test('the trend is null with fewer than two scored moods or a single distinct time', () => {
    assert.equal(moodStats([m(t0, 'good')]).trend_per_day, null, 'one mood has no slope');
    assert.equal(moodStats([m(t0, 'good'), m(t0 + DAY, 'unknown')]).trend_per_day, null, 'an unknown mood is not a second point');
    assert.equal(moodStats([m(t0, 'good'), m(t0, 'low'), m(t0, 'moderate')]).trend_per_day, null, 'three moods at one instant');
  });

  test('latest is the mood with the largest occurred_at, ties going to the later input offset', () => {
    const tie = [m(t0 + DAY, 'low', { seq: 900 }), m(t0 + DAY, 'good', { seq: 800 }), m(t0, 'excellent', { seq: 1000 })];
    assert.equal(moodStats(tie).latest, 'low', 'same occurred_at: seq 900 beats seq 800; an older time loses even with a larger seq');
    assert.equal(moodStats([...tie].reverse()).latest, 'low', 'independent of the order entries are handed in');
    assert.equal(moodStats(entries).latest, 'excellent', 'the newest mood');
  });

  test('latest may be an unknown level, while the statistics stay over scored moods', () => {
    const s = moodStats([m(t0, 'good'), m(t0 + DAY, 'unknown')]);
    assert.equal(s.latest, 'unknown', 'the newest mood is unknown');
    assert.equal(s.mean, 4, 'the mean ignores it');
  });

  test('the distribution lists every level in enum order, then unknown', () => {
    const s = moodStats(entries);
    assert.deepEqual(Object.keys(s.distribution), ['very_low', 'low', 'moderate', 'good', 'excellent', 'unknown'], 'key order');
    assert.deepEqual(s.distribution, { very_low: 0, low: 1, moderate: 1, good: 2, excellent: 1, unknown: 1 }, 'counts per level');
  });

  test('a window without moods gives zero counts and null statistics', () => {
    const s = moodStats([a(t0, 'cardio', 'low', 10)]);
    assert.deepEqual(
      s,
      {
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
      'empty mood statistics',
    );
  });

  test('only unknown moods give a count with null statistics', () => {
    const s = moodStats([m(t0, 'unknown'), m(t0 + 1, 'unknown')]);
    assert.equal(s.count, 2, 'both are counted');
    assert.equal(s.mean, null, 'nothing to average');
    assert.equal(s.stddev, null, 'nothing to spread');
  });

  test('stddev is the population one: 0 for one mood, 1 for scores 2 and 4', () => {
    assert.equal(moodStats([m(t0, 'good')]).stddev, 0, 'a single score has no spread');
    assert.equal(moodStats([m(t0, 'low'), m(t0 + 1, 'good')]).stddev, 1, 'sqrt(((2-3)^2 + (4-3)^2) / 2) = 1, not the sample sqrt(2)');
  });

  test('top tags are trimmed, lower-cased, counted once per mood, and ordered by count then name', () => {
    const s = moodStats([
      m(t0, 'good', { tags: ['Work', ' sleep ', ''] }),
      m(t0 + 1, 'good', { tags: ['work', 'Family'] }),
      m(t0 + 2, 'good', { tags: ['  ', 'sleep', 'WORK', 'work '] }),
      m(t0 + 3, 'good', { tags: ['b', 'a', 'c'] }),
      m(t0 + 4, 'good', { tags: ['d'] }),
    ]);
    assert.deepEqual(
      s.top_tags,
      [
        { tag: 'work', count: 3 },
        { tag: 'sleep', count: 2 },
        { tag: 'a', count: 1 },
        { tag: 'b', count: 1 },
        { tag: 'c', count: 1 },
      ],
      'work 3, sleep 2, then the ones by name; d and family fall off the top 5; blanks are dropped',
    );
  });

  test('statistics do not depend on the order entries are handed in', () => {
    assert.deepEqual(moodStats([...entries].reverse()), moodStats(entries), 'same set, same statistics, bit for bit');
  });
});

describe('activityStats', () => {
  const end = at('2026-03-10T20:00:00Z');
  const acts: WindowEntry[] = [
    a(at('2026-03-06T12:00:00Z'), 'other', 'high', 15),
    a(at('2026-03-08T00:00:00Z'), 'flexibility', 'unknown', 10),
    a(at('2026-03-09T23:59:59.999Z'), 'mindfulness', 'low', 20),
    a(at('2026-03-10T06:00:00Z'), 'cardio', 'high', 30),
    m(at('2026-03-07T10:00:00Z'), 'good'),
    a(at('2026-03-10T18:00:00Z'), 'strength', 'moderate', 45),
  ];

  test('sessions, total minutes and minutes per type and intensity cover every key in enum order', () => {
    const s = activityStats(acts, end);
    assert.equal(s.sessions, 5, 'five activities; the mood is not one');
    assert.equal(s.total_minutes, 120, '15 + 10 + 20 + 30 + 45');
    assert.deepEqual(Object.keys(s.minutes_by_type), ['cardio', 'strength', 'flexibility', 'mindfulness', 'other'], 'type key order');
    assert.deepEqual(s.minutes_by_type, { cardio: 30, strength: 45, flexibility: 10, mindfulness: 20, other: 15 }, 'minutes per type');
    assert.deepEqual(Object.keys(s.minutes_by_intensity), ['low', 'moderate', 'high', 'unknown'], 'intensity key order');
    assert.deepEqual(s.minutes_by_intensity, { low: 20, moderate: 45, high: 45, unknown: 10 }, 'minutes per intensity');
  });

  test('active days are distinct UTC dates with an activity', () => {
    assert.equal(activityStats(acts, end).active_days, 4, '03-06, 03-08, 03-09 (23:59:59.999Z is still the 9th), 03-10; the mood day 03-07 does not count');
  });

  test('the streak counts consecutive UTC dates back from the date of end, and a gap breaks it', () => {
    assert.equal(activityStats(acts, end).streak_days, 3, '03-10, 03-09, 03-08; 03-07 has no activity');
  });

  test('the streak is 0 when the date of end has no activity', () => {
    assert.equal(activityStats(acts, at('2026-03-11T01:00:00Z')).streak_days, 0, 'nothing on 03-11');
  });

  test('a window without activities gives zeros everywhere', () => {
    assert.deepEqual(
      activityStats([m(t0, 'good')], t0),
      {
        sessions: 0,
        total_minutes: 0,
        minutes_by_type: { cardio: 0, strength: 0, flexibility: 0, mindfulness: 0, other: 0 },
        minutes_by_intensity: { low: 0, moderate: 0, high: 0, unknown: 0 },
        active_days: 0,
        streak_days: 0,
      },
      'empty activity statistics',
    );
  });
});

describe('recentNotes', () => {
  test('notes are trimmed, blanks skipped, newest first by (occurred_at, seq), three at most', () => {
    const notes = recentNotes([
      m(t0, 'good', { note: '  first  ' }),
      a(t0 + 1, 'cardio', 'low', 5, { notes: 'second' }),
      a(t0 + 2, 'cardio', 'low', 5, { notes: '   ' }),
      m(t0 + 3, 'good', { note: null }),
      a(t0 + 4, 'cardio', 'low', 5, { notes: '\tfourth\n' }),
      m(t0 + 5, 'good', { note: 'tie, earlier offset', seq: 10_000 }),
      m(t0 + 5, 'good', { note: 'tie, later offset', seq: 10_001 }),
    ]);
    assert.deepEqual(notes, ['tie, later offset', 'tie, earlier offset', 'fourth'], 'three newest non-blank notes, trimmed');
  });

  test('a note with fewer than three non-blank notes returns what there is', () => {
    assert.deepEqual(recentNotes([m(t0, 'good', { note: ' only ' }), m(t0 + 1, 'low', { note: '' })]), ['only'], 'one note');
    assert.deepEqual(recentNotes([]), [], 'no notes');
  });

  test('notes are cut to 200 code points, never splitting a surrogate pair', () => {
    const emoji = '\u{1F600}'; // two UTF-16 units
    const [cut] = recentNotes([m(t0, 'good', { note: emoji.repeat(201) })]);
    assert.equal(cut, emoji.repeat(200), '200 emoji, 400 UTF-16 units');
    assert.equal(recentNotes([m(t0, 'good', { note: 'a'.repeat(200) })])[0]!.length, 200, 'exactly 200 is kept whole');
    assert.equal(recentNotes([m(t0, 'good', { note: `${'a'.repeat(199)}${emoji}b` })])[0], `${'a'.repeat(199)}${emoji}`, 'the pair at position 200 is kept whole');
  });

  test('the cut applies after trimming', () => {
    assert.equal(recentNotes([m(t0, 'good', { note: `${' '.repeat(50)}${'x'.repeat(200)}` })])[0], 'x'.repeat(200), 'leading spaces do not eat the budget');
  });

  test('cutCodePoints leaves short text alone', () => {
    assert.equal(cutCodePoints('abc', 200), 'abc', 'shorter than the limit');
  });
});
