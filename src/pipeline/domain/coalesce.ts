export interface CoalescedItems<T> {
  /** One item per key, the one with the highest order; sorted by that order, ascending. */
  kept: T[];
  /**
   * Items that lost to a later item of the same key, in input order. They are never written, but
   * their offsets must still be marked done in the commit tracker by the caller, or their
   * partition would never commit past them. Mark them done together with their winner, once the
   * winner is stored: a crash before then re-reads both.
   */
  superseded: T[];
}

/**
 * Keeps, per key, the item with the highest `order` (the record offset): last by offset wins
 * (docs/ARCHITECTURE.md §4, one point per point id per batch). Equal orders within a key fall back to input order
 * (the later one wins), and so do equal orders across keys in `kept`, so the result is
 * deterministic. `order` may return numbers or bigints (int64 offsets); they are compared as-is.
 * The input array is not modified.
 */
export function coalesceByKey<T>(
  items: readonly T[],
  key: (item: T) => string,
  order: (item: T) => bigint | number,
): CoalescedItems<T> {
  const winners = new Map<string, { item: T; index: number; rank: bigint | number }>();
  items.forEach((item, index) => {
    const k = key(item);
    const rank = order(item);
    const current = winners.get(k);
    if (current === undefined || rank >= current.rank) winners.set(k, { item, index, rank });
  });

  const keptIndices = new Set<number>();
  for (const { index } of winners.values()) keptIndices.add(index);

  const kept = [...winners.values()]
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : a.index - b.index))
    .map(({ item }) => item);
  const superseded = items.filter((_, index) => !keptIndices.has(index));
  return { kept, superseded };
}
