import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { AuraError } from '../errors.js';
import type { EmbeddingCache } from '../ports.js';

/**
 * Embedding cache in LMDB, size-bounded, first in first out.
 *
 * Storage (one LMDB environment at `dir`, two named databases):
 *   vectors: key   := sha256(model_id 0x00 model_version 0x00 text)     32 bytes, UTF-8 input
 *            value := float32 × dimension                                  raw bytes, no header, the
 *                                                                          host's byte order (LE on x64/arm64)
 *   order:   key   := seq                                                   ordered-binary number, ascending
 *            value := vectors key                                          32 bytes
 * `seq` grows by one per stored entry (last seq + 1, read inside the write transaction), so the
 * first `order` entries are the oldest: eviction deletes them from both databases in the same
 * transaction that went over `maxEntries`. A key already present is not stored again (and keeps its
 * place in the order). Entries of other model versions stay until they are evicted like any other.
 *
 * Writes use `transactionSync` (the async `transaction()` was seen to hang on these machines,
 * docs/ARCHITECTURE.md §8); reads are plain synchronous gets.
 */

export interface EmbeddingCacheOptions {
  /** LMDB folder; created when missing. */
  dir: string;
  modelId: string;
  modelVersion: string;
  /** Largest number of vectors kept (all model versions together). Default 100 000. */
  maxEntries?: number;
  /**
   * Values per vector. Set: a stored value of another length is a miss (and putMany refuses such
   * vectors). Unset: the first vector stored or read fixes it for this handle.
   */
  dimension?: number;
  /** LMDB map size in bytes (upper bound of the file). Default 1 GiB (~600 000 vectors of 384). */
  mapSize?: number;
}

export interface LmdbEmbeddingCache extends EmbeddingCache {
  /** Entries stored now (all model versions). */
  readonly size: number;
  /** Entries evicted by this handle since it was opened. */
  readonly evictions: number;
  /** Stored values of the wrong length seen on read (counted as misses too). */
  readonly corrupt: number;
  readonly dir: string;
}

export const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_MAP_SIZE = 1024 ** 3;

/** Cache key of one text: sha256(modelId \0 modelVersion \0 text). */
export function embeddingCacheKey(modelId: string, modelVersion: string, text: string): Buffer {
  return createHash('sha256').update(modelId).update('\0').update(modelVersion).update('\0').update(text).digest();
}

export function openEmbeddingCache(options: EmbeddingCacheOptions): LmdbEmbeddingCache {
  const { dir, modelId, modelVersion } = options;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
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
  try {
    mkdirSync(dir, { recursive: true });
    root = open({ path: dir, maxDbs: 4, mapSize: options.mapSize ?? DEFAULT_MAP_SIZE });
    vectors = root.openDB<Buffer, Buffer>({ name: 'vectors', encoding: 'binary', keyEncoding: 'binary' });
    order = root.openDB<Buffer, number>({ name: 'order', encoding: 'binary' });
  } catch (error) {
    throw new AuraError('CONFIG', `could not open the embedding cache at ${dir}: ${(error as Error).message}`, { cause: error });
  }

  const keyOf = (text: string): Buffer => embeddingCacheKey(modelId, modelVersion, text);
  const entryCount = (): number => (order.getStats() as { entryCount: number }).entryCount;
  let hits = 0;
  let misses = 0;
  let evictions = 0;
  let corrupt = 0;
  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new AuraError('INTERNAL', `embedding cache at ${dir} used after close()`);
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

    getMany(texts: string[]): Array<Float32Array | undefined> {
      ensureOpen();
      return texts.map((text) => {
        const bytes = vectors.getBinary(keyOf(text));
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

    async putMany(entries: Array<{ text: string; vector: Float32Array }>): Promise<void> {
      ensureOpen();
      if (entries.length === 0) return;
      const fresh = new Map<string, { key: Buffer; value: Buffer }>();
      for (const { text, vector } of entries) {
        dimension ??= vector.length;
        if (vector.length !== dimension || vector.length === 0) {
          throw new AuraError('INTERNAL', `embedding cache: vector of ${vector.length} values, expected ${dimension}`);
        }
        const key = keyOf(text);
        fresh.set(key.toString('hex'), { key, value: encode(vector) });
      }
      root.transactionSync(() => {
        const [last] = order.getKeys({ reverse: true, limit: 1 });
        let seq = typeof last === 'number' ? last + 1 : 0;
        for (const { key, value } of fresh.values()) {
          if (vectors.doesExist(key)) continue;
          vectors.putSync(key, value);
          order.putSync(seq++, key);
        }
        const excess = entryCount() - maxEntries;
        if (excess > 0) {
          const oldest = [...order.getRange({ limit: excess })];
          for (const { key: s, value: vkey } of oldest) {
            vectors.removeSync(vkey);
            order.removeSync(s);
          }
          evictions += oldest.length;
        }
      });
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
