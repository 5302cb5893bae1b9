import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LagMonitor, type LagAdmin } from '../../../src/adapters/kafka/lag-monitor.js';
import type { PartitionLag } from '../../../src/pipeline/state/consumer-lag.js';

/** An admin whose end and committed offsets the test moves; counts its calls. */
function fakeAdmin(state: { ends: Record<number, number>; committed: Record<number, number>; fail?: boolean }) {
  const calls = { connect: 0, fetch: 0 };
  const admin = {
    connect: async () => {
      calls.connect += 1;
    },
    disconnect: async () => undefined,
    fetchTopicOffsets: async (topic: string) => {
      calls.fetch += 1;
      if (state.fail) throw new Error('broker down');
      assert.equal(topic, 'in');
      return Object.entries(state.ends).map(([p, high]) => ({ partition: Number(p), offset: String(high), high: String(high), low: '0' }));
    },
    fetchOffsets: async ({ groupId, topics }: { groupId: string; topics?: string[] }) => {
      assert.equal(groupId, 'g');
      return (topics ?? []).map((topic) => ({ topic, partitions: Object.entries(state.committed).map(([p, offset]) => ({ partition: Number(p), offset: String(offset), metadata: null })) }));
    },
  };
  return { admin: admin as unknown as LagAdmin, calls };
}

describe('LagMonitor', () => {
  it('reports only the owned partitions, from the broker offsets, whatever the stage commits', async () => {
    const state = { ends: { 0: 100, 1: 80, 2: 60 }, committed: { 0: 90, 1: 80, 2: 10 } };
    const { admin, calls } = fakeAdmin(state);
    const reported: PartitionLag[][] = [];
    let now = 1_000_000;
    const monitor = new LagMonitor(admin, { groupId: 'g', topic: 'in', intervalMs: 60_000, owned: () => [0, 1], oldestUnconfirmed: () => undefined, onLag: (r) => reported.push(r), onError: (e) => assert.fail(String(e)), now: () => now });
    await monitor.refresh();
    assert.deepEqual(reported[0], [
      { partition: 0, records: 10, seconds: 0, committedOffset: 90 },
      { partition: 1, records: 0, seconds: 0, committedOffset: 80 },
    ], 'partition 2 belongs to another process');

    // the consumer hangs: no commits for 2 minutes while 50 more records arrive on partition 0
    state.ends[0] = 150;
    now += 120_000;
    const rows = await monitor.refresh();
    assert.deepEqual(rows[0], { partition: 0, records: 60, seconds: 120, committedOffset: 90 }, 'lag rises while the committed offset stays');
    assert.equal(calls.connect, 1, 'one admin connection, kept');
    await monitor.stop();
  });

  it('reports nothing before an assignment, and a failed refresh goes to the caller without a report', async () => {
    const state = { ends: { 0: 10 }, committed: { 0: 0 }, fail: false };
    const { admin, calls } = fakeAdmin(state);
    const reported: PartitionLag[][] = [];
    let owned: number[] = [];
    const monitor = new LagMonitor(admin, { groupId: 'g', topic: 'in', intervalMs: 60_000, owned: () => owned, oldestUnconfirmed: () => undefined, onLag: (r) => reported.push(r), onError: (e) => assert.fail(String(e)) });
    assert.deepEqual(await monitor.refresh(), []);
    assert.equal(calls.fetch, 0, 'no broker call without partitions');
    owned = [0];
    state.fail = true;
    await assert.rejects(monitor.refresh(), /broker down/);
    assert.equal(reported.length, 0);
    state.fail = false;
    assert.equal((await monitor.refresh())[0]!.records, 10, 'the next refresh works again');
    await monitor.stop();
  });

  it('runs on its timer and does not overlap refreshes', async () => {
    const state = { ends: { 0: 10 }, committed: { 0: 5 } };
    const { admin, calls } = fakeAdmin(state);
    let reports = 0;
    const monitor = new LagMonitor(admin, { groupId: 'g', topic: 'in', intervalMs: 1000, owned: () => [0], oldestUnconfirmed: () => undefined, onLag: () => void reports++, onError: (e) => assert.fail(String(e)) });
    const [a, b] = [monitor.refresh(), monitor.refresh()];
    assert.equal(a, b, 'a refresh in progress is shared');
    await a;
    monitor.start();
    const deadline = Date.now() + 15_000;
    while (reports < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await monitor.stop();
    assert.ok(reports >= 3, `one immediate and at least two timer refreshes, got ${reports}`);
    assert.equal(calls.fetch, reports, 'one broker reading per report');
    const after = reports;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(reports, after, 'no refresh after stop');
  });
});
