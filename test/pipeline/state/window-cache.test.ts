import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CacheBudget, WindowCache, estimateWindowBytes } from '../../../src/pipeline/state/window-cache.js';
import { foldEvent, type WindowState } from '../../../src/pipeline/domain/window-state.js';
import { at, mood } from '../../support/aggregate-fixtures.js';

const state = (user: string): WindowState => foldEvent(undefined, mood(1, at('2026-03-01'), { user_id: user }), 1, { windowDays: 7, maxEvents: 5 }).state;

describe('WindowCache', () => {
  test('loads a user once and serves it from memory afterwards', () => {
    const cache = new WindowCache(10);
    const loads: string[] = [];
    const load = (u: string) => (loads.push(u), state(u));
    const a = cache.take('u-1', load);
    assert.equal(cache.take('u-1', load), a, 'same state object');
    assert.deepEqual(loads, ['u-1']);
  });

  test('never drops a user touched by a transaction that is not committed yet', () => {
    const cache = new WindowCache(1);
    cache.touch('u-1', state('u-1'), 0);
    cache.touch('u-2', state('u-2'), 1);
    cache.trim();
    assert.equal(cache.size, 2, 'both in flight: kept over the bound');
    cache.committed(0);
    assert.equal(cache.size, 1, 'u-1 durable: dropped');
    assert.ok(cache.take('u-2', () => undefined) !== undefined, 'u-2 (in flight) kept');
    cache.committed(1);
    assert.equal(cache.size, 1, 'bound reached');
  });

  test('drops the least recently touched first', () => {
    const cache = new WindowCache(2);
    cache.touch('u-1', state('u-1'), 0);
    cache.touch('u-2', state('u-2'), 0);
    cache.touch('u-1', state('u-1'), 1);
    cache.touch('u-3', state('u-3'), 1);
    cache.committed(1);
    const left = ['u-1', 'u-2', 'u-3'].filter((u) => cache.take(u, () => undefined) !== undefined);
    assert.deepEqual(left.slice(0, 2), ['u-1', 'u-3'], 'u-2 was the least recently touched');
  });

  test('clear forgets everything (after a failed or abandoned transaction)', () => {
    const cache = new WindowCache(5);
    cache.touch('u-1', state('u-1'), 0);
    cache.clear();
    assert.equal(cache.take('u-1', () => undefined), undefined, 'reloaded from the store');
  });
});

describe('WindowCache: erased users and stream time', () => {
  test('a user touched with no state answers "no window" without loading the store until its transaction is durable', () => {
    const cache = new WindowCache(0);
    const loads: string[] = [];
    const load = (u: string) => (loads.push(u), state(u));
    cache.touch('u-1', undefined, 0);
    cache.trim();
    assert.equal(cache.take('u-1', load), undefined, 'erased in flight: no window');
    assert.deepEqual(loads, [], 'the store (still holding the old window) is not asked');
    cache.committed(0);
    assert.equal(cache.size, 0, 'dropped once durable');
  });

  test('stream time is loaded once, only moves forward, and is forgotten by clear()', () => {
    const cache = new WindowCache(10);
    let stored = { time: 100, offset: '5' };
    const load = () => stored;
    cache.advance(90, '6', load);
    assert.deepEqual(cache.streamTime(load), { time: 100, offset: '5' }, 'an older timestamp does not move it back');
    cache.advance(120, '7', load);
    cache.advance(-1, '8', load);
    assert.deepEqual(cache.streamTime(load), { time: 120, offset: '7' }, 'a later one moves it; a missing (-1) one does not');
    stored = { time: 110, offset: '6' };
    cache.clear();
    assert.deepEqual(cache.streamTime(load), { time: 110, offset: '6' }, 'after clear(): the committed one again');
  });
});

describe('WindowCache: the byte budget (AGGREGATE_CACHE_MAX_BYTES)', () => {
  const big = (user: string, n: number): WindowState => {
    let s: WindowState | undefined;
    for (let i = 0; i < n; i++) s = foldEvent(s, mood(i + 1, at('2026-03-01') + i * 60_000, { user_id: user, note: 'x'.repeat(150) }), i, { windowDays: 7, maxEvents: 512 }, (e) => JSON.stringify(e)).state;
    return s!;
  };

  test('the estimate grows with the encoded window: 3.1 bytes per encoded byte plus a fixed 12 KiB', () => {
    const small = big('u-s', 2);
    const large = big('u-l', 200);
    assert.ok(large.encodedLength > 100 * small.encodedLength / 2, 'the fixture grows');
    assert.equal(estimateWindowBytes(large) - estimateWindowBytes(small), Math.ceil(3.1 * large.encodedLength) - Math.ceil(3.1 * small.encodedLength));
    assert.equal(estimateWindowBytes(undefined), 128, 'an erased user is a map entry');
  });

  test('drops committed users, least recently touched first, until the shared budget holds, across the caches of all partitions', () => {
    const per = estimateWindowBytes(big('u-x', 100));
    const budget = new CacheBudget(3 * per + per / 2);
    const p0 = new WindowCache(1000, budget);
    const p1 = new WindowCache(1000, budget);
    p0.touch('u-1', big('u-1', 100), 0);
    p0.touch('u-2', big('u-2', 100), 0);
    p1.touch('u-3', big('u-3', 100), 0);
    p1.touch('u-4', big('u-4', 100), 0);
    assert.equal(budget.used, 4 * per, 'the budget counts both caches');
    p1.committed(0);
    assert.equal(p1.size, 1, 'partition 1 dropped its oldest to bring the process under budget');
    assert.ok(p1.take('u-4', () => undefined) !== undefined, 'the most recently touched stays');
    assert.ok(budget.used <= budget.maxBytes, `${budget.used} <= ${budget.maxBytes}`);
    assert.equal(p0.size, 2, 'partition 0 untouched: its transaction is still in flight');
  });

  test('in-flight windows are never dropped for the budget; clear() gives the bytes back', () => {
    const budget = new CacheBudget(1);
    const cache = new WindowCache(1000, budget);
    cache.touch('u-1', big('u-1', 10), 5);
    cache.trim();
    assert.equal(cache.size, 1, 'in flight: kept over the budget');
    assert.equal(budget.used, cache.bytes);
    cache.clear();
    assert.equal(budget.used, 0);
    assert.equal(cache.bytes, 0);
  });

  test('re-touching a user replaces its bytes instead of adding them', () => {
    const budget = new CacheBudget(Number.POSITIVE_INFINITY);
    const cache = new WindowCache(1000, budget);
    cache.touch('u-1', big('u-1', 10), 0);
    cache.touch('u-1', big('u-1', 20), 1);
    assert.equal(budget.used, estimateWindowBytes(big('u-1', 20)));
  });
});
