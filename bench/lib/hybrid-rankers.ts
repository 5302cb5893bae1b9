/**
 * Rankers of bench/retrieval.ts that go through the shipped search path: the corpus is written
 * into a real store (an embedded LanceDB in a temporary folder, or Qdrant's own engine behind its
 * REST shim, test/support/qdrant-engine.ts) and every question is answered by `VectorSink.search`
 * with RETRIEVAL_MODE's modes — `sparse` (words: LanceDB's full-text index, Qdrant's BM25 sparse
 * vector with IDF) and `hybrid` (dense + words fused by RRF, the filters inside both). So what is
 * measured is what `aura-stream search` runs, candidate limits and fusion included.
 *
 * A search returns `limit` hits; the points it does not return score -Infinity (ranked after
 * them, by index), which precision@10 never reaches with `limit` ≥ 10.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { LanceDbSink } from '../../src/adapters/lancedb-sink.js';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { createTransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { pointId } from '../../src/contracts/ids.js';
import type { RetrievalMode, VectorPoint, VectorSink } from '../../src/ports.js';
import { toPoint } from '../../src/pipeline/index.js';
import type { Corpus, RankerFactory } from './ranker.js';
import { startQdrantEngine } from '../../test/support/qdrant-engine.js';

type Embedder = Awaited<ReturnType<typeof createTransformersEmbedder>>;
export type Store = 'lancedb' | 'qdrant';

/** Hits per question, as a caller asking for the top 10 gets them (the candidates per side follow from it). */
export const SEARCH_LIMIT = 10;

/** Document vectors per model folder and text, shared by every store ranker of one run. */
const vectorCache = new Map<string, Map<string, Float32Array>>();

/** Document vectors of `texts` by the model in `folder` (cached per folder for the whole run). */
export async function documentVectors(embedder: Embedder, folder: string, texts: readonly string[]): Promise<Map<string, Float32Array>> {
  let cache = vectorCache.get(folder);
  if (!cache) vectorCache.set(folder, (cache = new Map()));
  const missing = [...new Set(texts)].filter((t) => !cache!.has(t));
  for (let i = 0; i < missing.length; i += 64) {
    const chunk = missing.slice(i, i + 64);
    const out = await embedder.embed(chunk);
    chunk.forEach((t, j) => cache!.set(t, out[j]!));
  }
  return cache;
}

/** The model's query vectors (its query prefix applied when the embedder has one). */
export function embedQueries(embedder: Embedder, queries: string[]): Promise<Float32Array[]> {
  const withPrefix = (embedder as { embedQueries?: (texts: string[]) => Promise<Float32Array[]> }).embedQueries;
  return withPrefix ? withPrefix.call(embedder, queries) : embedder.embed(queries);
}

async function openStore(store: Store, collection: string): Promise<{ sink: VectorSink; cleanup(): Promise<void> }> {
  if (store === 'lancedb') {
    const dir = mkdtempSync(join(tmpdir(), 'aura-bench-lancedb-'));
    const sink = new LanceDbSink({ dir, collection });
    return { sink, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const engine = await startQdrantEngine();
  const sink = new QdrantSink({ url: engine.url, collection, timeoutMs: 60_000 });
  return {
    sink,
    cleanup: async () => {
      if (engine.responseViolations.length > 0) throw new Error(`Qdrant engine answered outside its OpenAPI document: ${JSON.stringify(engine.responseViolations[0])}`);
      await engine.close();
    },
  };
}

/**
 * The corpus as the vectorize stage stores it (toPoint: the payload builder), written into a fresh
 * `store`; `index` maps a point id to its corpus position.
 */
export async function loadedStore(
  name: string,
  store: Store,
  folder: string,
  embedder: Embedder,
  corpus: Corpus,
): Promise<{ sink: VectorSink; cleanup(): Promise<void>; points: VectorPoint[]; index: Map<string, number> }> {
  const vectors = await documentVectors(embedder, folder, corpus.texts);
  const { sink, cleanup } = await openStore(store, 'bench_hybrid');
  const t0 = performance.now();
  await sink.ensureCollection(embedder.dimension);
  const points: VectorPoint[] = corpus.points.map((snapshot, i) =>
    toPoint(
      { record: { topic: 'bench.context.aggregated', partition: 0, offset: String(i) }, snapshot: { ...snapshot, text: corpus.texts[i]! }, pointId: pointId(snapshot.user_id, snapshot.window_end) },
      vectors.get(corpus.texts[i]!)!,
      embedder,
    ),
  );
  for (let i = 0; i < points.length; i += 512) await sink.upsert(points.slice(i, i + 512));
  console.log(`${name}: ${points.length} points written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { sink, cleanup, points, index: new Map(points.map((p, i) => [p.id, i])) };
}

/** Scores of a ranking, strictly decreasing by position (the store's own order is kept); the rest -Infinity. */
export function rankingRow(ids: readonly string[], index: ReadonlyMap<string, number>, size: number): number[] {
  const row = new Array<number>(size).fill(Number.NEGATIVE_INFINITY);
  ids.forEach((id, rank) => (row[index.get(id)!] = ids.length - rank));
  return row;
}

/**
 * `mode` search through `store`, with the dense side from the model in `folder` (a `sparse`
 * ranker embeds too: the port takes a query vector, and the store's write path needs one).
 */
export function storeRanker(store: Store, mode: Exclude<RetrievalMode, 'dense'>, folder: string, threads: number): RankerFactory {
  const name = mode === 'sparse' ? `sparse:${store}` : `hybrid:${store}:${basename(folder)}`;
  return {
    name,
    async create(corpus) {
      const embedder = await createTransformersEmbedder({ modelPath: folder, threads });
      const { sink, cleanup, points, index } = await loadedStore(name, store, folder, embedder, corpus);
      let searches = 0;
      let searchMs = 0;
      return {
        name,
        info: { store, mode, model_id: embedder.modelId, limit: SEARCH_LIMIT, points: points.length },
        async scores(queries) {
          const qv = await embedQueries(embedder, [...queries]);
          const rows: number[][] = [];
          for (let qi = 0; qi < queries.length; qi++) {
            const started = performance.now();
            const hits = await sink.search(qv[qi]!, { mode, text: queries[qi]!, limit: SEARCH_LIMIT });
            searchMs += performance.now() - started;
            searches += 1;
            rows.push(rankingRow(hits.map((h) => h.id), index, points.length));
          }
          return rows;
        },
        async close() {
          console.log(`${name}: ${searches} searches, mean ${(searchMs / Math.max(1, searches)).toFixed(1)} ms`);
          await sink.close();
          await embedder.close();
          await cleanup();
        },
      };
    },
  };
}
