import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AuraError } from '../../src/errors.js';
import { embeddingCacheKey, openEmbeddingCache, type LmdbEmbeddingCache } from '../../src/adapters/lmdb-embedding-cache.js';

const MODEL = { modelId: 'all-MiniLM-L6-v2-q', modelVersion: 'afdb6f1a0e45b715' };
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
    assert.deepEqual(cache.getMany(['a', 'b']), [undefined, undefined]);
    assert.equal(cache.misses, 2);
    assert.equal(cache.hits, 0);
    await cache.putMany([{ text: 'a', vector: vec(1) }]);
    const [a, b] = cache.getMany(['a', 'b']);
    sameBytes(a, vec(1), 'a is served from the cache');
    assert.equal(b, undefined, 'b was never stored');
    assert.equal(cache.hits, 1, 'one hit');
    assert.equal(cache.misses, 3, 'two earlier misses and b');
  });

  it('stores equal texts once, and the first vector stored for a text stays', async () => {
    const cache = openCache();
    await cache.putMany([
      { text: 'same snapshot text', vector: vec(1) },
      { text: 'same snapshot text', vector: vec(1) },
      { text: 'other', vector: vec(2) },
    ]);
    assert.equal(cache.size, 2, 'two distinct texts, two entries');
    await cache.putMany([{ text: 'same snapshot text', vector: vec(3) }]);
    assert.equal(cache.size, 2, 'storing a cached text again adds nothing');
    sameBytes(cache.getMany(['same snapshot text'])[0], vec(1), 'the first vector is kept');
  });

  it('keys by model id and version: another version misses on the same text', async () => {
    const v1 = openCache();
    await v1.putMany([{ text: 'hello', vector: vec(1) }]);
    await v1.close();
    const v2 = openCache({ modelVersion: '0123456789abcdef' });
    assert.equal(v2.getMany(['hello'])[0], undefined, 'a new model version does not see old vectors');
    assert.equal(v2.misses, 1);
    await v2.close();
    const otherId = openCache({ modelId: 'Xenova/all-MiniLM-L6-v2' });
    assert.equal(otherId.getMany(['hello'])[0], undefined, 'another model id does not either');
    await otherId.close();
    const again = openCache();
    sameBytes(again.getMany(['hello'])[0], vec(1), 'the original version still hits');
    assert.notDeepEqual(embeddingCacheKey('m', 'v1', 'hello'), embeddingCacheKey('m', 'v2', 'hello'));
    // The separator keeps (id, version, text) unambiguous.
    assert.notDeepEqual(embeddingCacheKey('m', 'v', 'x'), embeddingCacheKey('m', 'vx', ''));
  });

  it('evicts the oldest entries by insertion order and keeps the newest maxEntries', async () => {
    const cache = openCache({ maxEntries: 5 });
    for (let i = 0; i < 4; i++) await cache.putMany([{ text: `t${i}`, vector: vec(i) }]);
    await cache.putMany([4, 5, 6, 7].map((i) => ({ text: `t${i}`, vector: vec(i) })));
    assert.equal(cache.size, 5, 'bounded to maxEntries');
    assert.equal(cache.evictions, 3);
    const got = cache.getMany([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `t${i}`));
    assert.deepEqual(got.map((v) => v !== undefined), [false, false, false, true, true, true, true, true], 'the three oldest are gone');
    for (const i of [3, 4, 5, 6, 7]) sameBytes(got[i], vec(i), `t${i} intact`);
    // A batch larger than the bound keeps its own newest entries.
    await cache.putMany(Array.from({ length: 7 }, (_, i) => ({ text: `u${i}`, vector: vec(100 + i) })));
    assert.equal(cache.size, 5);
    assert.deepEqual(
      cache.getMany(Array.from({ length: 7 }, (_, i) => `u${i}`)).map((v) => v !== undefined),
      [false, false, true, true, true, true, true],
    );
  });

  it('round-trips vector bytes exactly (negative zero, subnormals, extremes)', async () => {
    const cache = openCache({ dimension: 8 });
    const v = new Float32Array([-0, 1.401298464324817e-45, -3.4028234663852886e38, 3.4028234663852886e38, 1 / 3, -1e-20, 0.1, 1]);
    await cache.putMany([{ text: 'edge', vector: v }]);
    const [got] = cache.getMany(['edge']);
    sameBytes(got, v, 'bit-exact');
    assert.ok(Object.is(got?.[0], -0), 'negative zero survives');
    // A view at an odd offset of a larger buffer stores only its own values.
    const backing = new Float32Array(10);
    backing.set(v, 1);
    await cache.putMany([{ text: 'view', vector: backing.subarray(1, 9) }]);
    sameBytes(cache.getMany(['view'])[0], v, 'subarray stored by its own bytes');
  });

  it('persists across close and reopen, and keeps the insertion order for eviction', async () => {
    const first = openCache({ maxEntries: 3 });
    await first.putMany([0, 1, 2].map((i) => ({ text: `t${i}`, vector: vec(i) })));
    await first.close();
    const second = openCache({ maxEntries: 3 });
    assert.equal(second.size, 3);
    sameBytes(second.getMany(['t1'])[0], vec(1), 'stored before the restart');
    await second.putMany([{ text: 't3', vector: vec(3) }]);
    assert.deepEqual(second.getMany(['t0', 't1', 't2', 't3']).map((v) => v !== undefined), [false, true, true, true], 'the oldest from before the restart goes first');
  });

  it('treats a stored vector of another dimension as a miss', async () => {
    const wide = openCache();
    await wide.putMany([{ text: 'x', vector: vec(1, DIM) }]);
    await wide.close();
    const narrow = openCache({ dimension: 8 });
    assert.equal(narrow.getMany(['x'])[0], undefined);
    assert.equal(narrow.corrupt, 1);
    assert.equal(narrow.misses, 1);
    await assert.rejects(narrow.putMany([{ text: 'y', vector: vec(1, DIM) }]), /expected 8/);
  });

  it('refuses a bad bound and use after close', async () => {
    assert.throws(() => openEmbeddingCache({ dir, ...MODEL, maxEntries: 0 }), (e: unknown) => e instanceof AuraError && e.code === 'CONFIG');
    const cache = openEmbeddingCache({ dir, ...MODEL });
    await cache.close();
    assert.throws(() => cache.getMany(['a']), /after close/);
  });
});
