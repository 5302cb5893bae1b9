import { concatMap, type MonoTypeOperatorFunction } from 'rxjs';
import { AuraError } from '../errors.js';
import type { Embedder, EmbeddingCache } from '../ports.js';
import type { BatchWork } from './batch-work.js';

/**
 * Vectors of the kept texts: from the cache (keyed by model and text) where present; the misses
 * embedded once per distinct text and put in the cache. The embedder must return one vector per
 * text; anything else is INTERNAL (never a made-up vector).
 */
export function embedCached(deps: { embedder: Embedder; cache: EmbeddingCache; now: () => number }): MonoTypeOperatorFunction<BatchWork> {
  return concatMap(async (work) => {
    const texts = work.kept.map((i) => i.snapshot.text);
    const cached = deps.cache.getMany(texts);
    const missing = [...new Set(texts.filter((_, i) => cached[i] === undefined))];
    const started = deps.now();
    const fresh = missing.length > 0 ? await deps.embedder.embed(missing) : [];
    const embedSeconds = (deps.now() - started) / 1000;
    if (fresh.length !== missing.length) throw new AuraError('INTERNAL', `embedder returned ${fresh.length} vectors for ${missing.length} texts`);
    const byText = new Map(missing.map((t, i) => [t, fresh[i]!]));
    if (fresh.length > 0) await deps.cache.putMany(missing.map((text, i) => ({ text, vector: fresh[i]! })));
    const vectors = texts.map((t, i) => cached[i] ?? byText.get(t)!);
    const cacheHit = cached.map((v) => v !== undefined);
    return { ...work, vectors, cacheHit, cacheHits: cacheHit.filter(Boolean).length, cacheMisses: missing.length, embedSeconds };
  });
}

