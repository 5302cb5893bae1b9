import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkBySimilarLength, paddingWaste } from '../../src/stages/length-buckets.js';

const item = (id: string, length: number): { id: string; text: string } => ({ id, text: 'x'.repeat(length) });

/** Splits in input order, as a batch would be without bucketing. */
function unsortedChunks<T>(items: readonly T[], maxChunk: number): Array<{ items: T[] }> {
  const out: Array<{ items: T[] }> = [];
  for (let i = 0; i < items.length; i += maxChunk) out.push({ items: items.slice(i, i + maxChunk) });
  return out;
}

describe('chunkBySimilarLength', () => {
  it('pads less than an unsorted split of a mixed batch', () => {
    const lengths = [12, 480, 30, 350, 8, 510, 25, 400, 40, 300, 15, 460];
    const items = lengths.map((len, i) => item(`p${i}`, len));
    const bucketed = chunkBySimilarLength(items, 4);
    const plain = unsortedChunks(items, 4);
    const bucketedWaste = paddingWaste(bucketed);
    const plainWaste = paddingWaste(plain);
    assert.equal(plainWaste, 3170, 'the unsorted split pads short texts up to the long ones');
    assert.equal(bucketedWaste, 910, 'the bucketed split pads within similar lengths only');
    assert.ok(bucketedWaste < plainWaste, `bucketed waste ${bucketedWaste} is below unsorted waste ${plainWaste}`);
  });

  it('maps every chunk row back to its input index', () => {
    const items = [item('a', 50), item('b', 5), item('c', 20), item('d', 5), item('e', 90)];
    const chunks = chunkBySimilarLength(items, 2);
    assert.deepEqual(chunks.map((c) => c.items.length), [2, 2, 1], 'chunks are cut at maxChunk');
    for (const chunk of chunks) {
      chunk.items.forEach((it, row) => {
        assert.equal(items[chunk.indices[row] as number], it, `row ${row} of a chunk points at its input`);
      });
    }
    const allIndices = chunks.flatMap((c) => c.indices).sort((x, y) => x - y);
    assert.deepEqual(allIndices, [0, 1, 2, 3, 4], 'every input index appears exactly once');
  });

  it('breaks length ties by input position, so equal inputs give equal chunks', () => {
    const items = [item('a', 5), item('b', 9), item('c', 5), item('d', 5)];
    const chunks = chunkBySimilarLength(items, 2);
    assert.deepEqual(chunks.map((c) => c.items.map((x) => x.id)), [['a', 'c'], ['d', 'b']], 'ties keep input order');
    assert.deepEqual(chunkBySimilarLength(items, 2), chunks, 'a second call gives the same chunks');
  });

  it('measures length with the given function', () => {
    const items = [item('long-in-chars', 100), item('short', 3)];
    const words = (x: { text: string }): number => (x.text === 'xxx' ? 50 : 1);
    const chunks = chunkBySimilarLength(items, 1, words);
    assert.deepEqual(chunks.map((c) => c.items[0]?.id), ['long-in-chars', 'short'], 'the custom measure decides the order');
  });

  it('returns no chunks for no items and refuses a chunk size below one', () => {
    assert.deepEqual(chunkBySimilarLength([], 8), [], 'empty in, empty out');
    assert.throws(() => chunkBySimilarLength([item('a', 1)], 0), /maxChunk/, 'maxChunk 0 is refused');
  });
});
