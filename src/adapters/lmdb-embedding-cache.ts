import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { AuraError } from '../errors.js';
import type { EmbeddingCache, UserText } from '../ports.js';

/**
 * Embedding cache in LMDB, size-bounded, first in first out, erasable per user.
 *
 * Storage (one LMDB environment at `dir`, five named databases), format version 2:
 *   vectors: key   := sha256(user_id) ‖ sha256(model_id 0x00 model_version 0x00 text)
 *                                                                          64 bytes, UTF-8 inputs
 *            value := float32 × dimension                                  raw bytes, no header, the
 *                                                                          host's byte order (LE on x64/arm64)
 *   order:   key   := seq                                                   ordered-binary number, ascending
 *            value := vectors key                                          64 bytes
 *   seq:     key   := vectors key                                          64 bytes
 *            value := seq                                                   the entry's place in `order`
 *   meta:    'format' → 2
 *   models:  key   := vectors key                                          64 bytes
 *            value := sha256(model_id 0x00 model_version)[0..16]           16 bytes: whose entry it is,
 *                                                                          so `dropModel` finds a model's
 *                                                                          entries (entries stored before
 *                                                                          this database existed have none
 *                                                                          and age out by eviction)
 * The user's 32-byte prefix groups a user's entries together, so `deleteUser` is one range read
 * from that prefix (never a scan of other users), whatever bytes the user id holds (a NUL too), and
 * no user id is stored in the clear. The same text of two users is two entries (one each).
 * `seq` grows by one per stored entry (last seq + 1, read inside the write transaction), so the
 * first `order` entries are the oldest: eviction deletes them from all three databases in the same
 * transaction that went over `maxEntries`. A key already present is not stored again (and keeps its
 * place in the order). Entries of other model versions stay until they are evicted like any other.
 *
 * A folder written by format 1 (keys without the user, no `meta`) is cleared on open, once: its
 * entries cannot be attributed to a user, so they could never be erased. The vectors are
 * recomputed on demand, byte-identical (a vector depends on its text only).
 *
 * Writes use `transactionSync` (the async `transaction()` was seen to hang on these machines,
 * docs/ARCHITECTURE.md §8); reads are plain synchronous gets.
 */

export interface EmbeddingCacheOptions {
  /** LMDB folder; created when missing. */
  dir: string;
  modelId: string;
  modelVersion: string;
  /** EMBEDDING_CACHE_MAX_ENTRIES: largest number of vectors kept (all model versions together). */
  maxEntries: number;
  /**
   * Values per vector. Set: a stored value of another length is a miss (and putMany refuses such
   * vectors). Unset: the first vector stored or read fixes it for this handle.
   */
  dimension?: number;
  /** LMDB map size in bytes (upper bound of the file). Default 1 GiB (~600 000 vectors of 384). */
  mapSize?: number;
}

export interface LmdbEmbeddingCache extends EmbeddingCache {
  /**
   * Removes every entry of a model version (any model, not only the handle's own): what
   * `aura-stream index drop` does for a version nobody uses any more. One scan of the entries.
   */
  dropModel(modelId: string, modelVersion: string): Promise<number>;
  /** Entries stored now (all model versions). */
  readonly size: number;
  /** Entries evicted by this handle since it was opened. */
  readonly evictions: number;
  /** Stored values of the wrong length seen on read (counted as misses too). */
  readonly corrupt: number;
  readonly dir: string;
}

const DEFAULT_MAP_SIZE = 1024 ** 3;

/** Written to `meta` as 'format'; anything else found on open clears the cache. */
export const CACHE_FORMAT = 2;

/** The 32-byte prefix of every key of one user: sha256(userId). */
export function embeddingCacheUserPrefix(userId: string): Buffer {
  return createHash('sha256').update(userId).digest();
}

/** Cache key of one user's text: sha256(userId) ‖ sha256(modelId \0 modelVersion \0 text). */
export function embeddingCacheKey(modelId: string, modelVersion: string, userId: string, text: string): Buffer {
  return Buffer.concat([embeddingCacheUserPrefix(userId), createHash('sha256').update(modelId).update('\0').update(modelVersion).update('\0').update(text).digest()]);
}

/** The 16-byte model tag of the `models` database. */
export function embeddingCacheModelTag(modelId: string, modelVersion: string): Buffer {
  return createHash('sha256').update(modelId).update('\0').update(modelVersion).digest().subarray(0, 16);
}

export function openEmbeddingCache(options: EmbeddingCacheOptions): LmdbEmbeddingCache {
  const { dir, modelId, modelVersion } = options;
  const maxEntries = options.maxEntries;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new AuraError('CONFIG', `embedding cache maxEntries must be an integer ≥ 1, got ${String(options.maxEntries)}`);
  }
  if (modelId === '' || modelVersion === '') {
    throw new AuraError('CONFIG', 'embedding cache needs a non-empty modelId and modelVersion (they are part of every key)');
  }
  let dimension = options.dimension;

  let root: RootDatabase;
  let vectors: Database<Buffer, Buffer>;
  let order: Database<Buffer, number>;
  let seqs: Database<number, Buffer>;
  let meta: Database<number, string>;
  let models: Database<Buffer, Buffer>;
  try {
    mkdirSync(dir, { recursive: true });
    root = open({ path: dir, maxDbs: 5, mapSize: options.mapSize ?? DEFAULT_MAP_SIZE });
    vectors = root.openDB<Buffer, Buffer>({ name: 'vectors', encoding: 'binary', keyEncoding: 'binary' });
    order = root.openDB<Buffer, number>({ name: 'order', encoding: 'binary' });
    seqs = root.openDB<number, Buffer>({ name: 'seq', keyEncoding: 'binary' });
    meta = root.openDB<number, string>({ name: 'meta' });
    models = root.openDB<Buffer, Buffer>({ name: 'models', encoding: 'binary', keyEncoding: 'binary' });
    if (meta.get('format') !== CACHE_FORMAT) {
      root.transactionSync(() => {
        vectors.clearSync();
        models.clearSync();
        order.clearSync();
        seqs.clearSync();
        meta.putSync('format', CACHE_FORMAT);
      });
    }
  } catch (error) {
    throw new AuraError('CONFIG', `could not open the embedding cache at ${dir}: ${(error as Error).message}`, { cause: error });
  }

  const keyOf = (userId: string, text: string): Buffer => embeddingCacheKey(modelId, modelVersion, userId, text);
  const modelTag = embeddingCacheModelTag(modelId, modelVersion);
  const entryCount = (): number => (order.getStats() as { entryCount: number }).entryCount;
  let hits = 0;
  let misses = 0;
  let evictions = 0;
  let corrupt = 0;
  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new AuraError('INTERNAL', `embedding cache at ${dir} used after close()`);
  };

  /** Removes entries by key from all four databases; inside a write transaction. */
  const removeEntries = (keys: Buffer[]): void => {
    for (const key of keys) {
      const s = seqs.get(key);
      if (s !== undefined) order.removeSync(s);
      seqs.removeSync(key);
      vectors.removeSync(key);
      models.removeSync(key);
    }
  };

  return {
    dir,
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
    get evictions() {
      return evictions;
    },
    get corrupt() {
      return corrupt;
    },
    get size() {
      ensureOpen();
      return entryCount();
    },

    getMany(keys: UserText[]): Array<Float32Array | undefined> {
      ensureOpen();
      return keys.map(({ userId, text }) => {
        const bytes = vectors.getBinary(keyOf(userId, text));
        const vector = bytes === undefined ? undefined : decode(bytes);
        if (bytes !== undefined && vector === undefined) corrupt++;
        if (vector === undefined) {
          misses++;
          return undefined;
        }
        hits++;
        return vector;
      });
    },

    async putMany(entries: Array<UserText & { vector: Float32Array }>): Promise<void> {
      ensureOpen();
      if (entries.length === 0) return;
      const fresh = new Map<string, { key: Buffer; value: Buffer }>();
      for (const { userId, text, vector } of entries) {
        dimension ??= vector.length;
        if (vector.length !== dimension || vector.length === 0) {
          throw new AuraError('INTERNAL', `embedding cache: vector of ${vector.length} values, expected ${dimension}`);
        }
        const key = keyOf(userId, text);
        fresh.set(key.toString('hex'), { key, value: encode(vector) });
      }
      root.transactionSync(() => {
        const [last] = order.getKeys({ reverse: true, limit: 1 });
        let seq = typeof last === 'number' ? last + 1 : 0;
        for (const { key, value } of fresh.values()) {
          if (vectors.doesExist(key)) continue;
          vectors.putSync(key, value);
          models.putSync(key, modelTag);
          seqs.putSync(key, seq);
          order.putSync(seq++, key);
        }
        const excess = entryCount() - maxEntries;
        if (excess > 0) {
          const oldest = [...order.getRange({ limit: excess })];
          for (const { key: s, value: vkey } of oldest) {
            vectors.removeSync(vkey);
            models.removeSync(vkey);
            seqs.removeSync(vkey);
            order.removeSync(s);
          }
          evictions += oldest.length;
        }
      });
    },

    async deleteUser(userId: string): Promise<number> {
      ensureOpen();
      const prefix = embeddingCacheUserPrefix(userId);
      let removed = 0;
      root.transactionSync(() => {
        const keys: Buffer[] = [];
        for (const key of vectors.getKeys({ start: prefix })) {
          if (key.length < prefix.length || prefix.compare(key, 0, prefix.length) !== 0) break;
          keys.push(Buffer.from(key));
        }
        removeEntries(keys);
        removed = keys.length;
      });
      return removed;
    },

    async dropModel(dropId: string, dropVersion: string): Promise<number> {
      ensureOpen();
      const tag = embeddingCacheModelTag(dropId, dropVersion);
      let removed = 0;
      root.transactionSync(() => {
        const keys: Buffer[] = [];
        for (const { key, value } of models.getRange()) if (tag.equals(value)) keys.push(Buffer.from(key));
        removeEntries(keys);
        removed = keys.length;
      });
      return removed;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await root.close();
    },
  };

  function decode(bytes: Buffer): Float32Array | undefined {
    if (bytes.length === 0 || bytes.length % 4 !== 0) return undefined;
    const n = bytes.length / 4;
    if (dimension !== undefined && n !== dimension) return undefined;
    dimension ??= n;
    // Copy: the Buffer may sit at an offset that is not a multiple of 4.
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
}

function encode(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}
