import type { ContextAggregated } from '../../src/contracts/snapshot.js';

/** The shapes every ranking of bench/retrieval.ts has (dense, store, aspect and fused rankers). */

export interface Corpus {
  points: readonly ContextAggregated[];
  texts: readonly string[];
}

export interface Ranker {
  name: string;
  /** One row per query, one score per corpus point (higher ranks first). */
  scores(queries: readonly string[]): Promise<number[][]>;
  close?(): Promise<void>;
  /** Anything worth reporting next to the figures (e.g. texts/s). */
  info?: Record<string, unknown>;
}

export type RankerFactory = { name: string; create(corpus: Corpus): Promise<Ranker> };

/** Cosine similarity of unit-length vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
