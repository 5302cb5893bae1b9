import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BatchWriter, OutRecord, WrittenOffsets } from '../../../src/ports.js';
import { commitTransaction } from '../../../src/pipeline/state/commit-transaction.js';
import type { FoldedTransaction } from '../../../src/pipeline/domain/fold-transactions.js';
import { WindowCache } from '../../../src/pipeline/state/window-cache.js';
import { MemoryWindowStore } from '../../support/topology-driver.js';

function transaction(states: Map<string, Buffer | null>, streamTime: FoldedTransaction['streamTime']): FoldedTransaction {
  return {
    tx: 0, topic: 'in', partition: 1, records: [], nextOffset: '10', snapshots: [], erasures: [], states, streamTime, poison: [],
    counters: { accepted: 0, late: 0, duplicate: 0, erased: 0 }, startedAt: 0,
  };
}

/** A writer that reports the changelog records of a write at offsets from 100. */
function writer(): BatchWriter & { writes: OutRecord[][] } {
  const writes: OutRecord[][] = [];
  return {
    writes,
    claim: async () => undefined,
    release: async () => undefined,
    close: async () => undefined,
    write: async (_input, records): Promise<WrittenOffsets> => {
      writes.push(records);
      const changelog = records.filter((r) => r.topic === 'log');
      return changelog.length === 0 ? [] : [{ topic: 'log', partition: 1, lastOffset: String(99 + changelog.length) }];
    },
  };
}

describe('commitTransaction', () => {
  test('after the write, a tombstone deletes the stored window, with the changelog checkpoint and the stream time', async () => {
    const store = new MemoryWindowStore();
    store.apply(1, new Map([['a', Buffer.from('{"v":2,"u":"a","e":5,"w":[]}')]]), '7');
    const t = transaction(new Map([['a', null]]), { time: 1234, offset: '9' });
    const w = writer();
    const outcome = await commitTransaction(t, [{ topic: 'log', key: 'a', value: null, partition: 1 }], { writer: w, store, cache: new WindowCache(10), changelogTopic: 'log', isStale: () => false, now: () => 42 });
    assert.deepEqual(outcome, { committed: true, at: 42 });
    assert.equal(store.get('a'), undefined, 'window deleted');
    assert.equal(store.checkpoint(1), '101', 'checkpoint: the offset after the tombstone (written at 100)');
    assert.deepEqual(store.streamTime(1), { time: 1234, offset: '9' }, 'stream time applied with it');
  });

  test('a transaction without changelog records still keeps its newer stream time, at the same checkpoint', async () => {
    const store = new MemoryWindowStore();
    store.apply(1, new Map(), '7', { time: 1000, offset: '3' });
    await commitTransaction(transaction(new Map(), { time: 2000, offset: '8' }), [], { writer: writer(), store, cache: new WindowCache(10), changelogTopic: 'log', isStale: () => false, now: () => 0 });
    assert.deepEqual(store.streamTime(1), { time: 2000, offset: '8' });
    assert.equal(store.checkpoint(1), '7', 'checkpoint unchanged');
  });
});
