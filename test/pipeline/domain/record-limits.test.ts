import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserEvent } from '../../../src/contracts/events.js';
import { encodeEntry, encodeWindowParts } from '../../../src/adapters/codecs.js';
import type { OutRecord, SourceRecord } from '../../../src/ports.js';
import type { Decoded } from '../../../src/pipeline/operators/decode-records.js';
import { foldTransactions, type PartitionFold } from '../../../src/pipeline/domain/fold-transactions.js';
import { SNAPSHOT_ALLOWANCE_BYTES, recordLimitsFor } from '../../../src/pipeline/domain/record-limits.js';
import { WindowCache } from '../../../src/pipeline/state/window-cache.js';
import { HOUR, at, mood } from '../../support/aggregate-fixtures.js';

const config = { windowDays: 7, maxEvents: 512, aggregatorVersion: 'test' };
const t0 = at('2026-03-01T08:00:00Z');

function decoded(n: number, userId: string, note: string | null): Decoded<UserEvent> {
  const record: SourceRecord = { topic: 'in', partition: 0, offset: String(n), timestamp: String(t0 + n * HOUR), key: Buffer.from(userId), value: Buffer.alloc(10), headers: {} };
  return { record, value: mood(n, t0 + n * HOUR, { user_id: userId, note, tags: ['work'] }) };
}

/** A writer whose changelog takes records up to `changelogBytes` and whose output takes any. */
function writer(changelogBytes: number, snapshotTooBig: (r: OutRecord) => boolean = () => false) {
  return {
    maxRecordBytes: (topic: string) => (topic === 'log' ? changelogBytes : 1_048_576),
    oversize: (r: OutRecord) => {
      if (r.topic === 'log' && r.value!.length > changelogBytes) return `window of ${r.value!.length} bytes over ${changelogBytes}`;
      if (r.topic === 'out' && snapshotTooBig(r)) return 'snapshot too big';
      return undefined;
    },
  };
}

function fold(w: ReturnType<typeof writer> | object): PartitionFold {
  let tx = 0;
  const f: PartitionFold = { cache: new WindowCache(100), load: () => undefined, loadStreamTime: () => undefined, erasureAuth: { key: undefined, maxAgeMs: 86_400_000 }, config, encodeEntry, encodeWindowParts, nextTx: () => tx++, now: () => 0 };
  const limits = recordLimitsFor(w, { snapshot: (s) => Buffer.from(JSON.stringify(s)), windowParts: encodeWindowParts }, { output: 'out', changelog: 'log' }, 0);
  if (limits) f.recordLimits = limits;
  return f;
}

const run = (input: Array<Decoded<UserEvent>>, f: PartitionFold) => [...foldTransactions(input, f, { maxRecords: 1000, maxBytes: 1 << 30, maxMs: 1e9 })];

describe('RECORD_TOO_LARGE in the fold (recordLimitsFor)', () => {
  test('a writer that knows no limits checks nothing', () => {
    assert.equal(recordLimitsFor({}, { snapshot: () => Buffer.alloc(0), windowParts: encodeWindowParts }, { output: 'out', changelog: 'log' }, 0), undefined);
  });

  test('an event whose window can never be written is dead-lettered; the window stays as it was and later events fold on it', () => {
    const limit = SNAPSHOT_ALLOWANCE_BYTES + 2500;
    const big = 'B'.repeat(limit);
    const input = [decoded(1, 'a', 'small'), decoded(2, 'b', 'ok'), decoded(3, 'a', big), decoded(4, 'a', 'after')];
    const [t] = run(input, fold(writer(limit)));
    assert.deepEqual(t!.poison.map((p) => [p.record.offset, p.poison.code]), [['3', 'RECORD_TOO_LARGE']]);
    assert.match(t!.poison[0]!.poison.message, /window of user "a" with this event can never be written to the changelog: window of \d+ bytes over \d+/);
    assert.deepEqual(t!.snapshots.map((s) => s.position.offset), ['1', '2', '4'], 'a snapshot for every other event');
    assert.equal(t!.counters.accepted, 3);
    const last = t!.snapshots[2]!.snapshot;
    assert.equal(last.mood.count, 2, 'the oversized event is not in the window the next event sees');
    assert.deepEqual(last.recent_notes, ['after', 'small']);
    assert.ok([...t!.states.values()].every((b) => b!.length <= limit), 'every changelog record fits');
    // Same result as folding without the oversized event at all.
    const [without] = run([input[0]!, input[1]!, input[3]!], fold({}));
    assert.deepEqual([...t!.states], [...without!.states]);
  });

  test('an event whose snapshot can never be written is dead-lettered, its window untouched', () => {
    const input = [decoded(1, 'a', 'fine'), decoded(2, 'b', 'fine too'), decoded(3, 'b', 'later')];
    // A small output limit makes every event go through the exact check.
    const w = { ...writer(1_048_576, (r) => r.key === 'b' && r.value!.toString().includes('fine too')), maxRecordBytes: () => SNAPSHOT_ALLOWANCE_BYTES };
    const [t] = run(input, fold(w));
    assert.deepEqual(t!.poison.map((p) => p.record.offset), ['2']);
    assert.match(t!.poison[0]!.poison.message, /snapshot of this event can never be written to the output topic: snapshot too big/);
    assert.equal(t!.snapshots.find((s) => s.position.offset === '3')!.snapshot.mood.count, 1, "user b's window holds only the later event");
  });

  test('far below the limits nothing is encoded for a check', () => {
    let checks = 0;
    const w = { maxRecordBytes: () => 1_048_576, oversize: () => (checks++, undefined) };
    run([decoded(1, 'a', 'x'), decoded(2, 'a', 'y')], fold(w));
    assert.equal(checks, 0);
  });
});
