import { stemmer } from 'stemmer';
import type { SparseVector } from '../ports.js';

/**
 * BM25-style sparse vectors of a text, computed in-process next to the dense one, for Qdrant's
 * named sparse vector SPARSE_VECTOR_NAME (created with the IDF modifier: Qdrant multiplies each
 * query term by its inverse document frequency over the collection at query time, so the vectors
 * here carry only the term-frequency half of BM25).
 *
 * - Terms: Unicode letters and digits runs, case and diacritics folded, Porter-stemmed (`stemmer`),
 *   so "stretching"/"stretched" and "activities"/"active" meet. No stop-word list: IDF already
 *   weighs words found everywhere down, and negation and degree words ("not", "very") stay.
 * - Index of a term: FNV-1a 32-bit of the stem (a collision merges two terms; with the few
 *   thousand stems of these texts it is rare and costs only ranking noise).
 * - Document value: tf·(k1+1) / (tf + k1·(1 − b + b·len/AVG_DOC_TERMS)), k1 = 1.2, b = 0.75.
 * - Query value: 1 per distinct term.
 *
 * Pure and deterministic: equal texts give equal vectors (indices ascending). Changing anything
 * here changes every stored sparse vector: bump SPARSE_ENCODER_VERSION.
 */

export const SPARSE_VECTOR_NAME = 'text_bm25';
export const SPARSE_ENCODER_VERSION = 'bm25-porter-fnv1a-1';
const K1 = 1.2;
const B = 0.75;
/** Terms in a typical rendered snapshot text (they run 30–60); BM25's length normalisation is relative to it. */
export const AVG_DOC_TERMS = 40;

const WORD = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}+/gu;

/** The stemmed terms of a text, in order, repeats kept. */
export function terms(text: string): string[] {
  const folded = text.normalize('NFKD').replace(MARKS, '').toLowerCase();
  return (folded.match(WORD) ?? []).map((w) => stemmer(w));
}

/** FNV-1a 32-bit of a term's UTF-16 code units, as an unsigned integer. */
export function termIndex(term: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) {
    h ^= term.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function toSparse(weights: Map<number, number>): SparseVector {
  const indices = [...weights.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => weights.get(i)!) };
}

/** The document side: BM25's saturated, length-normalised term frequency per term. */
export function encodeDocument(text: string): SparseVector {
  const all = terms(text);
  const tf = new Map<number, number>();
  for (const t of all) {
    const i = termIndex(t);
    tf.set(i, (tf.get(i) ?? 0) + 1);
  }
  const norm = K1 * (1 - B + (B * all.length) / AVG_DOC_TERMS);
  const weights = new Map<number, number>();
  for (const [i, f] of tf) weights.set(i, (f * (K1 + 1)) / (f + norm));
  return toSparse(weights);
}

/** The query side: 1 per distinct term (Qdrant applies the IDF). */
export function encodeQuery(text: string): SparseVector {
  return toSparse(new Map(terms(text).map((t) => [termIndex(t), 1])));
}
