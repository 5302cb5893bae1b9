/**
 * BENCH-ONLY rankers of bench/retrieval.ts: per-aspect vectors and an in-process BM25. Nothing
 * here is shipped; the stores hold one dense vector per point (and a sparse one). They measure
 * whether embedding each aspect of a text apart would help, before anyone builds it.
 *
 * Aspects. A point's text split by `renderAspects` (mood; activity; themes), and each aspect
 * split into its sentences: with text v2 and v3 that is mood level, direction, spread, activity type
 * with amount and intensity, consistency, themes (text v1: mood, activity type, consistency,
 * themes). Every sentence is embedded alone with the same model and `embed` (no prefix); the
 * question once with `embedQueries`. Scores over a point's aspect similarities s₁ ≥ s₂ ≥ …:
 * - `aspects-max`: s₁, what Qdrant's multivector MaxSim gives for one query vector;
 * - `aspects-top2`: s₁ + s₂, for questions that combine two facts; `aspects-top3`: s₁ + s₂ + s₃;
 * - `text+aspect`: cos(question, whole text) + s₁;
 * - `aspects3-max`: s₁ over the three coarse aspects of `renderAspects`, sentences not split.
 *
 * `bm25`: BM25 over the whole texts with the shipped sparse encoder (src/adapters/sparse-text.ts:
 * stemmed terms, saturated term frequency) and the IDF Qdrant applies for the IDF modifier,
 * ln(1 + (N − n + 0.5) / (n + 0.5)), computed here over the corpus. It ranks every point (the
 * store rankers return only the top 10), so it can be fused over full rankings with `fuseRrf`.
 */
import { basename } from 'node:path';
import { encodeDocument, encodeQuery } from '../../src/adapters/sparse-text.js';
import { createTransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { renderAspects } from '../../src/pipeline/index.js';
import { documentVectors, embedQueries } from './hybrid-rankers.js';
import { dot, type Corpus, type Ranker, type RankerFactory } from './ranker.js';

export type AspectScore = 'aspects-max' | 'aspects-top2' | 'aspects-top3' | 'text+aspect' | 'aspects3-max';
export const ASPECT_SCORES: readonly AspectScore[] = ['aspects-max', 'aspects-top2', 'aspects-top3', 'text+aspect', 'aspects3-max'];

/** Sentence ends: a full stop, space, then a capital (the renderer's sentences all start with one). */
const SENTENCE_END = /(?<=\.)\s+(?=\p{Lu})/u;

/** A point's aspect texts: the coarse aspects of `renderAspects`, or each of their sentences. */
export function aspectTexts(point: Corpus['points'][number], split: boolean): string[] {
  const coarse = Object.values(renderAspects(point)).filter((s) => s !== '');
  return split ? coarse.flatMap((s) => s.split(SENTENCE_END)) : coarse;
}

export function aspectRanker(folder: string, threads: number, score: AspectScore): RankerFactory {
  const name = `${score}:${basename(folder)}`;
  return {
    name,
    async create(corpus) {
      const embedder = await createTransformersEmbedder({ modelPath: folder, threads });
      const aspects = corpus.points.map((p) => aspectTexts(p, score !== 'aspects3-max'));
      for (const [i, p] of corpus.points.entries()) {
        // The split must cover the stored text exactly, or the ranker would score another text.
        if (aspectTexts(p, false).join(' ') !== corpus.texts[i]) throw new Error(`aspects of point ${i} do not join to its text: ${JSON.stringify(aspects[i])}`);
      }
      const wanted = [...aspects.flat(), ...(score === 'text+aspect' ? corpus.texts : [])];
      const t0 = performance.now();
      const vectors = await documentVectors(embedder, folder, wanted);
      const seconds = (performance.now() - t0) / 1000;
      const distinct = new Set(aspects.flat()).size;
      console.log(`${name}: ${distinct} distinct aspect texts (${(aspects.flat().length / aspects.length).toFixed(1)} per point), embedded in ${seconds.toFixed(1)} s`);
      const docs = aspects.map((a) => a.map((t) => vectors.get(t)!));
      const whole = corpus.texts.map((t) => vectors.get(t));
      return {
        name,
        info: { model_id: embedder.modelId, score, distinct_aspect_texts: distinct, aspects_per_point: aspects.flat().length / aspects.length, bench_only: true },
        async scores(queries) {
          const qv = await embedQueries(embedder, [...queries]);
          return qv.map((q) =>
            docs.map((vs, i) => {
              const sims = vs.map((v) => dot(q, v)).sort((a, b) => b - a);
              const best = sims[0] ?? -1;
              // A point with fewer aspects counts its weakest one again, so every point sums as many terms.
              if (score === 'aspects-top2') return best + (sims[1] ?? best);
              if (score === 'aspects-top3') return best + (sims[1] ?? best) + (sims[2] ?? sims[1] ?? best);
              if (score === 'text+aspect') return dot(q, whole[i]!) + best;
              return best;
            }),
          );
        },
        close: () => embedder.close(),
      };
    },
  };
}

/** BM25 over the whole texts, every point ranked (see the module comment). */
export const bm25Ranker: RankerFactory = {
  name: 'bm25',
  async create(corpus) {
    const docs = corpus.texts.map((t) => {
      const v = encodeDocument(t);
      return new Map(v.indices.map((idx, j) => [idx, v.values[j]!]));
    });
    const df = new Map<number, number>();
    for (const d of docs) for (const idx of d.keys()) df.set(idx, (df.get(idx) ?? 0) + 1);
    const n = docs.length;
    const idf = (idx: number) => {
      const m = df.get(idx) ?? 0;
      return Math.log(1 + (n - m + 0.5) / (m + 0.5));
    };
    const ranker: Ranker = {
      name: 'bm25',
      info: { encoder: 'src/adapters/sparse-text.ts', idf: 'ln(1 + (N - n + 0.5) / (n + 0.5))', bench_only: true },
      async scores(queries) {
        return queries.map((q) => {
          const terms = encodeQuery(q).indices.map((idx) => [idx, idf(idx)] as const);
          return docs.map((d) => terms.reduce((s, [idx, w]) => s + w * (d.get(idx) ?? 0), 0));
        });
      },
    };
    return ranker;
  },
};
