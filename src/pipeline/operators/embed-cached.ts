import { concatMap, type OperatorFunction } from 'rxjs';
import { AuraError } from '../../errors.js';
import type { Embedder, EmbeddingCache } from '../../ports.js';
import type { Coalesced, Embedded } from '../domain/batch-work.js';

/**
 * First the batch's erasures remove their users' cache entries, in batch order (here, because this
 * step is the only one that puts entries: batches pass it one after another, so no earlier batch
 * puts an entry of the user after its removal). Then the vectors of the kept texts: from the cache
 * (keyed by user, model and text) where present; the misses embedded once per distinct text and
 * put in the cache for each user. The embedder must return one vector per text; anything else is
 * INTERNAL (never a made-up vector).
 */
export function embedCached(deps: { embedder: Embedder; cache: EmbeddingCache; now: () => number }): OperatorFunction<Coalesced, Embedded> {
  return concatMap(async (work): Promise<Embedded> => {
    const cacheErased: number[] = [];
    for (const { erasure } of work.erasures) cacheErased.push(await deps.cache.deleteUser(erasure.user_id));
    const keys = work.kept.map((i) => ({ userId: i.snapshot.user_id, text: i.snapshot.text }));
    const texts = keys.map((k) => k.text);
    const cached = deps.cache.getMany(keys);
    const missing = [...new Set(texts.filter((_, i) => cached[i] === undefined))];
    const started = deps.now();
    const fresh = missing.length > 0 ? await deps.embedder.embed(missing) : [];
    const embedSeconds = (deps.now() - started) / 1000;
    if (fresh.length !== missing.length) throw new AuraError('INTERNAL', `embedder returned ${fresh.length} vectors for ${missing.length} texts`);
    const byText = new Map(missing.map((t, i) => [t, fresh[i]!]));
    if (fresh.length > 0) await deps.cache.putMany(keys.flatMap((k, i) => (cached[i] === undefined ? [{ ...k, vector: byText.get(k.text)! }] : [])));
    const vectors = texts.map((t, i) => cached[i] ?? byText.get(t)!);
    const cacheHit = cached.map((v) => v !== undefined);
    return { ...work, cacheErased, vectors, cacheHit, cacheHits: cacheHit.filter(Boolean).length, cacheMisses: missing.length, embedSeconds };
  });
}

