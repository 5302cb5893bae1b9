import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnconfirmedRecords } from '../../../src/pipeline/state/unconfirmed-records.js';

describe('UnconfirmedRecords', () => {
  const recs = (...pairs: Array<[number, number]>) => pairs.map(([offset, timestamp]) => ({ offset: String(offset), timestamp: String(timestamp) }));

  it('holds fetched records per partition until confirmed, the oldest being the head of any partition', () => {
    const u = new UnconfirmedRecords();
    u.fetched(0, recs([5, 500], [6, 600], [7, 700]));
    u.fetched(1, recs([0, 550]));
    assert.equal(u.oldest(), 500);
    assert.equal(u.oldest(1), 550);
    u.confirmed(0, '7');
    assert.equal(u.oldest(0), 700, 'offsets 5 and 6 confirmed (7 is the next to read)');
    assert.equal(u.oldest(), 550);
    assert.equal(u.size, 2);
    u.confirmed(0, '8');
    u.confirmed(1, '1');
    assert.equal(u.oldest(), undefined, 'nothing held');
  });

  it('does not add a record fetched again, and forgets everything on clear (a rebalance)', () => {
    const u = new UnconfirmedRecords();
    u.fetched(0, recs([1, 100], [2, 200]));
    u.fetched(0, recs([1, 100], [2, 200], [3, 300]));
    assert.equal(u.size, 3, 'the refetched 1 and 2 are not doubled');
    u.clear();
    assert.equal(u.size, 0);
    assert.equal(u.oldest(), undefined);
    u.fetched(0, recs([1, 100]));
    assert.equal(u.oldest(), 100, 'after a clear the same offsets are taken again');
  });

  it('knows how far the stage consumed only while nothing of the partition is unconfirmed', () => {
    const u = new UnconfirmedRecords();
    u.fetched(0, recs([5, 500], [6, 600]), '8');
    assert.equal(u.consumedThrough(0), undefined, 'records held: unknown');
    u.confirmed(0, '7');
    assert.equal(u.consumedThrough(0), '8', 'all confirmed: the high watermark of the last fetch (7 is a commit marker)');
    assert.equal(u.consumedThrough(1), undefined, 'never fetched');
  });

  it('compacts a long confirmed prefix without losing the head', () => {
    const u = new UnconfirmedRecords();
    u.fetched(0, Array.from({ length: 5000 }, (_, i) => ({ offset: String(i), timestamp: String(10_000 + i) })));
    u.confirmed(0, '4000');
    assert.equal(u.size, 1000);
    assert.equal(u.oldest(), 14_000);
    u.confirmed(0, '4500');
    assert.equal(u.oldest(), 14_500);
  });
});
