import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserEvent } from '../../src/contracts/events.js';
import { snapshotId } from '../../src/contracts/ids.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { AuraError } from '../../src/errors.js';
import { renderText } from '../../src/pipeline/domain/render-text.js';
import { rollWindow } from './roll-window.js';
import { offsetToNumber } from '../../src/pipeline/domain/snapshot-of.js';
import { toSnapshot } from './to-snapshot.js';
import type { SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';
import { DAY, activity, at, mood, position, uuid } from '../support/aggregate-fixtures.js';

const config: SnapshotConfig = { windowDays: 7, maxEvents: 512, aggregatorVersion: '0.1.0-test' };

function build(events: UserEvent[], firstOffset = 100): UserWindow {
  let window: UserWindow | undefined;
  events.forEach((e, i) => {
    const r = rollWindow(window, e, firstOffset + i, config);
    assert.equal(r.outcome, 'accepted', `fixture event ${i} must be accepted`);
    window = r.window;
  });
  return window!;
}

const events: UserEvent[] = [
  mood(1, at('2026-03-01T08:00:00Z'), { level: 'low', tags: ['Work'], note: 'tired' }),
  activity(2, at('2026-03-02T07:00:00Z'), { activity_type: 'cardio', intensity: 'high', duration_minutes: 40 }),
  mood(3, at('2026-03-03T08:00:00Z'), { level: 'good', tags: ['work', 'sleep'] }),
  activity(4, at('2026-03-03T18:00:00Z'), { activity_type: 'mindfulness', intensity: 'low', duration_minutes: 15, notes: 'breathing' }),
  mood(5, at('2026-03-04T08:00:00Z'), { level: 'excellent', trace_id: 'trace-5' }),
];

describe('toSnapshot', () => {
  test('the snapshot carries ids, window bounds, source position and version', () => {
    const window = build(events);
    const trigger = events[4]!;
    const s = toSnapshot(window, trigger, position(104, 2), config);
    assert.equal(s.snapshot_id, snapshotId('u-1', uuid(5)), 'UUIDv5 of user and trigger event');
    assert.equal(s.user_id, 'u-1', 'user');
    assert.equal(s.window_end, at('2026-03-04T08:00:00Z'), 'end is the newest event');
    assert.equal(s.window_start, at('2026-02-25T08:00:00Z'), 'start is end - 7 days');
    assert.equal(s.window_days, 7, 'window length');
    assert.equal(s.event_count, 5, 'five entries');
    assert.equal(s.trigger_event_id, uuid(5), 'trigger id');
    assert.equal(s.trigger_type, 'MoodCreated', 'trigger type');
    assert.equal(s.trace_id, 'trace-5', 'trace id carried from the trigger');
    assert.equal(s.source_topic, 'aura360.user.events', 'source topic');
    assert.equal(s.source_partition, 2, 'source partition');
    assert.equal(s.source_offset, 104, 'offset as a number');
    assert.equal(s.aggregator_version, '0.1.0-test', 'version from config');
    assert.equal(s.source_timestamp, 1_800_000_000_000, "the input record's Kafka timestamp (freshness starts there)");
    assert.equal(toSnapshot(window, trigger, { ...position(104, 2), timestamp: -1 }, config).source_timestamp, null, 'no timestamp (-1): null, never a made-up time');
  });

  test('the statistics are those of the window', () => {
    const s = toSnapshot(build(events), events[4]!, position(104), config);
    // Scores 2, 4, 5 at days 0, 2, 3 (08:00 each): mean 11/3; x̄ = 5/3, deviations of x and of y
    // are both -5/3, 1/3, 4/3, so Sxy = Sxx = 42/9 and the slope is exactly 1 per day.
    assert.equal(s.mood.count, 3, 'three moods');
    assert.ok(Math.abs(s.mood.mean! - 11 / 3) < 1e-12, 'mean 11/3');
    assert.ok(Math.abs(s.mood.trend_per_day! - 1) < 1e-12, `slope 1/day, got ${s.mood.trend_per_day}`);
    assert.deepEqual(s.mood.top_tags, [{ tag: 'work', count: 2 }, { tag: 'sleep', count: 1 }], 'tags');
    assert.equal(s.activity.total_minutes, 55, '40 + 15');
    assert.equal(s.activity.active_days, 2, '03-02 and 03-03');
    assert.equal(s.activity.streak_days, 0, 'no activity on 03-04, the date of end');
    assert.deepEqual(s.recent_notes, ['breathing', 'tired'], 'newest first');
  });

  test('the text is the rendering of the other fields', () => {
    const s = toSnapshot(build(events), events[4]!, position(104), config);
    const { text, ...rest } = s;
    assert.equal(text, renderText(rest), 'text = renderText(snapshot without text)');
  });

  test('equal windows reached through different arrival orders give byte-equal text', () => {
    // Distinct occurred_at, all inside one window: the arrival order changes the offsets (seq)
    // but not the window's content, so the rendered text must not change.
    const shuffled = [events[3]!, events[0]!, events[4]!, events[2]!, events[1]!];
    const a = toSnapshot(build(events), events[4]!, position(104), config);
    const b = toSnapshot(build(shuffled, 500), events[1]!, position(504), config);
    assert.equal(b.text, a.text, 'same window content, same bytes');
    assert.deepEqual({ mood: b.mood, activity: b.activity, notes: b.recent_notes }, { mood: a.mood, activity: a.activity, notes: a.recent_notes }, 'same statistics');
    assert.notEqual(b.snapshot_id, a.snapshot_id, 'the snapshot id still names its trigger');
  });

  test('a window of another user than the trigger is refused', () => {
    const window = build(events);
    assert.throws(
      () => toSnapshot(window, mood(9, at('2026-03-04'), { user_id: 'u-2' }), position(1), config),
      (e: unknown) => e instanceof AuraError && e.code === 'INTERNAL',
      'user mismatch',
    );
  });

  test('window_start follows windowDays', () => {
    const s = toSnapshot(build(events.slice(0, 1)), events[0]!, position(100), { ...config, windowDays: 3 });
    assert.equal(s.window_start, at('2026-03-01T08:00:00Z') - 3 * DAY, 'end - 3 days');
  });
});

describe('offsetToNumber', () => {
  test('decimal offsets become exact numbers and anything else is refused', () => {
    assert.equal(offsetToNumber('0'), 0, 'zero');
    assert.equal(offsetToNumber('9007199254740991'), Number.MAX_SAFE_INTEGER, 'largest exact offset');
    for (const bad of ['9007199254740993', '-1', '1.5', '', 'abc']) {
      assert.throws(() => offsetToNumber(bad), (e: unknown) => e instanceof AuraError && e.code === 'INTERNAL', `offset ${JSON.stringify(bad)}`);
    }
  });
});
