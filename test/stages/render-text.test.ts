import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderText } from '../../src/stages/render-text.js';
import type { SnapshotWithoutText } from '../../src/stages/render-text.js';
import { at } from './aggregate-fixtures.js';

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

describe('renderText', () => {
  test('a full snapshot renders as one paragraph with fixed decimals and only non-zero buckets', () => {
    assert.equal(
      renderText(snapshot()),
      'Wellbeing context for user u-17, 7 days to 2026-03-04, 8 events. ' +
        'Moods: 5 logged, mean 3.40 (sd 1.02, range 2-5), trend +0.25/day, latest good; levels low 1, moderate 2, good 1, excellent 1. ' +
        'Activity: 3 sessions, 135 min (cardio 60, strength 45, mindfulness 30); intensity low 30, moderate 60, high 45; active 3 days, streak 2 days. ' +
        'Top tags: work(2), sleep(1). ' +
        'Recent notes: "slept badly"; "said \\"hi\\"".',
      'the exact rendering',
    );
  });

  test('an empty window says so instead of printing zeros and nulls', () => {
    assert.equal(
      renderText(snapshot({ event_count: 0, ...empty })),
      'Wellbeing context for user u-17, 7 days to 2026-03-04, 0 events. Moods: none logged. Activity: none logged.',
      'no tags or notes sentence either',
    );
  });

  test('moods that all have an unknown level are reported without a mean', () => {
    const text = renderText(
      snapshot({
        ...empty,
        event_count: 2,
        mood: { ...empty.mood, count: 2, latest: 'unknown', distribution: { ...empty.mood.distribution, unknown: 2 } },
      }),
    );
    assert.match(text, /Moods: 2 logged, none with a known level, trend n\/a, latest unknown; levels unknown 2\./, 'unknown moods are visible');
  });

  test('singular units read naturally and level names lose their underscores', () => {
    const text = renderText(
      snapshot({
        window_days: 1,
        event_count: 1,
        mood: { ...empty.mood, count: 1, mean: 1, min: 1, max: 1, stddev: 0, latest: 'very_low', distribution: { ...empty.mood.distribution, very_low: 1 } },
        activity: { ...empty.activity },
      }),
    );
    assert.ok(text.startsWith('Wellbeing context for user u-17, 1 day to 2026-03-04, 1 event. '), `singular header: ${text}`);
    assert.match(text, /Moods: 1 logged, mean 1\.00 \(sd 0\.00, range 1-1\), trend n\/a, latest very low; levels very low 1\./, 'one mood');
    const oneSession = renderText(snapshot({ activity: { ...snapshot().activity, sessions: 1, active_days: 1, streak_days: 1 } }));
    assert.match(oneSession, /Activity: 1 session, .*active 1 day, streak 1 day\./, 'one session');
  });

  test('the trend is signed and a negative value that rounds to zero prints as +0.00', () => {
    const withTrend = (trend: number) => renderText(snapshot({ mood: { ...snapshot().mood, trend_per_day: trend } }));
    assert.match(withTrend(-0.126), /trend -0\.13\/day/, 'negative slope');
    assert.match(withTrend(-0.004), /trend \+0\.00\/day/, 'no "-0.00"');
    assert.match(withTrend(2), /trend \+2\.00\/day/, 'positive slope');
  });

  test('large numbers are never grouped by a locale', () => {
    const text = renderText(snapshot({ activity: { ...snapshot().activity, total_minutes: 12345 } }));
    assert.match(text, / 12345 min /, 'no thousands separator');
  });

  test('trigger, trace, source and version fields do not change the text', () => {
    const other = snapshot({
      snapshot_id: '22222222-2222-5222-8222-222222222222',
      trigger_event_id: '00000000-0000-4000-8000-000000000099',
      trigger_type: 'ActivityCreated',
      trace_id: null,
      source_partition: 0,
      source_offset: 7,
      aggregator_version: '9.9.9',
    });
    assert.equal(renderText(other), renderText(snapshot()), 'only window fields are rendered');
  });

  test('the window end renders as its UTC date', () => {
    assert.match(renderText(snapshot({ window_end: at('2026-03-04T23:59:59.999Z') })), /to 2026-03-04,/, 'last millisecond of the day');
    assert.match(renderText(snapshot({ window_end: at('2026-03-05T00:00:00Z') })), /to 2026-03-05,/, 'first millisecond of the next');
  });

  test('a typical snapshot stays compact', () => {
    const long = snapshot({ recent_notes: ['n'.repeat(200), 'o'.repeat(200), 'p'.repeat(200)] });
    assert.ok(renderText(snapshot()).length < 600, 'short notes: well under 1000 characters');
    assert.ok(renderText(long).length < 1100, 'three maximal notes: about 1000 characters');
  });
});
