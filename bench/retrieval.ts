/**
 * Retrieval quality: do questions people really ask find the points they are about?
 *
 *   npx tsx bench/retrieval.ts
 *
 * Data. The workload generator (what `aura-stream produce` sends) for BENCH_USERS users and
 * BENCH_EVENTS_PER_USER events each goes through `aggregateBatch`, the aggregate stage's own fold
 * (late and duplicate records included); one point per user per UTC day is kept, the day's last
 * snapshot, as the vectorize stage stores it. Its `text` is the rendered text the index holds.
 *
 * Questions. bench/lib/retrieval-questions.ts: 20 families, 6 wordings each, split once into a
 * tuning half and a held-out half, truth a predicate over the payload statistics (never the text).
 * A wording is scored by precision@10 over all points; a family's precision is the mean of its
 * wordings in a half, its lift = precision / base rate (share of points with the trait). Choose
 * text, model and fusion on the tuning half; the held-out half is what the targets apply to
 * (held-out mean precision@10 ≥ 0.85, every family's held-out lift ≥ 2).
 *
 * Rankings are pluggable. A `RankerFactory` gets the corpus (points and their texts) once and
 * returns a `Ranker` whose `scores(queries)` gives one score per point per query (higher is
 * better; ties are broken by point index). Every entry of `RANKERS` is measured on the same
 * points and questions and reported side by side. To add one (sparse/BM25, or a fusion of dense
 * and sparse), write a factory and add it to `RANKERS` (select with BENCH_RANKERS); `denseRanker`
 * shows the shape, and `fuseRrf` combines rankers by reciprocal rank fusion.
 * `storeRanker` (bench/lib/hybrid-rankers.ts) measures `sparse:<store>` and
 * `hybrid:<store>:<model>` through the stores' own search (LanceDB, and Qdrant's engine behind its
 * test shim), top 10 per question, the way `aura-stream search` ranks with RETRIEVAL_MODE.
 * BENCH-ONLY, shipped by no store: `aspects-max|aspects-top2|aspects-top3|text+aspect|aspects3-max:<model>`
 * (one vector per aspect sentence of a text), `bm25` (in-process, every point ranked) and their
 * `rrf:…+bm25` fusions (bench/lib/aspect-rankers.ts).
 *
 * Environment (all optional): BENCH_USERS (400), BENCH_EVENTS_PER_USER (30), BENCH_SEED
 * (retrieval), EMBEDDING_THREADS (2), BENCH_MODELS (comma-separated model folders or folder names
 * under AURA_STACK_DIR/models; default every known model found there), BENCH_RANKERS
 * (comma-separated ranker names; default all), BENCH_HALF (`tuning` runs the tuning half alone;
 * with BENCH_WORDINGS=1 it also prints each tuning wording's precision). Writes bench/results/retrieval-<time>.json with
 * `retrieval_heldout_mean_precision_at_10`, `retrieval_heldout_min_lift` and
 * `retrieval_tuning_mean_precision_at_10` of the adopted ranking (BENCH_ADOPTED, default the first
 * ranker) at the top, and every ranker's per-family figures under `rankers`.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContextAggregated } from '../src/contracts/snapshot.js';
import { createTransformersEmbedder } from '../src/adapters/transformers-embedder.js';
import { ASPECT_SCORES, aspectRanker, bm25Ranker } from './lib/aspect-rankers.js';
import { documentVectors, storeRanker } from './lib/hybrid-rankers.js';
import { interpretedRanker } from './lib/interpreted-ranker.js';
import { dot, type Corpus, type Ranker, type RankerFactory } from './lib/ranker.js';
import { FAMILIES, type QuestionFamily } from './lib/retrieval-questions.js';
import { foldedPoints } from './lib/user-history.js';
import { hostInfo, intEnv, writeResults } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const K = 10;
/** Model folders under <stack>/models the benchmark knows, in the order they are reported. */
const KNOWN_MODELS = ['bge-small-en-v1.5-q', 'all-MiniLM-L6-v2-q'];

export type { Corpus, Ranker, RankerFactory };

/** The seeded workload through the real fold; the last snapshot of each (user, UTC day). */
export function benchPoints(users: number, eventsPerUser: number, seed: string): ContextAggregated[] {
  return foldedPoints({ seed, users, events: users * eventsPerUser });
}

function stackModels(): string {
  return join(process.env['AURA_STACK_DIR'] ? resolve(process.env['AURA_STACK_DIR']) : join(ROOT, '.cache', 'stack'), 'models');
}

/** The model folders to measure: BENCH_MODELS, or every known model the stack has laid out. */
function modelFolders(): string[] {
  const listed = (process.env['BENCH_MODELS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (listed.length > 0) return listed.map((m) => (isAbsolute(m) || m.includes('/') ? resolve(m) : join(stackModels(), m)));
  const found = KNOWN_MODELS.map((m) => join(stackModels(), m)).filter((dir) => existsSync(dir));
  if (found.length === 0) throw new Error(`no model under ${stackModels()}: run \`node bin/aura-stream.js stack up\` or set BENCH_MODELS`);
  return found;
}

/**
 * Dense ranking by cosine similarity with one embedding model (vectors are unit length): documents
 * through `embed`, questions through `embedQueries` (which adds the model's query prefix, if any).
 */
export function denseRanker(folder: string, threads: number): RankerFactory {
  const name = `dense:${basename(folder)}`;
  return {
    name,
    async create(corpus) {
      const embedder = await createTransformersEmbedder({ modelPath: folder, threads });
      const distinct = [...new Set(corpus.texts)];
      const t0 = performance.now();
      // Shared with the other rankers of the run: texts/s is measured by the first ranker that embeds them.
      const vectors = await documentVectors(embedder, folder, distinct);
      const seconds = (performance.now() - t0) / 1000;
      console.log(`${name}: embedded ${distinct.length} distinct texts in ${seconds.toFixed(1)} s (${(distinct.length / seconds).toFixed(1)} texts/s)`);
      const docs = corpus.texts.map((t) => vectors.get(t)!);
      return {
        name,
        info: { model_id: embedder.modelId, texts: distinct.length, texts_per_second: distinct.length / seconds, threads },
        async scores(queries) {
          const qv = await embedder.embedQueries([...queries]);
          return qv.map((q) => docs.map((d) => dot(q, d)));
        },
        close: () => embedder.close(),
      };
    },
  };
}

/** Reciprocal rank fusion of rankers (score = Σ 1 / (k + rank)), for hybrid variants. */
export function fuseRrf(name: string, parts: readonly RankerFactory[], k = 60): RankerFactory {
  return {
    name,
    async create(corpus) {
      const rankers = await Promise.all(parts.map((p) => p.create(corpus)));
      return {
        name,
        async scores(queries) {
          const all = await Promise.all(rankers.map((r) => r.scores(queries)));
          return queries.map((_, qi) => {
            const fused = new Array<number>(corpus.points.length).fill(0);
            for (const rows of all) {
              const order = rows[qi]!.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
              order.forEach(([, i], rank) => (fused[i]! += 1 / (k + rank + 1)));
            }
            return fused;
          });
        },
        close: async () => void (await Promise.all(rankers.map(async (r) => r.close?.()))),
      };
    },
  };
}

/** precision@K of one ranking; ties broken by point index so runs are repeatable. */
function precisionAtK(scores: readonly number[], relevant: readonly boolean[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return order.slice(0, K).filter(([, i]) => relevant[i]).length / K;
}

/**
 * BENCH_HALF=tuning: only the tuning wordings are run and reported (the held-out figures print as
 * NaN and are not written), so whoever is choosing never sees the held-out half.
 */
const TUNING_ONLY = process.env['BENCH_HALF'] === 'tuning';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

interface HalfResult {
  precision_at_10: number;
  lift: number;
  wordings: Array<{ query: string; precision_at_10: number }>;
}
interface FamilyResult {
  family: string;
  aspect: string;
  truth: string;
  positives: number;
  base_rate: number;
  tuning: HalfResult;
  held_out: HalfResult;
}

async function measure(ranker: Ranker, points: readonly ContextAggregated[], relevant: Map<string, boolean[]>): Promise<FamilyResult[]> {
  const queries = FAMILIES.flatMap((f) => [...f.tuning, ...(TUNING_ONLY ? [] : f.heldOut)]);
  const scores = await ranker.scores(queries);
  const byQuery = new Map(queries.map((q, i) => [q, scores[i]!]));
  const half = (f: QuestionFamily, wordings: readonly string[], base: number): HalfResult => {
    const rel = relevant.get(f.id)!;
    const rows = wordings.map((q) => ({ query: q, precision_at_10: precisionAtK(byQuery.get(q)!, rel) }));
    const precision = mean(rows.map((r) => r.precision_at_10));
    return { precision_at_10: precision, lift: base > 0 ? precision / base : 0, wordings: rows };
  };
  return FAMILIES.map((f) => {
    const positives = relevant.get(f.id)!.filter(Boolean).length;
    const base = positives / points.length;
    const held_out = TUNING_ONLY ? { precision_at_10: NaN, lift: NaN, wordings: [] } : half(f, f.heldOut, base);
    return { family: f.id, aspect: f.aspect, truth: f.truth, positives, base_rate: base, tuning: half(f, f.tuning, base), held_out };
  });
}

function summary(rows: readonly FamilyResult[]) {
  return {
    tuning_mean_precision_at_10: mean(rows.map((r) => r.tuning.precision_at_10)),
    tuning_min_lift: Math.min(...rows.map((r) => r.tuning.lift)),
    heldout_mean_precision_at_10: mean(rows.map((r) => r.held_out.precision_at_10)),
    heldout_min_lift: Math.min(...rows.map((r) => r.held_out.lift)),
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = loadavg();
  const users = intEnv('BENCH_USERS', 400);
  const perUser = intEnv('BENCH_EVENTS_PER_USER', 30);
  const seed = process.env['BENCH_SEED'] || 'retrieval';
  const threads = intEnv('EMBEDDING_THREADS', 2);

  const points = benchPoints(users, perUser, seed);
  const corpus: Corpus = { points, texts: points.map((s) => s.text) };
  const relevant = new Map(FAMILIES.map((f) => [f.id, points.map(f.trait)]));
  console.log(`${points.length} points (${users} users × days), seed ${seed}, ${new Set(corpus.texts).size} distinct texts`);

  const folders = modelFolders();
  const RANKERS: RankerFactory[] = [
    ...folders.map((folder) => denseRanker(folder, threads)),
    // The shipped query path with the query interpreter (bench/lib/interpreted-ranker.ts): searchContext over LanceDB.
    ...folders.map((folder) => interpretedRanker(folder, threads)),
    // Words and fused rankings through the shipped search path of both stores (bench/lib/hybrid-rankers.ts):
    // what RETRIEVAL_MODE=sparse|hybrid runs; the dense side of a fusion is the first model's.
    storeRanker('lancedb', 'sparse', folders[0]!, threads),
    storeRanker('qdrant', 'sparse', folders[0]!, threads),
    ...folders.flatMap((folder) => [storeRanker('lancedb', 'hybrid', folder, threads), storeRanker('qdrant', 'hybrid', folder, threads)]),
    // Bench-only (bench/lib/aspect-rankers.ts): per-aspect vectors, and an in-process BM25 ranking every
    // point so it can be fused with them over full rankings. No store ships these.
    ...folders.flatMap((folder) => ASPECT_SCORES.map((score) => aspectRanker(folder, threads, score))),
    bm25Ranker,
    ...folders.flatMap((folder) => {
      const model = basename(folder);
      return [
        fuseRrf(`rrf:dense+bm25:${model}`, [denseRanker(folder, threads), bm25Ranker]),
        ...ASPECT_SCORES.map((score) => fuseRrf(`rrf:${score}+bm25:${model}`, [aspectRanker(folder, threads, score), bm25Ranker])),
      ];
    }),
  ];
  const wanted = (process.env['BENCH_RANKERS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const selected = wanted.length > 0 ? RANKERS.filter((r) => wanted.includes(r.name)) : RANKERS;
  if (selected.length === 0) throw new Error(`BENCH_RANKERS matched none of ${RANKERS.map((r) => r.name).join(', ')}`);

  const results: Record<string, { info?: Record<string, unknown>; summary: ReturnType<typeof summary>; families: FamilyResult[] }> = {};
  for (const factory of selected) {
    const ranker = await factory.create(corpus);
    try {
      const rows = await measure(ranker, points, relevant);
      results[factory.name] = { ...(ranker.info && { info: ranker.info }), summary: summary(rows), families: rows };
    } finally {
      await ranker.close?.();
    }
  }

  const pad = (s: string, n: number) => s.padEnd(n).slice(0, n);
  const names = Object.keys(results);
  console.log(`\n${pad('family', 24)} ${pad('base', 5)} ${names.map((n) => pad(`${n.replace(/^dense:/, '')} tune/held p@10 (held lift)`, 44)).join(' ')}`);
  FAMILIES.forEach((f, i) => {
    const cells = names.map((n) => {
      const r = results[n]!.families[i]!;
      return pad(`${r.tuning.precision_at_10.toFixed(2)} / ${r.held_out.precision_at_10.toFixed(2)} (${r.held_out.lift.toFixed(1)})`, 44);
    });
    console.log(`${pad(f.id, 24)} ${pad(results[names[0]!]!.families[i]!.base_rate.toFixed(2), 5)} ${cells.join(' ')}`);
  });
  if (TUNING_ONLY && process.env['BENCH_WORDINGS'] === '1') {
    // Per wording, tuning half only: what a tuning run needs to see which kinds of words are missing.
    for (const n of names) for (const r of results[n]!.families) for (const w of r.tuning.wordings) console.log(`${pad(n, 36)} ${pad(r.family, 22)} ${w.precision_at_10.toFixed(1)}  ${w.query}`);
  }
  for (const n of names) {
    const s = results[n]!.summary;
    console.log(
      `${n}: tuning mean p@10 ${s.tuning_mean_precision_at_10.toFixed(3)} (min lift ${s.tuning_min_lift.toFixed(2)}), ` +
        `held-out mean p@10 ${s.heldout_mean_precision_at_10.toFixed(3)} (min lift ${s.heldout_min_lift.toFixed(2)})`,
    );
  }

  const adopted = process.env['BENCH_ADOPTED'] && results[process.env['BENCH_ADOPTED']] ? process.env['BENCH_ADOPTED'] : names[0]!;
  const top = results[adopted]!.summary;
  const file = writeResults('retrieval', startedAt, {
    retrieval_heldout_mean_precision_at_10: top.heldout_mean_precision_at_10,
    retrieval_heldout_min_lift: top.heldout_min_lift,
    retrieval_tuning_mean_precision_at_10: top.tuning_mean_precision_at_10,
    adopted,
    k: K,
    points: points.length,
    distinct_texts: new Set(corpus.texts).size,
    users,
    events_per_user: perUser,
    seed,
    rankers: results,
    host: hostInfo(load),
  });
  console.log(`\nadopted ${adopted}; wrote ${file}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
