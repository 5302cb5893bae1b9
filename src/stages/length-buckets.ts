import { AuraError } from '../errors.js';

/** An item to embed: anything with a text (usually also an id). */
export interface TextItem {
  text: string;
}

/** One forward pass worth of items, with the positions they had in the input. */
export interface LengthChunk<T extends TextItem> {
  /** `items[i]` was `input[indices[i]]`. */
  indices: number[];
  items: T[];
}

/** Default length measure: UTF-16 code units, a cheap stand-in for the token count. */
export const textLength = (item: TextItem): number => item.text.length;

/**
 * Cuts `items` into chunks of at most `maxChunk`, grouping texts of similar length so that a padded
 * forward pass wastes less (every row of a chunk is padded to its longest text).
 *
 * Items are sorted by `length` ascending, ties by input position, then cut in order; the result is
 * a pure function of the input. Every input index appears in exactly one chunk. Callers scatter the
 * results back with `indices`.
 */
export function chunkBySimilarLength<T extends TextItem>(
  items: readonly T[],
  maxChunk: number,
  length: (item: T) => number = textLength,
): Array<LengthChunk<T>> {
  if (!Number.isInteger(maxChunk) || maxChunk < 1) {
    throw new AuraError('CONFIG', `chunkBySimilarLength: maxChunk must be an integer ≥ 1, got ${String(maxChunk)}`);
  }
  const order = items
    .map((item, index) => ({ item, index, len: length(item) }))
    .sort((a, b) => a.len - b.len || a.index - b.index);

  const chunks: Array<LengthChunk<T>> = [];
  for (let start = 0; start < order.length; start += maxChunk) {
    const slice = order.slice(start, start + maxChunk);
    chunks.push({ indices: slice.map((e) => e.index), items: slice.map((e) => e.item) });
  }
  return chunks;
}

/**
 * Padding a set of chunks costs: for each chunk, `longest × count − sum of lengths`. Used by tests
 * and benchmarks to compare chunkings.
 */
export function paddingWaste<T extends TextItem>(
  chunks: ReadonlyArray<{ items: readonly T[] }>,
  length: (item: T) => number = textLength,
): number {
  let waste = 0;
  for (const { items } of chunks) {
    const lens = items.map(length);
    const longest = lens.reduce((m, l) => Math.max(m, l), 0);
    waste += longest * lens.length - lens.reduce((s, l) => s + l, 0);
  }
  return waste;
}
