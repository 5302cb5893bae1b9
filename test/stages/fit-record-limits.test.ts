import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserWindow } from '../../src/contracts/window.js';
import type { OutRecord } from '../../src/ports.js';
import { aggregateBatch, type AggregateInput } from '../../src/stages/aggregate-partition.js';
import { foldWithinLimits } from '../../src/stages/fit-record-limits.js';
import type { SnapshotConfig } from '../../src/stages/to-snapshot.js';
import { HOUR, at, mood } from './aggregate-fixtures.js';

const config: SnapshotConfig = { windowDays: 7, maxEvents: 512, aggregatorVersion: 'test' };
const t0 = at('2026-03-01T08:00:00Z');

function input(n: number, userId: string, note: string | null): AggregateInput {
  return { position: { topic: 'in', partition: 0, offset: String(n), timestamp: t0 + n * HOUR }, key: userId, event: mood(n, t0 + n * HOUR, { user_id: userId, note, tags: ['work'] }) };
}

const build = {
  snapshot: (s: { user_id: string }) => ({ topic: 'out', key: s.user_id, value: Buffer.from(JSON.stringify(s)) }) as OutRecord,
  window: (userId: string, w: UserWindow) => ({ topic: 'log', key: userId, value: Buffer.from(JSON.stringify(w)), partition: 0 }) as OutRecord,
};
const fold = (stored: Map<string, UserWindow> = new Map()) => (inputs: readonly AggregateInput[]) => aggregateBatch(inputs, (u) => stored.get(u), config);
/** A changelog limit: windows above `windowBytes` can never be written. */
const limit = (windowBytes: number) => (r: OutRecord) => (r.topic === 'log' && r.value!.length > windowBytes ? `window of ${r.value!.length} bytes over ${windowBytes}` : undefined);

describe('foldWithinLimits', () => {
  test('when everything fits it is the plain fold, with one record per snapshot and per window', () => {
    const inputs = [input(1, 'a', 'x'), input(2, 'b', 'y'), input(3, 'a', 'z')];
    const fitted = foldWithinLimits(inputs, fold(), build, () => undefined);
    assert.deepEqual(fitted.fold, fold()(inputs));
    assert.deepEqual(fitted.tooLarge, []);
    assert.equal(fitted.snapshotRecords.length, 3);
    assert.deepEqual(fitted.changelogRecords.map((r) => r.key), ['a', 'b']);
  });

  test('an event whose window can never be written is taken out as RECORD_TOO_LARGE; the other users and the earlier events stay', () => {
    const big = 'B'.repeat(3000);
    const inputs = [input(1, 'a', 'small'), input(2, 'b', 'ok'), input(3, 'a', big), input(4, 'a', 'after')];
    const fitted = foldWithinLimits(inputs, fold(), build, limit(2500));
    assert.deepEqual(fitted.tooLarge.map((t) => [t.position.offset, t.error.code]), [['3', 'RECORD_TOO_LARGE']]);
    assert.match(fitted.tooLarge[0]!.error.message, /window of user "a" .* can never be written to the changelog: window of \d+ bytes over 2500/);
    assert.deepEqual(fitted.fold, fold()([inputs[0]!, inputs[1]!, inputs[3]!]), 'the fold without the oversized event');
    assert.ok(fitted.changelogRecords.every((r) => r.value!.length <= 2500), 'every changelog record fits');
  });

  test('blame walks over a user\'s events of the chunk, largest first, until the window fits', () => {
    const inputs = [input(1, 'a', 'N'.repeat(900)), input(2, 'a', 'N'.repeat(900)), input(3, 'a', 'N'.repeat(900))];
    const fitted = foldWithinLimits(inputs, fold(), build, limit(1500));
    assert.deepEqual(fitted.tooLarge.map((t) => t.position.offset), ['2', '3'], 'the two events that pushed the window over, in offset order');
    assert.equal(fitted.fold.counters.accepted, 1);
  });

  test('an oversized snapshot blames its own trigger event', () => {
    const inputs = [input(1, 'a', 'fine'), input(2, 'b', 'fine too')];
    const snapshotLimit = (r: OutRecord) => (r.topic === 'out' && r.key === 'b' ? 'too big' : undefined);
    const fitted = foldWithinLimits(inputs, fold(), build, snapshotLimit);
    assert.deepEqual(fitted.tooLarge.map((t) => t.position.offset), ['2']);
    assert.match(fitted.tooLarge[0]!.error.message, /snapshot of this event can never be written: too big/);
    assert.deepEqual(fitted.snapshotRecords.map((r) => r.key), ['a']);
  });
});
