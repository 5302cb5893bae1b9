/**
 * Retrieval quality of the snapshot text: do plain-language questions find the users they are
 * about? A labelled benchmark on a seeded workload, the real aggregate fold, the real text and the
 * real model.
 *
 *   npx tsx bench/retrieval.ts
 *
 * 1. The workload generator's events for BENCH_USERS users (BENCH_EVENTS_PER_USER each, seed
 *    BENCH_SEED) go through `aggregateBatch` (the aggregate stage's fold, late and duplicate
 *    records included); one point per user per UTC day is kept, the last snapshot of the day, as
 *    the vectorize stage stores it.
 * 2. Each point is embedded three ways: the old statistics text (bench/lib/legacy-text.ts), the
 *    plain-language text (src/pipeline/domain/render-text.ts), and the plain-language text as three aspect
 *    vectors (mood; activity; themes) scored by their best match (what Qdrant named vectors or
 *    separate points per aspect would give).
 * 3. Each query's ground truth is a predicate on the snapshot's statistics (never the text); a
 *    query is scored by precision@10 over all points and by its lift = precision@10 / base rate
 *    (the share of points with the trait).
 *
 * Environment (all optional): EMBEDDING_MODEL_PATH (default .cache/stack/models/all-MiniLM-L6-v2-q,
 * or AURA_STACK_DIR/models/…), EMBEDDING_THREADS (default 2), BENCH_USERS (100),
 * BENCH_EVENTS_PER_USER (40), BENCH_SEED (retrieval), BENCH_ASPECTS (1; 0 skips the aspect
 * vectors). Writes bench/results/retrieval-<time>.json.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer } from '@huggingface/transformers';
import { pointId } from '../src/contracts/ids.js';
import type { ContextAggregated } from '../src/contracts/snapshot.js';
import type { UserWindow } from '../src/contracts/window.js';
import { createTransformersEmbedder } from '../src/adapters/transformers-embedder.js';
import { aggregateBatch, type AggregateInput } from '../test/oracles/aggregate-batch.js';
import { renderAspects } from '../src/pipeline/index.js';
import { generateEvents } from '../src/workload/index.js';
import { ALMOST_DAILY_SHARE, DOMINANT_SHARE, INTENSITY_SHARE, MIN_SCORED_MOODS, MOOD_GOOD_MIN, MOOD_LOW_MAX, RARELY_SHARE, THEME_LEXICON, THEME_MIN_MENTIONS, THEME_MIN_MOOD_SHARE, TREND_MIN_PER_DAY, VARIABLE_SD_MIN } from '../src/pipeline/domain/snapshot-facts.js';
import { renderLegacyText } from './lib/legacy-text.js';
import { hostInfo, intEnv, writeResults } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const K = 10;
const START_MS = Date.parse('2026-01-05T00:00:00.000Z');

type Trait = (s: ContextAggregated) => boolean;

const scored = (s: ContextAggregated) => s.mood.count - (s.mood.distribution['unknown'] ?? 0);
const typeShare = (s: ContextAggregated, type: string) => (s.activity.total_minutes > 0 ? (s.activity.minutes_by_type[type] ?? 0) / s.activity.total_minutes : 0);
const intensityShare = (s: ContextAggregated, level: string) => {
  const m = s.activity.minutes_by_intensity;
  const known = (m['low'] ?? 0) + (m['moderate'] ?? 0) + (m['high'] ?? 0);
  return known > 0 ? (m[level] ?? 0) / known : 0;
};
/**
 * A recurring theme: the moods tagged with it (top_tags) plus the recent notes naming it (the
 * documented lexicon), at least 2 and at least 20 % of the moods.
 */
const theme = (tag: string): Trait => (s) => {
  const tagged = s.mood.top_tags.find((t) => t.tag === tag)?.count ?? 0;
  const pattern = THEME_LEXICON[tag];
  const noted = pattern ? s.recent_notes.filter((n) => pattern.test(n)).length : 0;
  return tagged + noted >= Math.max(THEME_MIN_MENTIONS, THEME_MIN_MOOD_SHARE * s.mood.count);
};

/** The queries: what a caller would ask, and the statistics that make a point relevant. */
const QUERIES: Array<{ aspect: string; query: string; truth: string; trait: Trait }> = [
  { aspect: 'mood level', query: 'feeling low most of the time', truth: `mood mean <= ${MOOD_LOW_MAX}`, trait: (s) => s.mood.mean !== null && s.mood.mean <= MOOD_LOW_MAX },
  { aspect: 'mood level', query: 'in a good mood most days', truth: `mood mean >= ${MOOD_GOOD_MIN}`, trait: (s) => s.mood.mean !== null && s.mood.mean >= MOOD_GOOD_MIN },
  {
    aspect: 'direction',
    query: 'mood getting worse',
    truth: `>= ${MIN_SCORED_MOODS} scored moods, trend <= -${TREND_MIN_PER_DAY}/day`,
    trait: (s) => scored(s) >= MIN_SCORED_MOODS && s.mood.trend_per_day !== null && s.mood.trend_per_day <= -TREND_MIN_PER_DAY,
  },
  {
    aspect: 'direction',
    query: 'mood improving',
    truth: `>= ${MIN_SCORED_MOODS} scored moods, trend >= +${TREND_MIN_PER_DAY}/day`,
    trait: (s) => scored(s) >= MIN_SCORED_MOODS && s.mood.trend_per_day !== null && s.mood.trend_per_day >= TREND_MIN_PER_DAY,
  },
  {
    aspect: 'variability',
    query: 'mood swings',
    truth: `>= ${MIN_SCORED_MOODS} scored moods, sd >= ${VARIABLE_SD_MIN}`,
    trait: (s) => scored(s) >= MIN_SCORED_MOODS && (s.mood.stddev ?? 0) >= VARIABLE_SD_MIN,
  },
  ...['cardio', 'strength', 'flexibility', 'mindfulness'].map((type) => ({
    aspect: 'activity type',
    query: `mostly ${type}`,
    truth: `${type} >= ${DOMINANT_SHARE * 100}% of minutes`,
    trait: (s: ContextAggregated) => typeShare(s, type) >= DOMINANT_SHARE,
  })),
  { aspect: 'intensity', query: 'hard, intense workouts', truth: `high >= ${INTENSITY_SHARE * 100}% of minutes`, trait: (s) => intensityShare(s, 'high') >= INTENSITY_SHARE },
  { aspect: 'intensity', query: 'gentle, easy sessions', truth: `low >= ${INTENSITY_SHARE * 100}% of minutes`, trait: (s) => intensityShare(s, 'low') >= INTENSITY_SHARE },
  {
    aspect: 'consistency',
    query: 'active almost every day',
    truth: `active days >= ${(ALMOST_DAILY_SHARE * 7).toFixed(0)} of 7`,
    trait: (s) => s.activity.active_days >= ALMOST_DAILY_SHARE * s.window_days,
  },
  {
    aspect: 'consistency',
    query: 'rarely active, little exercise',
    truth: `active days <= ${(RARELY_SHARE * 7).toFixed(0)} of 7`,
    trait: (s) => s.activity.active_days <= RARELY_SHARE * s.window_days,
  },
  ...['sleep', 'work', 'stress', 'family'].map((t) => ({ aspect: 'theme', query: t, truth: `theme ${t}: tags + notes >= 2 and >= 20% of moods`, trait: theme(t) })),
];

/** The seeded workload through the real fold; the last snapshot of each (user, UTC day). */
export function benchPoints(users: number, eventsPerUser: number, seed: string): ContextAggregated[] {
  const inputs: AggregateInput[] = [];
  for (const r of generateEvents({ seed, users, events: users * eventsPerUser, startMs: START_MS, poisonFraction: 0 })) {
    if (r.event === undefined) continue;
    inputs.push({ position: { topic: 'bench.user.events', partition: 0, offset: String(r.index), timestamp: r.timestampMs }, key: r.key, event: r.event });
  }
  const windows = new Map<string, UserWindow>();
  const result = aggregateBatch(inputs, (u) => windows.get(u), { windowDays: 7, maxEvents: 512, aggregatorVersion: 'bench' });
  const byPoint = new Map<string, ContextAggregated>();
  for (const { snapshot } of result.snapshots) byPoint.set(pointId(snapshot.user_id, snapshot.window_end), snapshot);
  return [...byPoint.values()];
}

function modelPath(): string {
  const fromEnv = process.env['EMBEDDING_MODEL_PATH'];
  if (fromEnv) return resolve(fromEnv);
  const stack = process.env['AURA_STACK_DIR'] ? resolve(process.env['AURA_STACK_DIR']) : join(ROOT, '.cache', 'stack');
  const dir = join(stack, 'models', 'all-MiniLM-L6-v2-q');
  if (!existsSync(dir)) throw new Error(`no model at ${dir}: run \`node bin/aura-stream.js stack up\` or set EMBEDDING_MODEL_PATH`);
  return dir;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

interface QueryResult {
  precision: number;
  lift: number;
}

/** precision@K and lift of one ranking; ties broken by point index so runs are repeatable. */
function evaluate(scores: number[], relevant: boolean[]): QueryResult {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const hits = order.slice(0, K).filter(([, i]) => relevant[i]).length;
  const base = relevant.filter(Boolean).length / relevant.length;
  const precision = hits / K;
  return { precision, lift: base > 0 ? precision / base : 0 };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = loadavg();
  const users = intEnv('BENCH_USERS', 100);
  const perUser = intEnv('BENCH_EVENTS_PER_USER', 40);
  const seed = process.env['BENCH_SEED'] || 'retrieval';
  const withAspects = process.env['BENCH_ASPECTS'] !== '0';
  const folder = modelPath();

  const points = benchPoints(users, perUser, seed);
  const oldTexts = points.map((s) => renderLegacyText(s));
  const newTexts = points.map((s) => s.text);
  const aspects = points.map((s) => renderAspects(s));

  const tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
  const tokens = (t: string) => (tokenizer.encode(t) as number[]).length;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const oldTokens = mean(oldTexts.map(tokens));
  const newTokens = mean(newTexts.map(tokens));
  console.log(`${points.length} points (${users} users × days), seed ${seed}`);
  console.log(`tokens per text (with [CLS]/[SEP]): old ${oldTokens.toFixed(1)}, new ${newTokens.toFixed(1)} (${((100 * newTokens) / oldTokens).toFixed(0)}%)`);

  const embedder = await createTransformersEmbedder({ modelPath: folder, threads: intEnv('EMBEDDING_THREADS', 2) });
  const embedAll = async (texts: string[]): Promise<{ vectors: Map<string, Float32Array>; seconds: number }> => {
    const distinct = [...new Set(texts.filter((t) => t !== ''))];
    const vectors = new Map<string, Float32Array>();
    const t0 = performance.now();
    for (let i = 0; i < distinct.length; i += 64) {
      const chunk = distinct.slice(i, i + 64);
      const out = await embedder.embed(chunk);
      chunk.forEach((t, j) => vectors.set(t, out[j]!));
    }
    return { vectors, seconds: (performance.now() - t0) / 1000 };
  };
  const oldEmb = await embedAll(oldTexts);
  console.log(`embedded ${oldEmb.vectors.size} distinct old texts in ${oldEmb.seconds.toFixed(1)} s (${(oldEmb.vectors.size / oldEmb.seconds).toFixed(1)}/s)`);
  const newEmb = await embedAll(newTexts);
  console.log(`embedded ${newEmb.vectors.size} distinct new texts in ${newEmb.seconds.toFixed(1)} s (${(newEmb.vectors.size / newEmb.seconds).toFixed(1)}/s)`);
  const aspectEmb = withAspects ? await embedAll(aspects.flatMap((a) => [a.mood, a.activity, a.notes])) : undefined;
  if (aspectEmb) console.log(`embedded ${aspectEmb.vectors.size} distinct aspect texts in ${aspectEmb.seconds.toFixed(1)} s`);
  const queryVectors = await embedder.embed(QUERIES.map((q) => q.query));
  await embedder.close();

  const rows = QUERIES.map((q, qi) => {
    const qv = queryVectors[qi]!;
    const relevant = points.map(q.trait);
    const oldScores = oldTexts.map((t) => dot(qv, oldEmb.vectors.get(t)!));
    const newScores = newTexts.map((t) => dot(qv, newEmb.vectors.get(t)!));
    const aspectScores = aspectEmb
      ? aspects.map((a) => Math.max(...[a.mood, a.activity, a.notes].filter((t) => t !== '').map((t) => dot(qv, aspectEmb.vectors.get(t)!))))
      : undefined;
    return {
      aspect: q.aspect,
      query: q.query,
      truth: q.truth,
      positives: relevant.filter(Boolean).length,
      base_rate: relevant.filter(Boolean).length / points.length,
      old: evaluate(oldScores, relevant),
      new: evaluate(newScores, relevant),
      ...(aspectScores && { aspects: evaluate(aspectScores, relevant) }),
    };
  });

  const pad = (s: string, n: number) => s.padEnd(n).slice(0, n);
  console.log(`\n${pad('query', 34)} ${pad('base', 6)} ${pad('old p@10', 9)} ${pad('old lift', 9)} ${pad('new p@10', 9)} ${pad('new lift', 9)}${aspectEmb ? ' aspects p@10  lift' : ''}`);
  for (const r of rows) {
    console.log(
      `${pad(r.query, 34)} ${pad(r.base_rate.toFixed(2), 6)} ${pad(r.old.precision.toFixed(1), 9)} ${pad(r.old.lift.toFixed(2), 9)} ${pad(r.new.precision.toFixed(1), 9)} ${pad(r.new.lift.toFixed(2), 9)}` +
        (r.aspects ? ` ${pad(r.aspects.precision.toFixed(1), 13)} ${r.aspects.lift.toFixed(2)}` : ''),
    );
  }
  const summary = (pick: (r: (typeof rows)[number]) => QueryResult | undefined) => {
    const rs = rows.map(pick).filter((x): x is QueryResult => x !== undefined);
    return { mean_precision_at_10: mean(rs.map((r) => r.precision)), mean_lift: mean(rs.map((r) => r.lift)), min_lift: Math.min(...rs.map((r) => r.lift)) };
  };
  const old = summary((r) => r.old);
  const now = summary((r) => r.new);
  const asp = aspectEmb ? summary((r) => r.aspects) : undefined;
  console.log(`${pad('mean', 34)} ${pad('', 6)} ${pad(old.mean_precision_at_10.toFixed(2), 9)} ${pad(old.mean_lift.toFixed(2), 9)} ${pad(now.mean_precision_at_10.toFixed(2), 9)} ${pad(now.mean_lift.toFixed(2), 9)}${asp ? ` ${pad(asp.mean_precision_at_10.toFixed(2), 13)} ${asp.mean_lift.toFixed(2)}` : ''}`);
  console.log(`min lift: old ${old.min_lift.toFixed(2)}, new ${now.min_lift.toFixed(2)}${asp ? `, aspects ${asp.min_lift.toFixed(2)}` : ''}`);

  const file = writeResults('retrieval', startedAt, {
    retrieval_mean_precision_at_10: now.mean_precision_at_10,
    retrieval_min_lift: now.min_lift,
    k: K,
    points: points.length,
    users,
    events_per_user: perUser,
    seed,
    tokens: { old: oldTokens, new: newTokens },
    embed_texts_per_second: { old: oldEmb.vectors.size / oldEmb.seconds, new: newEmb.vectors.size / newEmb.seconds },
    summary: { old, new: now, ...(asp && { aspects: asp }) },
    queries: rows,
    host: hostInfo(load),
  });
  console.log(`\nwrote ${file}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
