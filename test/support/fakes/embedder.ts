import { createHash } from 'node:crypto';
import type { Embedder, EmbeddingCache, UserText } from '../../../src/ports.js';

/** Deterministic unit vector of a text (sha256 bytes → floats → L2 normalised). */
export function hashVector(text: string, dimension: number): Float32Array {
  const h = createHash('sha256').update(text).digest();
  const v = Float32Array.from({ length: dimension }, (_, i) => h.readInt16BE((i * 2) % 32) / 32768 + 1e-3);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** An embedder that hashes texts to vectors and records what it was asked. */
export class HashEmbedder implements Embedder {
  readonly modelId = 'fake-hash';
  readonly modelVersion = 'v1';
  readonly manifestSha256 = 'fake-hash-manifest';
  readonly queryPrefix = 'query: ';
  /** Every text passed to embed, in call order. */
  readonly texts: string[] = [];
  calls = 0;
  constructor(readonly dimension: number) {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls += 1;
    this.texts.push(...texts);
    return texts.map((t) => hashVector(t, this.dimension));
  }
  /** Queries hash with the prefix in front, as a real asymmetric model sees them. */
  async embedQueries(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => hashVector(this.queryPrefix + t, this.dimension));
  }
  async close(): Promise<void> {}
}

const keyOf = (k: UserText) => JSON.stringify([k.userId, k.text]);

/** An unbounded embedding cache in memory, keyed by (user, text), that counts hits and misses. */
export class MemoryEmbeddingCache implements EmbeddingCache {
  readonly map = new Map<string, Float32Array>();
  hits = 0;
  misses = 0;
  getMany(keys: UserText[]): Array<Float32Array | undefined> {
    return keys.map((k) => {
      const v = this.map.get(keyOf(k));
      if (v) this.hits += 1;
      else this.misses += 1;
      return v;
    });
  }
  async putMany(entries: Array<UserText & { vector: Float32Array }>): Promise<void> {
    for (const e of entries) if (!this.map.has(keyOf(e))) this.map.set(keyOf(e), e.vector);
  }
  async deleteUser(userId: string): Promise<number> {
    const gone = [...this.map.keys()].filter((k) => (JSON.parse(k) as [string, string])[0] === userId);
    for (const k of gone) this.map.delete(k);
    return gone.length;
  }
  /** Entries of one user. */
  of(userId: string): number {
    return [...this.map.keys()].filter((k) => (JSON.parse(k) as [string, string])[0] === userId).length;
  }
  async close(): Promise<void> {}
}
