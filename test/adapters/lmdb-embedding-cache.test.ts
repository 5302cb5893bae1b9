import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { open as open_ } from 'lmdb';
import { AuraError } from '../../src/errors.js';
import type { UserText } from '../../src/ports.js';
import { CACHE_FORMAT, embeddingCacheKey, openEmbeddingCache, type LmdbEmbeddingCache } from '../../src/adapters/lmdb-embedding-cache.js';
import { DEFAULT_CONFIG } from '../support/compiled-options.js';

const MODEL = { modelId: 'all-MiniLM-L6-v2-q', modelVersion: 'afdb6f1a0e45b715', maxEntries: DEFAULT_CONFIG.embeddingCacheMaxEntries };
const DIM = 384;

/** A deterministic vector per seed (not normalised: the cache must not care). */
function vec(seed: number, dim = DIM): Float32Array {
  const v = new Float32Array(dim);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < dim; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    v[i] = x / 2 ** 31 - 0.5;
  }
  return v;
}

const U = 'user-1';
/** The texts as keys of one user. */
const of = (texts: string[]): UserText[] => texts.map((text) => ({ userId: U, text }));

function sameBytes(a: Float32Array | undefined, b: Float32Array, message: string): void {
  assert.ok(a, `${message}: missing`);
  assert.equal(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)), 0, message);
}

describe('openEmbeddingCache (LMDB)', () => {
  let dir: string;
  const open: LmdbEmbeddingCache[] = [];
  const openCache = (options: Partial<Parameters<typeof openEmbeddingCache>[0]> = {}): LmdbEmbeddingCache => {
    const cache = openEmbeddingCache({ dir, ...MODEL, ...options });
    open.push(cache);
    return cache;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aura-embcache-'));
  });
  afterEach(async () => {
    for (const cache of open.splice(0)) await cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts a miss per text not stored and a hit per text stored', async () => {
    const cache = openCache();
    assert.deepEqual(cache.getMany(of(['a', 'b'])), [undefined, undefined]);
    assert.equal(cache.misses, 2);
    assert.equal(cache.hits, 0);
    await cache.putMany([{ userId: U, text: 'a', vector: vec(1) }]);
    const [a, b] = cache.getMany(of(['a', 'b']));
    sameBytes(a, vec(1), 'a is served from the cache');
    assert.equal(b, undefined, 'b was never stored');
    assert.equal(cache.hits, 1, 'one hit');
    assert.equal(cache.misses, 3, 'two earlier misses and b');
  });

  it('stores equal texts once, and the first vector stored for a text stays', async () => {
    const cache = openCache();
    await cache.putMany([
      { userId: U, text: 'same snapshot text', vector: vec(1) },
      { userId: U, text: 'same snapshot text', vector: vec(1) },
      { userId: U, text: 'other', vector: vec(2) },
    ]);
    assert.equal(cache.size, 2, 'two distinct texts, two entries');
    await cache.putMany([{ userId: U, text: 'same snapshot text', vector: vec(3) }]);
    assert.equal(cache.size, 2, 'storing a cached text again adds nothing');
    sameBytes(cache.getMany(of(['same snapshot text']))[0], vec(1), 'the first vector is kept');
  });

  it('keys by model id and version: another version misses on the same text', async () => {
    const v1 = openCache();
    await v1.putMany([{ userId: U, text: 'hello', vector: vec(1) }]);
    await v1.close();
    const v2 = openCache({ modelVersion: '0123456789abcdef' });
    assert.equal(v2.getMany(of(['hello']))[0], undefined, 'a new model version does not see old vectors');
    assert.equal(v2.misses, 1);
    await v2.close();
    const otherId = openCache({ modelId: 'Xenova/all-MiniLM-L6-v2' });
    assert.equal(otherId.getMany(of(['hello']))[0], undefined, 'another model id does not either');
    await otherId.close();
    const again = openCache();
    sameBytes(again.getMany(of(['hello']))[0], vec(1), 'the original version still hits');
    assert.notDeepEqual(embeddingCacheKey('m', 'v1', U, 'hello'), embeddingCacheKey('m', 'v2', U, 'hello'));
    // The separator keeps (id, version, text) unambiguous.
    assert.notDeepEqual(embeddingCacheKey('m', 'v', U, 'x'), embeddingCacheKey('m', 'vx', U, ''));
  });

  it('evicts the oldest entries by insertion order and keeps the newest maxEntries', async () => {
    const cache = openCache({ maxEntries: 5 });
    for (let i = 0; i < 4; i++) await cache.putMany([{ userId: U, text: `t${i}`, vector: vec(i) }]);
    await cache.putMany([4, 5, 6, 7].map((i) => ({ userId: U, text: `t${i}`, vector: vec(i) })));
    assert.equal(cache.size, 5, 'bounded to maxEntries');
    assert.equal(cache.evictions, 3);
    const got = cache.getMany(of([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `t${i}`)));
    assert.deepEqual(got.map((v) => v !== undefined), [false, false, false, true, true, true, true, true], 'the three oldest are gone');
    for (const i of [3, 4, 5, 6, 7]) sameBytes(got[i], vec(i), `t${i} intact`);
    // A batch larger than the bound keeps its own newest entries.
    await cache.putMany(Array.from({ length: 7 }, (_, i) => ({ userId: U, text: `u${i}`, vector: vec(100 + i) })));
    assert.equal(cache.size, 5);
    assert.deepEqual(
      cache.getMany(of(Array.from({ length: 7 }, (_, i) => `u${i}`))).map((v) => v !== undefined),
      [false, false, true, true, true, true, true],
    );
  });

  it('round-trips vector bytes exactly (negative zero, subnormals, extremes)', async () => {
    const cache = openCache({ dimension: 8 });
    const v = new Float32Array([-0, 1.401298464324817e-45, -3.4028234663852886e38, 3.4028234663852886e38, 1 / 3, -1e-20, 0.1, 1]);
    await cache.putMany([{ userId: U, text: 'edge', vector: v }]);
    const [got] = cache.getMany(of(['edge']));
    sameBytes(got, v, 'bit-exact');
    assert.ok(Object.is(got?.[0], -0), 'negative zero survives');
    // A view at an odd offset of a larger buffer stores only its own values.
    const backing = new Float32Array(10);
    backing.set(v, 1);
    await cache.putMany([{ userId: U, text: 'view', vector: backing.subarray(1, 9) }]);
    sameBytes(cache.getMany(of(['view']))[0], v, 'subarray stored by its own bytes');
  });

  it('persists across close and reopen, and keeps the insertion order for eviction', async () => {
    const first = openCache({ maxEntries: 3 });
    await first.putMany([0, 1, 2].map((i) => ({ userId: U, text: `t${i}`, vector: vec(i) })));
    await first.close();
    const second = openCache({ maxEntries: 3 });
    assert.equal(second.size, 3);
    sameBytes(second.getMany(of(['t1']))[0], vec(1), 'stored before the restart');
    await second.putMany([{ userId: U, text: 't3', vector: vec(3) }]);
    assert.deepEqual(second.getMany(of(['t0', 't1', 't2', 't3'])).map((v) => v !== undefined), [false, true, true, true], 'the oldest from before the restart goes first');
  });

  it('treats a stored vector of another dimension as a miss', async () => {
    const wide = openCache();
    await wide.putMany([{ userId: U, text: 'x', vector: vec(1, DIM) }]);
    await wide.close();
    const narrow = openCache({ dimension: 8 });
    assert.equal(narrow.getMany(of(['x']))[0], undefined);
    assert.equal(narrow.corrupt, 1);
    assert.equal(narrow.misses, 1);
    await assert.rejects(narrow.putMany([{ userId: U, text: 'y', vector: vec(1, DIM) }]), /expected 8/);
  });

  it('keys by user: the same text of two users is two entries, and deleteUser removes exactly one user\'s entries', async () => {
    const cache = openCache({ maxEntries: 10 });
    // User ids that share a textual prefix, and one holding a NUL: prefixes are hashes, so none of them overlap.
    const users = ['a', 'ab', 'a\0b', 'b'];
    for (const [i, userId] of users.entries()) await cache.putMany([{ userId, text: 'shared text', vector: vec(i) }, { userId, text: `own ${userId}`, vector: vec(10 + i) }]);
    assert.equal(cache.size, 8, 'two entries per user');
    sameBytes(cache.getMany([{ userId: 'ab', text: 'shared text' }])[0], vec(1), 'each user has its own entry for a shared text');
    assert.equal(await cache.deleteUser('a'), 2, 'the two entries of user a');
    assert.equal(cache.size, 6);
    assert.deepEqual(cache.getMany([{ userId: 'a', text: 'shared text' }, { userId: 'a', text: 'own a' }]), [undefined, undefined], 'user a misses now');
    for (const [i, userId] of users.entries()) {
      if (userId === 'a') continue;
      sameBytes(cache.getMany([{ userId, text: 'shared text' }])[0], vec(i), `${JSON.stringify(userId)} keeps its entries`);
    }
    assert.equal(await cache.deleteUser('a'), 0, 'a second delete removes nothing');
    // The eviction order lost the deleted entries too: 4 more entries evict only the oldest live ones.
    await cache.putMany([0, 1, 2, 3, 4, 5].map((i) => ({ userId: 'c', text: `c${i}`, vector: vec(20 + i) })));
    assert.equal(cache.size, 10, 'bounded');
    assert.equal(cache.evictions, 2, 'two live entries evicted (the deleted ones were not counted)');
    assert.deepEqual(cache.getMany([{ userId: 'ab', text: 'shared text' }, { userId: 'ab', text: 'own ab' }, { userId: 'a\0b', text: 'shared text' }]).map((v) => v !== undefined), [false, false, true], 'the oldest live entries (user ab) went first');
  });

  it('clears a cache folder of the older format (keys without a user) on open, once', async () => {
    const old = open_({ path: dir, maxDbs: 4 });
    const vectors = old.openDB<Buffer, Buffer>({ name: 'vectors', encoding: 'binary', keyEncoding: 'binary' });
    const order = old.openDB<Buffer, number>({ name: 'order', encoding: 'binary' });
    old.transactionSync(() => {
      vectors.putSync(Buffer.alloc(32, 7), Buffer.from(vec(1).buffer));
      order.putSync(0, Buffer.alloc(32, 7));
    });
    await old.close();
    const cache = openCache();
    assert.equal(cache.size, 0, 'the format-1 entries are gone');
    await cache.putMany([{ userId: U, text: 'kept', vector: vec(2) }]);
    await cache.close();
    const again = openCache();
    assert.equal(again.size, 1, 'a format-2 folder is not cleared again');
    sameBytes(again.getMany(of(['kept']))[0], vec(2), 'and still serves its entries');
    assert.equal(CACHE_FORMAT, 2);
  });

  it('refuses a bad bound and use after close', async () => {
    assert.throws(() => openEmbeddingCache({ dir, ...MODEL, maxEntries: 0 }), (e: unknown) => e instanceof AuraError && e.code === 'CONFIG');
    const cache = openEmbeddingCache({ dir, ...MODEL });
    await cache.close();
    assert.throws(() => cache.getMany(of(['a'])), /after close/);
  });

  it('drops the entries of one model version and keeps the other model\'s, as index drop needs', async () => {
    const old = openCache();
    await old.putMany([{ userId: U, text: 'a', vector: vec(1) }, { userId: 'user-2', text: 'b', vector: vec(2) }]);
    await old.close();
    const NEXT = { modelId: 'bge-small-en-v1.5-q', modelVersion: '6c9c6101a956d62d' };
    const next = openCache(NEXT);
    await next.putMany([{ userId: U, text: 'a', vector: vec(3) }]);
    assert.equal(next.size, 3, 'both models share one cache');
    assert.equal(await next.dropModel(MODEL.modelId, MODEL.modelVersion), 2, 'the two entries of the old model');
    assert.equal(next.size, 1);
    sameBytes(next.getMany(of(['a']))[0], vec(3), 'the new model keeps its entry');
    await next.close();
    const reopened = openCache();
    assert.deepEqual(reopened.getMany(of(['a'])), [undefined], 'the old model\'s entry is gone');
    assert.equal(await reopened.deleteUser(U), 1, 'only the new model\'s entry of the user is left');
  });
});
