import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserEvent } from '../../src/contracts/events.js';
import { AuraError } from '../../src/errors.js';
import { decodeWindow, encodeEntry, encodeWindowParts } from '../../src/adapters/codecs.js';
import type { SourceRecord } from '../../src/ports.js';
import { aggregateBatch } from '../../src/stages/aggregate-partition.js';
import type { Decoded } from '../../src/stages/decode-or-poison.js';
import { foldTransactions, type PartitionFold, type TransactionLimits } from '../../src/stages/fold-transactions.js';
import { WindowCache } from '../../src/stages/window-cache.js';
import { DAY, activity, at, mood, seeded } from './aggregate-fixtures.js';

const config = { windowDays: 7, maxEvents: 20, aggregatorVersion: 'test' };

function record(offset: number, bytes = 10): SourceRecord {
  return { topic: 'in', partition: 2, offset: String(offset), timestamp: String(at('2026-03-09')), key: Buffer.from('k'), value: Buffer.alloc(bytes - 1), headers: {} };
}

function workload(n: number): Array<Decoded<UserEvent>> {
  const r = seeded(7);
  return Array.from({ length: n }, (_, i): Decoded<UserEvent> => {
    if (i % 17 === 16) return { record: record(i), poison: new AuraError('UNDECODABLE', 'bad bytes') };
    const user = `u-${Math.floor(r() * 4)}`;
    const t = at('2026-03-01') + Math.floor(r() * 8 * DAY);
    const event = r() < 0.5 ? mood(i, t, { user_id: user, level: 'good', tags: ['x'] }) : activity(i, t, { user_id: user });
    return { record: record(i), value: i % 11 === 10 ? { ...event, event_id: `00000000-0000-4000-8000-${(i - 1).toString(16).padStart(12, '0')}` } : event };
  });
}

function partitionFold(clock: () => number = () => 0): PartitionFold {
  let tx = 0;
  return { cache: new WindowCache(100), load: () => undefined, config, encodeEntry, encodeWindowParts, nextTx: () => tx++, now: clock };
}

const limits = (l: Partial<TransactionLimits>): TransactionLimits => ({ maxRecords: 1000, maxBytes: 1 << 30, maxMs: 1e9, ...l });

describe('foldTransactions', () => {
  test('cuts by records: every record in exactly one transaction, in order, poison carried along', () => {
    const decoded = workload(103);
    const txs = [...foldTransactions(decoded, partitionFold(), limits({ maxRecords: 10 }))];
    assert.equal(txs.length, 11);
    assert.deepEqual(txs.flatMap((t) => t.records.map((r) => r.offset)), decoded.map((d) => d.record.offset));
    assert.deepEqual(txs.map((t) => t.tx), [...txs.keys()], 'transactions numbered in order');
    assert.equal(txs.reduce((n, t) => n + t.poison.length, 0), decoded.filter((d) => 'poison' in d).length);
    for (const t of txs) assert.equal(t.nextOffset, String(Number(t.records[t.records.length - 1]!.offset) + 1));
  });

  test('cuts by bytes and by folding time, always at least one record per transaction', () => {
    const bytes = [...foldTransactions(workload(100), partitionFold(), limits({ maxBytes: 3000 }))];
    assert.ok(bytes.length > 3, `cut by bytes into ${bytes.length}`);
    const widest = Math.max(...bytes.flatMap((t) => [...t.states.values()].map((b) => b.length)));
    for (const t of bytes) {
      const size = t.records.reduce((n, r) => n + r.key!.length + r.value!.length, 0) + [...t.states.values()].reduce((n, b) => n + b.length, 0);
      assert.ok(size <= 3000 + widest + 100 * t.states.size, `input + changelog bytes ${size} within the limit plus one window`);
    }
    const tiny = [...foldTransactions(workload(5), partitionFold(), limits({ maxBytes: 1 }))];
    assert.equal(tiny.length, 5, 'a record larger than the limit still goes, alone');
    let clock = 0;
    const timed = [...foldTransactions(workload(30), partitionFold(() => (clock += 1)), limits({ maxMs: 4 }))];
    assert.ok(timed.length > 1 && timed.every((t) => t.records.length <= 4), `cut by time: ${timed.map((t) => t.records.length)}`);
  });

  test('whatever the cut, the snapshots and final windows equal the batch fold over the same records', () => {
    const decoded = workload(200);
    const inputs = decoded.flatMap((d) => ('value' in d ? [{ position: { topic: 'in', partition: 2, offset: d.record.offset, timestamp: Number(d.record.timestamp) }, key: d.value.user_id, event: d.value }] : []));
    const whole = aggregateBatch(inputs, () => undefined, config);
    for (const maxRecords of [1, 7, 50, 1000]) {
      const txs = [...foldTransactions(decoded, partitionFold(), limits({ maxRecords }))];
      assert.deepEqual(txs.flatMap((t) => t.snapshots.map((s) => s.snapshot)), whole.snapshots.map((s) => s.snapshot), `snapshots, ${maxRecords} per transaction`);
      const last = new Map<string, Buffer>();
      for (const t of txs) for (const [u, b] of t.states) last.set(u, b);
      assert.deepEqual(new Map([...last].map(([u, b]) => [u, decodeWindow(b)])), whole.states, `final windows, ${maxRecords} per transaction`);
      const counted = txs.reduce((n, t) => n + t.counters.accepted + t.counters.late + t.counters.duplicate, 0);
      assert.equal(counted, inputs.length, 'every valid record has an outcome');
    }
  });

  test('a transaction\'s encoded windows do not change when later transactions fold (they are bytes)', () => {
    const txs = foldTransactions(workload(60), partitionFold(), limits({ maxRecords: 5 }));
    const first = txs.next().value!;
    const copy = new Map([...first.states].map(([u, b]) => [u, Buffer.from(b)]));
    for (const _ of txs) void _;
    assert.deepEqual(first.states, copy);
  });
});

describe('changelog window encoding', () => {
  test('version 2 round-trips and version 1 is still read', () => {
    const decoded = workload(80);
    const inputs = decoded.flatMap((d) => ('value' in d ? [{ position: { topic: 'in', partition: 2, offset: d.record.offset, timestamp: 0 }, key: null, event: d.value }] : []));
    for (const window of aggregateBatch(inputs, () => undefined, config).states.values()) {
      const v2 = encodeWindowParts(window.user_id, window.end, window.entries.map(encodeEntry));
      assert.deepEqual(decodeWindow(v2), window, 'v2');
      assert.deepEqual(decodeWindow(Buffer.from(JSON.stringify({ v: 1, window }))), window, 'v1');
      assert.ok(v2.length < Buffer.byteLength(JSON.stringify({ v: 1, window })) * 0.75, 'v2 is smaller');
    }
    assert.throws(() => decodeWindow(Buffer.from('{"v":3}')), (e: unknown) => e instanceof AuraError && e.code === 'UNDECODABLE');
    assert.throws(() => decodeWindow(Buffer.from('not json')), (e: unknown) => e instanceof AuraError && e.code === 'UNDECODABLE');
  });
});
