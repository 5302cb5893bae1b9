import type { BatchWriter, OutRecord, WindowStore } from '../../ports.js';
import type { FoldedTransaction } from '../domain/fold-transactions.js';
import type { WindowCache } from './window-cache.js';

export type CommitOutcome = { committed: true; at: number } | { committed: false; reason: string };

/**
 * Commits one folded transaction: its records and the consumed offset in one `writer.write`
 * (a Kafka transaction under exactly-once), then, only once that succeeded, the changed windows
 * (null = delete), the changelog checkpoint and the partition's stream time into the store, then tells the cache the transaction is durable.
 * A transaction whose partition went stale (revoked, stopping) is not written: its records are
 * fetched again by whoever owns the partition next.
 */
export async function commitTransaction(
  t: FoldedTransaction,
  records: OutRecord[],
  deps: { writer: BatchWriter; store: WindowStore; cache: WindowCache; changelogTopic: string; isStale: () => boolean; now: () => number },
): Promise<CommitOutcome> {
  if (deps.isStale()) return { committed: false, reason: 'partition revoked or stage stopping' };
  const written = await deps.writer.write({ topic: t.topic, partition: t.partition, nextOffset: t.nextOffset }, records);
  const changelog = written.find((w) => w.topic === deps.changelogTopic && w.partition === t.partition);
  if (changelog) deps.store.apply(t.partition, t.states, (BigInt(changelog.lastOffset) + 1n).toString(), t.streamTime);
  else if (t.streamTime !== undefined && t.streamTime.time !== deps.store.streamTime(t.partition)?.time) {
    deps.store.apply(t.partition, new Map(), deps.store.checkpoint(t.partition), t.streamTime);
  }
  deps.cache.committed(t.tx);
  return { committed: true, at: deps.now() };
}
