import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coalesceByKey } from '../../../src/pipeline/domain/coalesce.js';

interface Rec {
  pointId: string;
  offset: bigint;
  text: string;
}

const rec = (pointId: string, offset: bigint, text: string): Rec => ({ pointId, offset, text });
const byPoint = (r: Rec): string => r.pointId;
const byOffset = (r: Rec): bigint => r.offset;

describe('coalesceByKey', () => {
  it('keeps the record with the highest offset per key, whatever the arrival order', () => {
    const items = [rec('u1', 10n, 'u1 first'), rec('u2', 11n, 'u2 only'), rec('u1', 14n, 'u1 last'), rec('u1', 12n, 'u1 middle')];
    const { kept, superseded } = coalesceByKey(items, byPoint, byOffset);
    assert.deepEqual(
      kept.map((r) => r.text),
      ['u2 only', 'u1 last'],
      'u1 is represented by offset 14 (its last), u2 by its only record',
    );
    assert.deepEqual(
      superseded.map((r) => r.text),
      ['u1 first', 'u1 middle'],
      'the losers are reported in input order so their offsets can be marked done',
    );
  });

  it('orders the winners by their offsets', () => {
    const items = [rec('c', 7n, 'c7'), rec('a', 3n, 'a3'), rec('b', 5n, 'b5'), rec('a', 9n, 'a9')];
    const { kept } = coalesceByKey(items, byPoint, byOffset);
    assert.deepEqual(kept.map((r) => r.offset), [5n, 7n, 9n], 'winners come out in ascending offset order');
  });

  it('accounts for every input exactly once across kept and superseded', () => {
    const items = Array.from({ length: 50 }, (_, i) => rec(`u${i % 7}`, BigInt(1000 + i), `t${i}`));
    const { kept, superseded } = coalesceByKey(items, byPoint, byOffset);
    assert.equal(kept.length, 7, 'one winner per distinct key');
    assert.equal(kept.length + superseded.length, items.length, 'nothing is lost or duplicated');
    assert.deepEqual(new Set([...kept, ...superseded]), new Set(items), 'the union is the input');
    for (const winner of kept) {
      const maxOfKey = items.filter((r) => r.pointId === winner.pointId).reduce((m, r) => (r.offset > m ? r.offset : m), -1n);
      assert.equal(winner.offset, maxOfKey, `the winner of ${winner.pointId} has the key's highest offset`);
    }
  });

  it('compares int64 offsets beyond Number.MAX_SAFE_INTEGER exactly', () => {
    const big = 2n ** 62n;
    const items = [rec('u', big + 1n, 'later'), rec('u', big, 'earlier')];
    const { kept, superseded } = coalesceByKey(items, byPoint, byOffset);
    assert.deepEqual(kept.map((r) => r.text), ['later'], 'big + 1 beats big although both round to the same double');
    assert.deepEqual(superseded.map((r) => r.text), ['earlier'], 'the lower offset is superseded');
  });

  it('lets the later input win a tie of equal offsets, so the result is deterministic', () => {
    const items = [rec('u', 5n, 'first seen'), rec('u', 5n, 'second seen')];
    const { kept } = coalesceByKey(items, byPoint, byOffset);
    assert.deepEqual(kept.map((r) => r.text), ['second seen'], 'on a tie the later item wins');
  });

  it('returns empty results for an empty batch and leaves the input untouched', () => {
    assert.deepEqual(coalesceByKey<Rec>([], byPoint, byOffset), { kept: [], superseded: [] }, 'empty in, empty out');
    const items = [rec('u', 2n, 'b'), rec('u', 1n, 'a')];
    const copy = [...items];
    coalesceByKey(items, byPoint, byOffset);
    assert.deepEqual(items, copy, 'the input array is not reordered');
  });
});
