import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserWindow } from '../../src/contracts/window.js';
import { aggregateBatch } from './aggregate-batch.js';
import type { SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';
import { DAY, activity, at, clone, mood, records, uuid } from '../support/aggregate-fixtures.js';

const config: SnapshotConfig = { windowDays: 7, maxEvents: 512, aggregatorVersion: 'test' };
const t = at('2026-03-04T08:00:00Z');

function recordingLookup(store: Map<string, UserWindow>) {
  const calls: string[] = [];
  return { calls, lookup: (userId: string) => (calls.push(userId), store.get(userId)) };
}

describe('aggregateBatch', () => {
  test('several events of one user in a batch see each other and the store is asked once', () => {
    const { calls, lookup } = recordingLookup(new Map());
    const r = aggregateBatch(records([mood(1, t), activity(2, t + DAY), mood(3, t + 2 * DAY)]), lookup, config);
    assert.deepEqual(calls, ['u-1'], 'one lookup for the user, even though it returned nothing');
    assert.deepEqual(r.snapshots.map((s) => s.snapshot.event_count), [1, 2, 3], 'each snapshot includes the earlier events of the batch');
    assert.equal(r.states.get('u-1')!.entries.length, 3, 'the final state holds all three');
  });

  test('the store is asked only for users not yet in the overlay, and its windows are extended', () => {
    const stored: UserWindow = {
      user_id: 'u-1',
      end: t,
      entries: [{ kind: 'mood', event_id: uuid(100), occurred_at: t, seq: 5, level: 'good', tags: [], note: null }],
    };
    const before = clone(stored);
    const { calls, lookup } = recordingLookup(new Map([['u-1', stored]]));
    const batch = records([mood(1, t + 1), mood(2, t + 2, { user_id: 'u-2' }), mood(3, t + 3), mood(4, t + 4, { user_id: 'u-2' })], 10);
    const r = aggregateBatch(batch, lookup, config);
    assert.deepEqual(calls, ['u-1', 'u-2'], 'each user looked up once, in first-seen order');
    assert.deepEqual(r.states.get('u-1')!.entries.map((e) => e.event_id), [uuid(100), uuid(1), uuid(3)], 'stored entry kept, batch entries added');
    assert.deepEqual(r.states.get('u-1')!.entries.map((e) => e.seq), [5, 10, 12], 'seq is the record offset');
    assert.equal(r.states.get('u-2')!.entries.length, 2, 'a new user gets a window');
    assert.deepEqual(stored, before, 'the stored window is not mutated');
  });

  test('late and duplicate records emit nothing, are counted, and leave the state out when nothing changed', () => {
    const stored: UserWindow = {
      user_id: 'u-1',
      end: t,
      entries: [{ kind: 'mood', event_id: uuid(1), occurred_at: t, seq: 0, level: 'good', tags: [], note: null }],
    };
    const { lookup } = recordingLookup(new Map([['u-1', stored]]));
    const r = aggregateBatch(records([mood(1, t), mood(2, t - 8 * DAY)], 1), lookup, config);
    assert.deepEqual(r.outcomes, ['duplicate', 'late'], 'per-record outcomes');
    assert.deepEqual(r.counters, { accepted: 0, late: 1, duplicate: 1 }, 'counters');
    assert.equal(r.snapshots.length, 0, 'no snapshot for rejected records');
    assert.equal(r.states.size, 0, 'no changelog record for an unchanged window');
  });

  test('outcomes, counters and snapshots line up with the input records', () => {
    const batch = records([mood(1, t), mood(1, t), mood(2, t - 7 * DAY), activity(3, t - DAY), mood(4, t + DAY, { user_id: 'u-2' })], 20);
    const r = aggregateBatch(batch, () => undefined, config);
    assert.deepEqual(r.outcomes, ['accepted', 'duplicate', 'late', 'accepted', 'accepted'], 'outcome per record');
    assert.deepEqual(r.counters, { accepted: 3, late: 1, duplicate: 1 }, 'counters add up to the batch size');
    assert.deepEqual(r.snapshots.map((s) => s.position.offset), ['20', '23', '24'], 'snapshots in input order with their positions');
    assert.deepEqual(r.snapshots.map((s) => s.snapshot.trigger_event_id), [uuid(1), uuid(3), uuid(4)], 'each snapshot names its trigger');
    assert.deepEqual([...r.states.keys()], ['u-1', 'u-2'], 'both touched users have a final state');
  });

  test('splitting a log into batches does not change the result', () => {
    const log = records([
      mood(1, t),
      activity(2, t - 2 * DAY),
      mood(3, t + 3 * DAY, { note: 'x' }),
      mood(1, t),
      mood(4, t - 6 * DAY),
      activity(5, t + 9 * DAY),
      mood(6, t + 3 * DAY),
    ]);
    const whole = aggregateBatch(log, () => undefined, config);
    const store = new Map<string, UserWindow>();
    const pieces = [log.slice(0, 2), log.slice(2, 3), log.slice(3)].map((part) => {
      const r = aggregateBatch(part, (u) => store.get(u), config);
      for (const [u, w] of r.states) store.set(u, w);
      return r;
    });
    assert.deepEqual(pieces.flatMap((p) => p.snapshots), whole.snapshots, 'same snapshots');
    assert.deepEqual(pieces.flatMap((p) => p.outcomes), whole.outcomes, 'same outcomes');
    assert.deepEqual(store.get('u-1'), whole.states.get('u-1'), 'same final state');
  });
});
