import { createHash } from 'node:crypto';
import type { Embedder, EmbeddingCache } from '../../../src/ports.js';

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
  /** Every text passed to embed, in call order. */
  readonly texts: string[] = [];
  calls = 0;
  constructor(readonly dimension: number) {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls += 1;
    this.texts.push(...texts);
    return texts.map((t) => hashVector(t, this.dimension));
  }
  async close(): Promise<void> {}
}

/** An unbounded embedding cache in memory that counts hits and misses. */
export class MemoryEmbeddingCache implements EmbeddingCache {
  private readonly map = new Map<string, Float32Array>();
  hits = 0;
  misses = 0;
  getMany(texts: string[]): Array<Float32Array | undefined> {
    return texts.map((t) => {
      const v = this.map.get(t);
      if (v) this.hits += 1;
      else this.misses += 1;
      return v;
    });
  }
  async putMany(entries: Array<{ text: string; vector: Float32Array }>): Promise<void> {
    for (const e of entries) this.map.set(e.text, e.vector);
  }
  async close(): Promise<void> {}
}
