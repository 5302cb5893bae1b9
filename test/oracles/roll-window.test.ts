import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserWindow, WindowConfig } from '../../src/contracts/window.js';
import { AuraError } from '../../src/errors.js';
import { rollWindow } from './roll-window.js';
import { toEntry } from '../../src/pipeline/domain/window-entries.js';
import { DAY, activity, at, clone, mood, uuid } from '../support/aggregate-fixtures.js';

const config: WindowConfig = { windowDays: 7, maxEvents: 512 };

/** Folds events at offsets 0, 1, 2 ... (or the given seqs) and returns the window and outcomes. */
function fold(events: ReturnType<typeof mood | typeof activity>[], cfg: WindowConfig = config, seqs?: number[]) {
  let window: UserWindow | undefined;
  const outcomes: string[] = [];
  events.forEach((event, i) => {
    const r = rollWindow(window, event, seqs?.[i] ?? i, cfg);
    outcomes.push(r.outcome);
    window = r.window;
  });
  return { window: window!, outcomes };
}

const ids = (w: UserWindow) => w.entries.map((e) => e.event_id);

describe('rollWindow', () => {
  test('the first event of a user is accepted and sets the window end', () => {
    const r = rollWindow(undefined, mood(1, at('2026-03-04T10:00:00Z')), 40, config);
    assert.equal(r.outcome, 'accepted', 'a user without a window accepts anything');
    assert.equal(r.window.user_id, 'u-1', 'the window belongs to the event user');
    assert.equal(r.window.end, at('2026-03-04T10:00:00Z'), 'end is the event time');
    assert.deepEqual(ids(r.window), [uuid(1)], 'the window holds the event');
    assert.equal(r.window.entries[0]!.seq, 40, 'seq is the offset handed in');
  });

  test('an event exactly windowDays before the end is late and leaves the window untouched', () => {
    const end = at('2026-03-10T12:00:00Z');
    const { window } = fold([mood(1, end)]);
    const r = rollWindow(window, mood(2, end - 7 * DAY), 1, config);
    assert.equal(r.outcome, 'late', 'occurred_at <= end - 7 days is late');
    assert.equal(r.window, window, 'a late event returns the same window object');
  });

  test('an event one millisecond inside the window is accepted even though it is out of order', () => {
    const end = at('2026-03-10T12:00:00Z');
    const { window } = fold([mood(1, end)]);
    const r = rollWindow(window, mood(2, end - 7 * DAY + 1), 1, config);
    assert.equal(r.outcome, 'accepted', 'occurred_at > end - 7 days is inside the window');
    assert.equal(r.window.end, end, 'an older event does not move the end');
    assert.deepEqual(ids(r.window), [uuid(2), uuid(1)], 'the older event is placed first');
  });

  test('lateness is judged against the end before the event, not after it', () => {
    // end = day 10; an event at day 3 is late (3 <= 10 - 7) although a later event could have
    // been in the same batch: the order of the log decides.
    const { outcomes } = fold([mood(1, at('2026-03-10')), mood(2, at('2026-03-03')), mood(3, at('2026-03-03T00:00:00.001Z'))]);
    assert.deepEqual(outcomes, ['accepted', 'late', 'accepted'], 'only the event at exactly end - 7 days is late');
  });

  test('a redelivered event id already in the window is a duplicate and leaves the window untouched', () => {
    const { window } = fold([mood(1, at('2026-03-01')), mood(2, at('2026-03-02'))]);
    const r = rollWindow(window, mood(1, at('2026-03-01')), 7, config);
    assert.equal(r.outcome, 'duplicate', 'event_id 1 is in the window');
    assert.equal(r.window, window, 'a duplicate returns the same window object');
  });

  test('a duplicate is detected by event id alone, whatever the body says', () => {
    const { window } = fold([mood(1, at('2026-03-01'))]);
    const r = rollWindow(window, activity(1, at('2026-03-02')), 1, config);
    assert.equal(r.outcome, 'duplicate', 'same event_id with another type and time is still a duplicate');
  });

  test('events arriving out of order are placed by occurred_at, then by seq', () => {
    const t = at('2026-03-05T08:00:00Z');
    const { window } = fold([mood(1, t + 2), mood(2, t), mood(3, t + 1), mood(4, t)], config, [10, 11, 12, 9]);
    assert.deepEqual(ids(window), [uuid(4), uuid(2), uuid(3), uuid(1)], 'sorted by (occurred_at, seq)');
    assert.equal(window.end, t + 2, 'end is the largest accepted occurred_at');
  });

  test('an update evicts entries at or before the new end minus windowDays', () => {
    const { window } = fold([
      mood(1, at('2026-03-01')), // exactly new end - 7 days: evicted
      mood(2, at('2026-03-01T00:00:00.001Z')), // just inside: kept
      mood(3, at('2026-03-05')),
      mood(4, at('2026-03-08')), // new end
    ]);
    assert.equal(window.end, at('2026-03-08'), 'end moved to the newest event');
    assert.deepEqual(ids(window), [uuid(2), uuid(3), uuid(4)], 'the entry at the boundary is evicted, the one after it kept');
  });

  test('the cap keeps the maxEvents most recent entries, ties broken by the larger seq', () => {
    const t = at('2026-03-05T08:00:00Z');
    const cfg = { windowDays: 7, maxEvents: 2 };
    const { window } = fold([mood(1, t), mood(2, t), mood(3, t)], cfg);
    assert.deepEqual(ids(window), [uuid(2), uuid(3)], 'equal occurred_at: the first offset goes first');
  });

  test('an accepted event older than every entry of a full window is cut by the cap at once', () => {
    const t = at('2026-03-05T08:00:00Z');
    const cfg = { windowDays: 7, maxEvents: 2 };
    const { window, outcomes } = fold([mood(1, t), mood(2, t + 1), mood(3, t - 1)], cfg);
    assert.deepEqual(outcomes, ['accepted', 'accepted', 'accepted'], 'it was not late and not a duplicate');
    assert.deepEqual(ids(window), [uuid(1), uuid(2)], 'the window is unchanged by it');
  });

  test('an event evicted by the cap and delivered again is accepted again (the window is the dedupe memory)', () => {
    const t = at('2026-03-05T08:00:00Z');
    const cfg = { windowDays: 7, maxEvents: 2 };
    const { window, outcomes } = fold([mood(1, t), mood(2, t + 1), mood(3, t + 2), mood(1, t)], cfg);
    assert.deepEqual(outcomes, ['accepted', 'accepted', 'accepted', 'accepted'], 'id 1 was no longer in the window');
    assert.deepEqual(ids(window), [uuid(2), uuid(3)], 'and the cap cuts it again');
  });

  test('an event evicted by time and delivered again is late', () => {
    const { outcomes } = fold([mood(1, at('2026-03-01')), mood(2, at('2026-03-09')), mood(1, at('2026-03-01'))]);
    assert.deepEqual(outcomes, ['accepted', 'accepted', 'late'], 'the redelivery is older than the window');
  });

  test('rolling never mutates the window it is given', () => {
    const { window } = fold([mood(1, at('2026-03-01'), { tags: ['a'] }), activity(2, at('2026-03-02'))], { windowDays: 7, maxEvents: 2 });
    const before = clone(window);
    const r = rollWindow(window, mood(3, at('2026-03-08T12:00:00Z')), 5, { windowDays: 7, maxEvents: 2 });
    assert.notEqual(r.window, window, 'an accepted event gives a new window object');
    assert.deepEqual(window, before, 'the old window is as it was');
    assert.deepEqual(ids(r.window), [uuid(2), uuid(3)], 'the new window evicted the first entry');
  });

  test('a window handed an event of another user is a programming error', () => {
    const { window } = fold([mood(1, at('2026-03-01'))]);
    assert.throws(
      () => rollWindow(window, mood(2, at('2026-03-02'), { user_id: 'u-2' }), 1, config),
      (e: unknown) => e instanceof AuraError && e.code === 'INTERNAL',
      'mixing users must not silently merge windows',
    );
  });
});

describe('toEntry', () => {
  test('a mood becomes a mood entry carrying level, tags and note as sent', () => {
    const event = mood(1, 1_000, { level: 'good', tags: [' Work '], note: ' hi ' });
    const entry = toEntry(event, 9);
    assert.deepEqual(
      entry,
      { kind: 'mood', event_id: uuid(1), occurred_at: 1_000, seq: 9, level: 'good', tags: [' Work '], note: ' hi ' },
      'normalisation belongs to the statistics, not the stored entry',
    );
    assert.notEqual(entry.kind === 'mood' && entry.tags, event.tags, 'the tags array is copied, not shared with the event');
  });

  test('an activity becomes an activity entry carrying type, intensity, minutes and notes', () => {
    const entry = toEntry(activity(2, 2_000, { activity_type: 'strength', intensity: 'high', duration_minutes: 45, notes: 'legs' }), 3);
    assert.deepEqual(
      entry,
      { kind: 'activity', event_id: uuid(2), occurred_at: 2_000, seq: 3, activity_type: 'strength', intensity: 'high', duration_minutes: 45, notes: 'legs' },
      'every field the statistics need is kept',
    );
  });
});
