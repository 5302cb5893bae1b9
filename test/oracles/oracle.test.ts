import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SourcePosition, UserEvent } from '../../src/contracts/events.js';
import { pointId } from '../../src/contracts/ids.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { aggregateBatch } from './aggregate-batch.js';
import { aggregateOracle } from './aggregate-oracle.js';
import { pointOracle } from './point-oracle.js';
import type { SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';
import { DAY, HOUR, activity, at, mood, records, seeded, uuid } from '../support/aggregate-fixtures.js';

type LogRecord = { position: SourcePosition; key: string; event: UserEvent };

/**
 * A reproducible log for one partition: several users, event times quantised to hours (ties),
 * arriving out of order, with stale events (late), exact redeliveries (duplicates) and a few
 * redeliveries whose body changed (same event id, other time).
 */
function randomLog(seed: number, size: number): LogRecord[] {
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const users = ['u-0', 'u-1', 'u-2', 'u-3'];
  const clock = new Map(users.map((u) => [u, at('2026-03-01')]));
  const events: UserEvent[] = [];
  for (let n = 0; events.length < size; n++) {
    const roll = rnd();
    if (roll < 0.1 && events.length > 0) {
      events.push(pick(rnd() < 0.8 ? events.slice(-40) : events)); // exact redelivery, mostly of recent records
      continue;
    }
    if (roll < 0.13 && events.length > 0) {
      const original = pick(events);
      events.push({ ...original, occurred_at: original.occurred_at + Math.floor(rnd() * 48 - 24) * HOUR }); // conflicting redelivery
      continue;
    }
    const user = pick(users);
    const now = clock.get(user)! + Math.floor(rnd() * 10) * HOUR;
    clock.set(user, now);
    // Mostly recent, some a little out of order, some older than any window.
    const lag = rnd() < 0.7 ? Math.floor(rnd() * 6) * HOUR : rnd() < 0.7 ? Math.floor(rnd() * 4 * 24) * HOUR : Math.floor(rnd() * 12 * 24) * HOUR;
    const occurredAt = now - lag;
    const tags = ['Work', ' sleep', 'family ', 'RUN', 'food', 'friends'].filter(() => rnd() < 0.3);
    const note = rnd() < 0.3 ? pick(['  ', 'fine', 'long day', '\u{1F600}'.repeat(150 + Math.floor(rnd() * 100))]) : null;
    events.push(
      rnd() < 0.55
        ? mood(n, occurredAt, { user_id: user, level: pick(['very_low', 'low', 'moderate', 'good', 'excellent', 'unknown'] as const), tags, note })
        : activity(n, occurredAt, {
            user_id: user,
            activity_type: pick(['cardio', 'strength', 'flexibility', 'mindfulness', 'other'] as const),
            intensity: pick(['low', 'moderate', 'high', 'unknown'] as const),
            duration_minutes: Math.floor(rnd() * 120),
            notes: note,
          }),
    );
  }
  return records(events, 1000);
}

/** Runs the stage's fold over `log` in random batch sizes, as the topology would. */
function runStage(log: readonly LogRecord[], config: SnapshotConfig, seed: number) {
  const rnd = seeded(seed);
  const store = new Map<string, UserWindow>();
  const last = new Map<string, ContextAggregated>();
  const counters = { accepted: 0, late: 0, duplicate: 0 };
  const acceptedEventIds = new Set<string>();
  let maxWindow = 0;
  for (let i = 0; i < log.length; ) {
    const batch = log.slice(i, i + 1 + Math.floor(rnd() * 40));
    i += batch.length;
    const r = aggregateBatch(batch, (u) => store.get(u), config);
    for (const [u, w] of r.states) {
      store.set(u, w);
      maxWindow = Math.max(maxWindow, w.entries.length);
    }
    for (const { snapshot } of r.snapshots) last.set(snapshot.user_id, snapshot);
    r.outcomes.forEach((o, k) => {
      counters[o] += 1;
      if (o === 'accepted') acceptedEventIds.add(batch[k]!.event.event_id);
    });
  }
  return { last, counters, acceptedEventIds, maxWindow };
}

describe('aggregateOracle', () => {
  test('a hand-checked log gives the expected counts and final snapshot', () => {
    const config: SnapshotConfig = { windowDays: 7, maxEvents: 2, aggregatorVersion: 'oracle' };
    const t = at('2026-03-10T12:00:00Z');
    const log = records([
      mood(1, t, { level: 'good' }), // accepted
      mood(2, t - 7 * DAY, { level: 'low' }), // late: exactly end - 7 days
      mood(1, t, { level: 'good' }), // duplicate
      activity(3, t - DAY, { duration_minutes: 20 }), // accepted, out of order
      mood(4, t + DAY, { level: 'excellent' }), // accepted; the cap of 2 drops event 3
      activity(3, t - DAY, { duration_minutes: 20 }), // accepted again: 3 left the window, the cap drops it again
    ]);
    const r = aggregateOracle(log, config);
    assert.deepEqual([r.accepted, r.late, r.duplicate], [4, 1, 1], 'accepted, late, duplicate');
    assert.deepEqual([...r.acceptedEventIds].sort(), [uuid(1), uuid(3), uuid(4)], 'distinct accepted ids');
    const s = r.finalSnapshot.get('u-1')!;
    assert.equal(s.event_count, 2, 'events 1 and 4');
    assert.equal(s.activity.sessions, 0, 'the activity was cut by the cap');
    assert.equal(s.mood.mean, 4.5, 'mean of good and excellent');
    assert.equal(s.trigger_event_id, uuid(3), 'the last accepted record triggers the final snapshot');
    assert.equal(s.source_offset, 5, 'its offset');
  });

  for (const seed of [1, 7, 42, 2026, 90210]) {
    test(`the oracle and aggregateBatch agree on a randomised log (seed ${seed})`, () => {
      const config: SnapshotConfig = { windowDays: 3, maxEvents: 12, aggregatorVersion: 'oracle' };
      const log = randomLog(seed, 700);
      const stage = runStage(log, config, seed + 1);
      const oracle = aggregateOracle(log, config);

      // The log must exercise every rule, or agreement proves little.
      assert.ok(oracle.late > 20, `late events present (${oracle.late})`);
      assert.ok(oracle.duplicate > 20, `duplicates present (${oracle.duplicate})`);
      assert.equal(stage.maxWindow, config.maxEvents, 'the cap was reached');
      const outOfOrder = log.filter((r, i) => oracle.acceptedEventIds.has(r.event.event_id) && log.slice(0, i).some((p) => p.event.user_id === r.event.user_id && p.event.occurred_at > r.event.occurred_at)).length;
      assert.ok(outOfOrder > 20, `accepted out-of-order events present (${outOfOrder})`);

      assert.deepEqual(stage.counters, { accepted: oracle.accepted, late: oracle.late, duplicate: oracle.duplicate }, 'same counts');
      assert.deepEqual(stage.acceptedEventIds, oracle.acceptedEventIds, 'same accepted event ids');
      assert.deepEqual([...stage.last.keys()].sort(), [...oracle.finalSnapshot.keys()].sort(), 'same users');
      for (const [user, expected] of oracle.finalSnapshot) {
        assert.deepEqual(stage.last.get(user), expected, `same final snapshot for ${user}`);
      }
    });
  }

  test('the oracle and aggregateBatch agree on every prefix of a log', () => {
    // A short window on an hourly grid puts entries exactly on the eviction boundary often.
    const config: SnapshotConfig = { windowDays: 1, maxEvents: 5, aggregatorVersion: 'oracle' };
    const log = randomLog(5, 200);
    for (let cut = 1; cut <= log.length; cut += 1) {
      const prefix = log.slice(0, cut);
      const stage = runStage(prefix, config, cut);
      const oracle = aggregateOracle(prefix, config);
      assert.deepEqual(stage.last, oracle.finalSnapshot, `final snapshots after ${cut} records`);
      assert.deepEqual(stage.counters, { accepted: oracle.accepted, late: oracle.late, duplicate: oracle.duplicate }, `counts after ${cut} records`);
    }
  });
});

describe('pointOracle', () => {
  const config: SnapshotConfig = { windowDays: 7, maxEvents: 512, aggregatorVersion: 'oracle' };
  const snapshotsOf = (events: UserEvent[]) => aggregateBatch(records(events), () => undefined, config).snapshots.map((s) => s.snapshot);

  test('one point per user per UTC day of window_end, carrying the last snapshot of that day', () => {
    const [a1, a2, b1] = snapshotsOf([mood(1, at('2026-03-04T01:00:00Z')), mood(2, at('2026-03-04T23:59:59.999Z')), mood(3, at('2026-03-05T00:00:00Z'))]);
    const [c1] = snapshotsOf([mood(4, at('2026-03-04T12:00:00Z'), { user_id: 'u-2' })]);
    const points = pointOracle([a1!, a2!, c1!, b1!].map((snapshot, offset) => ({ snapshot, offset })));
    assert.equal(points.size, 3, 'u-1 on 03-04 and 03-05, u-2 on 03-04');
    assert.equal(points.get(pointId('u-1', at('2026-03-04')))?.trigger_event_id, uuid(2), 'the later snapshot of 03-04 wins');
    assert.equal(points.get(pointId('u-1', at('2026-03-05')))?.trigger_event_id, uuid(3), 'the next day is its own point');
    assert.equal(points.get(pointId('u-2', at('2026-03-04')))?.trigger_event_id, uuid(4), 'another user on the same day is another point');
  });

  test('the winner is decided by offset, so a stale redelivery at a lower offset does not win', () => {
    const [a1, a2] = snapshotsOf([mood(1, at('2026-03-04T01:00:00Z')), mood(2, at('2026-03-04T02:00:00Z'))]);
    const points = pointOracle([
      { snapshot: a2!, offset: 11 },
      { snapshot: a1!, offset: 10 },
    ]);
    assert.equal(points.get(pointId('u-1', at('2026-03-04')))?.trigger_event_id, uuid(2), 'offset 11 beats offset 10');
  });
});
