import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { open } from 'lmdb';
import { encodeWindowParts, windowEndOf } from '../../src/adapters/codecs.js';
import { LmdbWindowStore } from '../../src/adapters/lmdb-window-store.js';

/** An encoded (version 2) window of `user` ending at `end`, with no entries. */
const win = (user: string, end: number) => encodeWindowParts(user, end, []);
const users = (it: Iterable<{ userId: string; end: number }>) => [...it].map((x) => `${x.userId}@${x.end}`);

describe('LmdbWindowStore', () => {
  let dir: string;
  let store: LmdbWindowStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aura-window-store-'));
    store = new LmdbWindowStore(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a tombstone (null state) as a delete of the window and of its index entry', () => {
    store.apply(0, new Map([['a', win('a', 100)], ['b', win('b', 200)]]), '2');
    store.apply(0, new Map([['a', null]]), '3');
    assert.equal(store.get('a'), undefined, 'window deleted');
    assert.deepEqual(store.get('b'), win('b', 200), 'the other user untouched');
    assert.deepEqual(users(store.expiring(0, Number.MAX_SAFE_INTEGER)), ['b@200'], 'the index forgot the erased user');
    assert.equal(store.checkpoint(0), '3', 'checkpoint applied with it');
    assert.deepEqual(store.stats(), { users: 1, indexed: 1 });
    store.apply(0, new Map([['never-seen', null]]), '4');
    assert.equal(store.checkpoint(0), '4', 'a tombstone of an unknown user is harmless');
  });

  it('lists the users of one partition whose window ends before an instant, oldest first, following every update', () => {
    store.apply(0, new Map([['a', win('a', 300)], ['b', win('b', 100)], ['c', win('c', 200)]]), '3');
    store.apply(1, new Map([['x', win('x', 50)]]), '1');
    assert.deepEqual(users(store.expiring(0, 300)), ['b@100', 'c@200'], 'ends before 300 (exclusive), oldest first; partition 1 not listed');
    assert.deepEqual(users(store.expiring(1, 300)), ['x@50'], 'partition 1 alone');
    store.apply(0, new Map([['b', win('b', 400)]]), '4');
    assert.deepEqual(users(store.expiring(0, 1000)), ['c@200', 'a@300', 'b@400'], 'a renewed window moves in the index (no stale entry left)');
    assert.deepEqual(store.stats(), { users: 4, indexed: 4 });
    const lazy = store.expiring(0, 1000)[Symbol.iterator]();
    assert.deepEqual(lazy.next().value, { userId: 'c', end: 200 }, 'read lazily from the start');
  });

  it('keeps the stream time per partition across a reopen, applied with the checkpoint', async () => {
    assert.equal(store.streamTime(2), undefined, 'none before the first apply');
    store.apply(2, new Map(), '7', { time: 1_800_000_000_000, offset: '41' });
    store.apply(2, new Map([['a', win('a', 1)]]), '8');
    await store.close();
    store = new LmdbWindowStore(dir);
    assert.deepEqual(store.streamTime(2), { time: 1_800_000_000_000, offset: '41' }, 'an apply without a stream time keeps the last one');
    assert.equal(store.checkpoint(2), '8');
    assert.deepEqual(users(store.expiring(2, 10)), ['a@1'], 'the index survives the reopen');
  });

  it('empties a folder written before the index existed, so the restore replays the whole changelog', async () => {
    await store.close();
    const old = open({ path: dir, maxDbs: 8, compression: false });
    const windows = old.openDB<Buffer, string>({ name: 'windows', encoding: 'binary' });
    const checkpoints = old.openDB<string, number>({ name: 'checkpoints' });
    old.transactionSync(() => {
      void windows.put('a', win('a', 5));
      void checkpoints.put(0, '10');
    });
    old.openDB({ name: 'meta' }).removeSync('layout');
    await old.close();
    store = new LmdbWindowStore(dir);
    assert.equal(store.get('a'), undefined, 'unindexed window dropped');
    assert.equal(store.checkpoint(0), '0', 'checkpoint reset: restore from the start');
  });
});

describe('windowEndOf', () => {
  it('reads the end from the head of a version 2 value and from a whole version 1 value', () => {
    assert.equal(windowEndOf(encodeWindowParts('we"ird\\user', 1_767_225_600_123, ['[0,"e",1,2,"good",[],null]'])), 1_767_225_600_123);
    assert.equal(windowEndOf(Buffer.from(JSON.stringify({ v: 1, window: { user_id: 'a', end: 42, entries: [] } }))), 42);
    assert.throws(() => windowEndOf(Buffer.from('nope')), /not JSON/);
  });
});
