import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin, KafkaMessage } from 'kafkajs';
import { nextDataOffset, type DirectFetch, type PartitionFetch } from '../../src/adapters/kafka/direct-fetch.js';
import { groupLag } from '../../src/cli/reindex.js';

/**
 * A partition log as a read_committed fetch sees it: each entry is a data record, a control record
 * (transaction marker) or a record of an aborted transaction, at consecutive offsets.
 */
type Entry = 'data' | 'marker' | 'aborted';

/** A fake direct reader over `logs` (partition → entries): returns up to `perFetch` entries from the offset, as kafkajs' Batch would. */
function fakeReader(logs: Map<number, Entry[]>, perFetch = 3): Pick<DirectFetch, 'fetch'> & { fetches: number } {
  const reader = {
    fetches: 0,
    async fetch(_topic: string, partition: number, offset: bigint): Promise<PartitionFetch> {
      reader.fetches += 1;
      const log = logs.get(partition) ?? [];
      const from = Number(offset);
      const slice = log.slice(from, from + perFetch);
      const messages = slice.flatMap((e, i) => (e === 'data' ? [{ offset: String(from + i) } as KafkaMessage] : []));
      return { messages, next: slice.length === 0 ? undefined : BigInt(from + slice.length), stableEnd: BigInt(log.length) };
    },
  };
  return reader;
}

function fakeAdmin(ends: Array<{ partition: number; low: number; high: number }>, committed: Record<number, number>): Admin {
  return {
    fetchOffsets: async () => [{ topic: 't', partitions: Object.entries(committed).map(([p, o]) => ({ partition: Number(p), offset: String(o) })) }],
    fetchTopicOffsets: async () => ends.map((e) => ({ partition: e.partition, low: String(e.low), high: String(e.high), offset: String(e.high) })),
  } as unknown as Admin;
}

describe('consumer lag on a topic written in transactions', () => {
  it('finds the next data record past commit markers and aborted records, or the end when only those remain', async () => {
    const log: Entry[] = ['data', 'data', 'marker', 'aborted', 'aborted', 'marker', 'data', 'marker'];
    const reader = fakeReader(new Map([[0, log]]), 2);
    assert.equal(await nextDataOffset(reader, 't', 0, 0n, 8n), 0n, 'a data record at the offset itself');
    assert.equal(await nextDataOffset(reader, 't', 0, 2n, 8n), 6n, 'past a marker, two aborted records and a marker to the next data record');
    assert.equal(await nextDataOffset(reader, 't', 0, 7n, 8n), 8n, 'only the last commit marker left: the end');
    assert.equal(await nextDataOffset(reader, 't', 0, 2n, 8n, { maxFetches: 1 }), 4n, 'stops after maxFetches with how far it got');
  });

  it('counts a group that consumed every record as 0 behind, though markers follow, and counts unread records and open transactions', async () => {
    // p0: 5 records then the marker of their transaction; the group committed 5 (last record + 1).
    // p1: a record still unread at 3 after a marker at 2; p2: nothing committed there yet.
    const logs = new Map<number, Entry[]>([
      [0, ['data', 'data', 'data', 'data', 'data', 'marker']],
      [1, ['data', 'data', 'marker', 'data', 'marker']],
      [2, ['data', 'marker']],
    ]);
    const admin = fakeAdmin([{ partition: 0, low: 0, high: 6 }, { partition: 1, low: 0, high: 5 }, { partition: 2, low: 0, high: 2 }], { 0: 5, 1: 2 });
    const reader = fakeReader(logs);
    assert.equal(await groupLag(admin, 'g', 't', async () => reader as unknown as DirectFetch), 0 + 2 + 2, 'p0 caught up (0), p1 from its next record at 3 (5 − 3), p2 from the log start (2)');
    assert.equal(await groupLag(admin, 'g', 't'), 1 + 3 + 2, 'without a direct reader, markers count as lag');
    const caughtUp = fakeAdmin([{ partition: 0, low: 0, high: 6 }, { partition: 1, low: 0, high: 5 }, { partition: 2, low: 0, high: 2 }], { 0: 5, 1: 4, 2: 1 });
    assert.equal(await groupLag(caughtUp, 'g', 't', async () => reader as unknown as DirectFetch), 0, 'every partition consumed through its last record: 0, although each ends with a marker');
    assert.equal(await groupLag(fakeAdmin([{ partition: 0, low: 0, high: 6 }], {}), 'g', 't', async () => reader as unknown as DirectFetch), undefined, 'a group without commits has not started');
  });

  it('counts the records of a transaction still open (the fetch returns nothing past the stable end) as lag', async () => {
    const reader: Pick<DirectFetch, 'fetch'> = { fetch: async () => ({ messages: [], next: undefined, stableEnd: 4n }) };
    const admin = fakeAdmin([{ partition: 0, low: 0, high: 9 }], { 0: 4 });
    assert.equal(await groupLag(admin, 'g', 't', async () => reader as unknown as DirectFetch), 5, 'records 4..8 are not readable yet: still behind');
  });
});
