import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retentionErasureId, type UserDeleted } from '../../../src/contracts/erasure.js';
import type { UserEvent, UserRecord } from '../../../src/contracts/events.js';
import { AuraError } from '../../../src/errors.js';
import { decodeWindow, encodeEntry, encodeWindowParts } from '../../../src/adapters/codecs.js';
import type { SourceRecord } from '../../../src/ports.js';
import { aggregateBatch } from '../../oracles/aggregate-batch.js';
import type { Decoded } from '../../../src/pipeline/operators/decode-records.js';
import { foldTransactions, type FoldedTransaction, type PartitionFold, type TransactionLimits } from '../../../src/pipeline/domain/fold-transactions.js';
import { toOutRecords } from '../../../src/pipeline/domain/to-out-records.js';
import { WindowCache } from '../../../src/pipeline/state/window-cache.js';
import { loadWindowState } from '../../../src/pipeline/domain/window-state.js';
import { MemoryWindowStore } from '../../support/topology-driver.js';
import { DAY, activity, at, mood, seeded, uuid } from '../../support/aggregate-fixtures.js';
import { TEST_ERASURE_KEY, signed } from '../../support/erasure-records.js';

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
  return { cache: new WindowCache(100), load: () => undefined, loadStreamTime: () => undefined, erasureAuth: { key: TEST_ERASURE_KEY, maxAgeMs: DAY }, config, encodeEntry, encodeWindowParts, nextTx: () => tx++, now: clock };
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
    const widest = Math.max(...bytes.flatMap((t) => [...t.states.values()].map((b) => b!.length)));
    for (const t of bytes) {
      const size = t.records.reduce((n, r) => n + r.key!.length + r.value!.length, 0) + [...t.states.values()].reduce((n, b) => n + b!.length, 0);
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
      for (const t of txs) for (const [u, b] of t.states) last.set(u, b!);
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

// ---------------------------------------------------------------------------------------------
// Erasure (UserDeleted) and retention.

const P = 2;

function rec(offset: number, user: string, timestamp = at('2026-03-09')): SourceRecord {
  return { topic: 'in', partition: P, offset: String(offset), timestamp: String(timestamp), key: Buffer.from(user), value: Buffer.alloc(40), headers: {} };
}

/** A UserDeleted signed with the tests' key (as `aura-stream erase` makes it); `fields` are signed too. */
function deleted(n: number, user: string, fields: Partial<UserDeleted> = {}): UserDeleted {
  return signed({ type: 'UserDeleted', event_id: uuid(1_000_000 + n), user_id: user, requested_at: at('2026-03-09') + n, reason: 'ticket-1', trace_id: null, requester: 'ops@example', ...fields });
}

/** Decoded records at consecutive offsets from 0 (timestamps from `timestamp`, default a fixed instant). */
function input(values: UserRecord[], timestamp?: (i: number) => number): Array<Decoded<UserRecord>> {
  return values.map((value, i) => ({ record: rec(i, value.user_id, timestamp?.(i)), value }));
}

/** The output-topic records of a transaction as [user, what]: a snapshot's trigger offset or `erased`. */
function outputOrder(t: FoldedTransaction): Array<[string, string]> {
  const recs = toOutRecords(
    t,
    { snapshot: (s) => Buffer.from(JSON.stringify({ s: s.source_offset })), erased: (m) => Buffer.from(JSON.stringify({ erased: m.cause })) },
    { stage: 'aggregate', outputTopic: 'out', changelogTopic: 'log', dlqTopic: 'dlq' },
  );
  return recs.filter((r) => r.topic === 'out').map((r) => {
    const v = JSON.parse(r.value!.toString()) as { s?: number; erased?: string };
    return [String(r.key), v.erased !== undefined ? `erased:${v.erased}` : String(v.s)];
  });
}

/** The wall clock of the folds below: after every record timestamp of these tests. */
const WALL_CLOCK = at('2027-01-01');

/** A store whose applied states the fold loads (the committed state), like the LMDB store. */
function storeFold(store: MemoryWindowStore, extra: Partial<PartitionFold> = {}): PartitionFold {
  let tx = 0;
  return {
    cache: new WindowCache(100),
    load: (u) => {
      const b = store.get(u);
      return b === undefined ? undefined : loadWindowState(decodeWindow(b), encodeEntry);
    },
    loadStreamTime: () => store.streamTime(P),
    erasureAuth: { key: TEST_ERASURE_KEY, maxAgeMs: DAY },
    config,
    encodeEntry,
    encodeWindowParts,
    nextTx: () => tx++,
    now: () => WALL_CLOCK,
    ...extra,
  };
}

/** What commitTransaction does to the store and cache after a commit (without Kafka). */
function commit(t: FoldedTransaction, store: MemoryWindowStore, fold: PartitionFold): void {
  store.apply(P, t.states, t.nextOffset, t.streamTime);
  fold.cache.committed(t.tx);
}

describe('foldTransactions: UserDeleted', () => {
  const d0 = at('2026-03-01');

  test('erasure mid-transaction: the marker follows the user\'s earlier snapshots, later events start a fresh window', () => {
    const values: UserRecord[] = [
      mood(1, d0, { user_id: 'a', tags: ['old'] }),
      mood(2, d0 + 1000, { user_id: 'b' }),
      activity(3, d0 + 2000, { user_id: 'a' }),
      deleted(4, 'a', { trace_id: 'trace-del' }),
      mood(5, d0 + 500, { user_id: 'a', tags: ['new'] }),
      mood(6, d0 + 3000, { user_id: 'b' }),
    ];
    const [t, more] = [...foldTransactions(input(values), partitionFold(), limits({}))];
    assert.equal(more, undefined, 'one transaction');
    assert.deepEqual(outputOrder(t!), [['a', '0'], ['b', '1'], ['a', '2'], ['a', 'erased:user_deleted'], ['a', '4'], ['b', '5']], 'output in input order, the marker between the user\'s old and new snapshots');
    const fresh = t!.snapshots.find((s) => s.snapshot.source_offset === 4)!.snapshot;
    assert.equal(fresh.event_count, 1, 'the event after the erasure sees a window of its own only');
    assert.deepEqual(fresh.mood.top_tags, [{ tag: 'new', count: 1 }], 'nothing of the erased window is left');
    assert.equal(fresh.window_end, d0 + 500, 'an event older than the erased window end is accepted into the fresh window, not late');
    const window = decodeWindow(t!.states.get('a')!);
    assert.deepEqual(window.entries.map((e) => e.event_id), [uuid(5)], 'the changelog gets the fresh window (whole state) as the user\'s final record');
    assert.deepEqual(t!.counters, { accepted: 5, late: 0, duplicate: 0, erased: 1 }, 'the UserDeleted counted as erased');
    assert.deepEqual(t!.erasures[0]!.marker, {
      erasure_id: uuid(1_000_004),
      user_id: 'a',
      cause: 'user_deleted',
      requested_at: at('2026-03-09') + 4,
      before: null,
      trace_id: 'trace-del',
      event_partition: P,
      event_offset: 3,
      aggregator_version: 'test',
      requester: 'ops@example',
      reason: 'ticket-1',
    }, 'marker fields from the UserDeleted and its record: who asked and why included');
  });

  test('an erasure that is the user\'s last record writes a tombstone to the input\'s changelog partition', () => {
    const values: UserRecord[] = [mood(1, d0, { user_id: 'a' }), mood(2, d0, { user_id: 'b' }), deleted(3, 'a')];
    const [t] = [...foldTransactions(input(values), partitionFold(), limits({}))];
    assert.equal(t!.states.get('a'), null, 'state null: a tombstone');
    const changelog = toOutRecords(t!, { snapshot: () => Buffer.alloc(1), erased: () => Buffer.alloc(1) }, { stage: 's', outputTopic: 'out', changelogTopic: 'log', dlqTopic: 'dlq' }).filter((r) => r.topic === 'log');
    assert.deepEqual(changelog.map((r) => [r.key, r.value, r.partition]), [['a', null, P], ['b', t!.states.get('b'), P]], 'tombstone keyed by the user, explicit changelog partition');
  });

  test('a UserDeleted for a user without a window still writes the marker and the tombstone; a second request again', () => {
    const values: UserRecord[] = [deleted(1, 'ghost'), deleted(2, 'ghost')];
    const [t] = [...foldTransactions(input(values), partitionFold(), limits({}))];
    assert.deepEqual(outputOrder(t!), [['ghost', 'erased:user_deleted'], ['ghost', 'erased:user_deleted']], 'one marker per UserDeleted');
    assert.deepEqual([...t!.states], [['ghost', null]], 'one tombstone');
    assert.equal(t!.counters.erased, 2);
  });

  test('the cache never resurrects an erased window: not across pipelined transactions, nor after the commit', () => {
    const store = new MemoryWindowStore();
    const seed = [...foldTransactions(input([mood(1, d0, { user_id: 'a', tags: ['stored'] }), mood(2, d0 + 1, { user_id: 'a' })]), storeFold(store), limits({}))];
    for (const t of seed) store.apply(P, t.states, t.nextOffset, t.streamTime);
    assert.ok(store.get('a'), 'the user has a committed window');

    const fold = storeFold(store);
    const values: UserRecord[] = [deleted(3, 'a'), mood(4, d0 + 2, { user_id: 'a' }), deleted(5, 'a'), mood(6, d0 + 3, { user_id: 'a' })];
    const txs = foldTransactions(input(values), fold, limits({ maxRecords: 1 }));
    const t0 = txs.next().value!;
    // t0 in flight (not committed): the next transaction folds against the running state.
    const t1 = txs.next().value!;
    assert.equal(t1.snapshots[0]!.snapshot.event_count, 1, 'the event after the erasure, folded while the erasure commits, starts from nothing');
    assert.deepEqual(t1.snapshots[0]!.snapshot.mood.top_tags, [], 'no tag of the stored window');
    commit(t0, store, fold);
    commit(t1, store, fold);
    const t2 = txs.next().value!;
    commit(t2, store, fold);
    assert.equal(store.get('a'), undefined, 'the second erasure deleted the stored window');
    fold.cache.clear(); // as after a failed transaction: the next use loads from the store
    const t3 = txs.next().value!;
    assert.equal(t3.snapshots[0]!.snapshot.event_count, 1, 'after the commit the store has no window either');
  });
});

describe('foldTransactions: only a signed, fresh, first-seen UserDeleted erases', () => {
  const d0 = at('2026-03-08');
  const poisonOf = (t: FoldedTransaction) => t.poison.map((p) => [p.record.offset, p.poison.code, p.poison.field]);

  test('a forged request (unsigned, another key, altered fields) is dead-lettered as ERASURE_UNAUTHORIZED and erases nothing', () => {
    const values: UserRecord[] = [
      mood(1, d0, { user_id: 'a' }),
      { ...deleted(2, 'a'), signature: null },
      signed({ ...deleted(3, 'a'), signature: null }, 'another-key-0123456789abcdef0123456789'),
      { ...deleted(4, 'b'), user_id: 'a' },
      { ...deleted(5, 'a'), reason: 'a different reason' },
      mood(6, d0 + 1, { user_id: 'a' }),
    ];
    const [t] = [...foldTransactions(input(values), partitionFold(), limits({}))];
    assert.deepEqual(poisonOf(t!), [['1', 'ERASURE_UNAUTHORIZED', 'signature'], ['2', 'ERASURE_UNAUTHORIZED', 'signature'], ['3', 'ERASURE_UNAUTHORIZED', 'signature'], ['4', 'ERASURE_UNAUTHORIZED', 'signature']], 'each forgery refused');
    assert.match(t!.poison[0]!.poison.message, /carries no signature.*Nothing was erased/);
    assert.match(t!.poison[1]!.poison.message, /does not match ERASURE_SIGNING_KEY/);
    assert.deepEqual(t!.erasures, [], 'no marker');
    assert.equal(t!.counters.erased, 0);
    assert.equal(t!.snapshots.at(-1)!.snapshot.event_count, 2, 'the window survived: the last event sees both');
    assert.ok(t!.states.get('a'), 'no tombstone: the changelog keeps the window');
  });

  test('a stage without ERASURE_SIGNING_KEY refuses every UserDeleted, naming the fix', () => {
    const fold = { ...partitionFold(), erasureAuth: { key: undefined, maxAgeMs: DAY } };
    const [t] = [...foldTransactions(input([deleted(1, 'a')]), fold, limits({}))];
    assert.equal(t!.poison[0]!.poison.code, 'ERASURE_UNAUTHORIZED');
    assert.match(t!.poison[0]!.poison.message, /no ERASURE_SIGNING_KEY.*Fix: set ERASURE_SIGNING_KEY/);
    assert.deepEqual(t!.erasures, []);
  });

  test('a replayed request (its id seen before, or older than ERASURE_MAX_AGE_MS of stream time) is ERASURE_REPLAYED; a valid one erases', () => {
    const store = new MemoryWindowStore();
    const fold = storeFold(store);
    const ts = at('2026-03-09');
    const valid = deleted(1, 'a', { requester: 'alice@ops', reason: 'TICKET-9' });
    const stale = deleted(2, 'b', { requested_at: ts - DAY - 1 });
    const values: UserRecord[] = [mood(10, d0, { user_id: 'a' }), valid, mood(11, d0 + 1, { user_id: 'a' }), valid, stale];
    const [t] = [...foldTransactions(input(values, () => ts), fold, limits({}))];
    assert.deepEqual(t!.erasures.map((e) => [e.marker.erasure_id, e.marker.requester, e.marker.reason]), [[valid.event_id, 'alice@ops', 'TICKET-9']], 'the valid request erases, recording who asked and why');
    assert.deepEqual(poisonOf(t!), [['3', 'ERASURE_REPLAYED', 'event_id'], ['4', 'ERASURE_REPLAYED', 'requested_at']], 'the replay and the stale request are refused');
    assert.match(t!.poison[0]!.poison.message, /already carried out.*Nothing was erased again/);
    assert.match(t!.poison[1]!.poison.message, /more than ERASURE_MAX_AGE_MS=86400000 before the partition's stream time/);
    assert.equal(t!.snapshots.at(-1)!.snapshot.event_count, 1, 'the fresh window after the erasure survives the replay');
    commit(t!, store, fold);

    // A restart (a new cache over the same store) still knows the request: the id is kept with the stream time.
    const restarted = storeFold(store);
    const [again] = [...foldTransactions([{ record: rec(5, 'a', ts + 1), value: valid }], restarted, limits({}))];
    assert.deepEqual(poisonOf(again!), [['5', 'ERASURE_REPLAYED', 'event_id']], 'refused after a restart too');
    // Past the window the id is pruned, and the age check refuses the request instead.
    const later = ts + 2 * DAY;
    const [old] = [...foldTransactions([{ record: rec(6, 'c', later), value: deleted(7, 'c', { requested_at: later }) }, { record: rec(7, 'a', later), value: valid }], restarted, limits({}))];
    assert.deepEqual(poisonOf(old!), [['7', 'ERASURE_REPLAYED', 'requested_at']], 'the old request is refused by age');
    assert.deepEqual(Object.keys(old!.streamTime?.erasures ?? {}), [uuid(1_000_007)], 'only requests within the window are remembered');
  });
});

describe('foldTransactions: retention by stream time', () => {
  const RET_DAYS = 3;
  const RET = RET_DAYS * DAY;

  test('stream time is the largest record timestamp of the valid records, kept across transactions and never moved back', () => {
    const store = new MemoryWindowStore();
    const fold = storeFold(store);
    const base = at('2026-03-01');
    const ts = [base + 5, base + 9, base + 2, base + 7, WALL_CLOCK + 2 * DAY];
    const values: Array<Decoded<UserRecord>> = input([mood(1, base, { user_id: 'a' }), mood(2, base, { user_id: 'a' }), mood(3, base, { user_id: 'a' }), mood(4, base, { user_id: 'a' }), mood(5, base, { user_id: 'a' })], (i) => ts[i]!);
    values.push({ record: rec(5, 'a', base + 1_000_000), poison: new AuraError('UNDECODABLE', 'bad') });
    const txs = [...foldTransactions(values, fold, limits({ maxRecords: 2 }))];
    assert.deepEqual(txs.map((t) => t.streamTime), [{ time: base + 9, offset: '1' }, { time: base + 9, offset: '1' }, { time: base + 9, offset: '1' }], 'max of the timestamps; poison and a timestamp 2 days after the wall clock ignored');
    commit(txs[2]!, store, fold);
    assert.deepEqual(storeFold(store).loadStreamTime(), { time: base + 9, offset: '1' }, 'persisted with the commit, what a restart continues from');
  });

  test('property: only windows older than stream time − retention expire, oldest first, at most the bound per transaction, and eventually all of them', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = seeded(seed);
      const store = new MemoryWindowStore();
      const maxExpiries = 1 + Math.floor(r() * 3);
      const fold = storeFold(store, {
        retention: { retentionMs: RET, maxExpiries, expiring: (before) => store.expiring(P, before) },
      });
      // A synthetic clock: record timestamps step forward by up to 2 days; events occur up to a day before their record.
      let clock = at('2026-01-01');
      const values: UserRecord[] = [];
      const stamps: number[] = [];
      for (let i = 0; i < 300; i++) {
        clock += Math.floor(r() * 2 * DAY * (r() < 0.1 ? 1 : 0.05));
        const user = `u-${Math.floor(r() * r() * 12)}`;
        values.push(r() < 0.05 ? deleted(i, user) : mood(i, clock - Math.floor(r() * DAY), { user_id: user }));
        stamps.push(clock);
      }
      // Then only a clock user, so every expiry the bound held back gets its turn.
      for (let i = 300; i < 400; i++) {
        values.push(mood(i, clock, { user_id: 'clock' }));
        stamps.push(clock);
      }
      const lastEnd = new Map<string, number>(); // per user: window end after the committed transactions
      let streamTime = -Infinity;
      for (const t of foldTransactions(input(values, (i) => stamps[i]!), fold, limits({ maxRecords: 1 + Math.floor(r() * 6) }))) {
        for (const rec of t.records) streamTime = Math.max(streamTime, Number(rec.timestamp));
        const retention = t.erasures.filter((e) => e.marker.cause === 'retention');
        assert.ok(retention.length <= maxExpiries, `seed ${seed}: ${retention.length} expiries ≤ ${maxExpiries} in one transaction`);
        const before = streamTime - RET;
        let previous = -Infinity;
        for (const { marker, at: pos } of retention) {
          assert.equal(pos, t.snapshots.length, 'expiries come after the transaction\'s snapshots');
          assert.equal(marker.before, before, 'before = stream time − retention');
          assert.equal(marker.requested_at, streamTime, 'requested at the stream time');
          assert.equal(marker.erasure_id, retentionErasureId(marker.user_id, before));
          const end = lastEnd.get(marker.user_id);
          assert.ok(end !== undefined && end < before, `seed ${seed}: ${marker.user_id} expired with window end ${end} < ${before}`);
          assert.ok(end >= previous, 'oldest window first');
          previous = end;
          assert.equal(t.states.get(marker.user_id), null, 'its changelog record is a tombstone');
        }
        commit(t, store, fold);
        for (const [u, b] of t.states) {
          if (b === null) lastEnd.delete(u);
          else lastEnd.set(u, decodeWindow(b).end);
        }
      }
      const stale = [...store.windows.keys()].filter((u) => decodeWindow(store.get(u)!).end < streamTime - RET);
      assert.deepEqual(stale, [], `seed ${seed}: no stored window older than the retention is left`);
      assert.ok(store.windows.size >= 1, 'the active user keeps its window');
    }
  });

  test('a user renewed by an event in flight is not expired on the strength of its stale stored window', () => {
    const store = new MemoryWindowStore();
    const fold = storeFold(store, { retention: { retentionMs: RET, maxExpiries: 10, expiring: (before) => store.expiring(P, before) } });
    const base = at('2026-03-01');
    const values = input([mood(1, base, { user_id: 'a' }), mood(2, base + 10 * DAY, { user_id: 'a' }), mood(3, base + 10 * DAY, { user_id: 'b' })], (i) => [base, base + 10 * DAY, base + 10 * DAY][i]!);
    const txs = foldTransactions(values, fold, limits({ maxRecords: 1 }));
    commit(txs.next().value!, store, fold);
    const renew = txs.next().value!; // a's window renewed, not committed yet: the index still says old
    assert.deepEqual(renew.erasures, [], 'a renewed in this very transaction: kept');
    const next = txs.next().value!;
    assert.deepEqual(next.erasures, [], 'a renewed by the transaction in flight: kept');
  });
});
