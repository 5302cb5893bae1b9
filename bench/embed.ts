/**
 * Embedding throughput of the bare model (no cache, no Kafka): texts/s and batch latency at batch
 * sizes 1, 8, 16, 32, 64, on a fixed corpus of snapshot-like texts (300–600 characters).
 *
 *   node --import tsx bench/embed.ts
 *
 * Environment (all optional):
 *   EMBEDDING_MODEL_PATH  model folder (default: the default model's folder under the stack, as the app resolves it)
 *   EMBEDDING_THREADS     onnxruntime intra-op threads (default: the number of CPUs)
 *   BENCH_FORWARD_PASS    comma list of per-batch, per-text (default both)
 *   BENCH_TEXTS           corpus size (default 128)
 *   BENCH_ROUNDS          measured rounds (default 3)
 *
 * Then the event-loop lag of the calling thread while batches embed (perf_hooks
 * monitorEventLoopDelay, 10 ms resolution): the model in-thread (per-text, the stage's forward pass
 * before inference moved to a worker; per-batch for scale) against the model in the worker thread
 * (what the stage runs). Each in a child process of its own: onnxruntime-node 1.21 must not run in
 * two threads of one process. BENCH_LAG_BATCH texts per batch (default 64 = BATCH_MAX_SIZE),
 * BENCH_LAG_ROUNDS batches (default 4).
 *
 * Every (mode, batch size) runs the whole corpus once per round, in an order rotated each round,
 * so a change of machine load during the run hits every configuration alike. Results are printed
 * absolute and as ratios against per-batch batch size 1 of the same run (other processes on a
 * shared host move absolute numbers; the ratios are what to compare between runs), and written to
 * bench/results/embed-<timestamp>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer } from '@huggingface/transformers';
import { hostInfo, intEnv, percentile, writeResults } from './support.js';
import { localStackModel } from '../src/config.js';
import { MODEL_ID } from '../src/stack/model.js';
import { createTransformersEmbedder, ONNX_FILE, type ForwardPass, type Inference, type TransformersEmbedder } from '../src/adapters/transformers-embedder.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BATCH_SIZES = [1, 8, 16, 32, 64] as const;


/** Small seeded PRNG (mulberry32) so the corpus is the same in every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOTES = [
  'Slept badly, woke up twice and felt groggy until lunch.',
  'Long walk by the river with my sister, felt much lighter afterwards.',
  'Deadline stress at work, skipped the gym again.',
  'Tried a new breathing exercise before bed; it helped me fall asleep.',
  'Argument with a friend, still thinking about it.',
  'Great yoga class, my back feels better.',
  'Too much coffee today, jittery and unfocused.',
  'Cooked dinner with the kids, a calm evening.',
];
const LEVELS = ['very low', 'low', 'moderate', 'good', 'excellent'];
const TYPES = ['cardio', 'strength', 'flexibility', 'mindfulness'];
const TAGS = ['sleep', 'work', 'family', 'exercise', 'stress', 'friends', 'food', 'weather'];

/** A text shaped like the aggregate stage's rendered snapshot (see src/pipeline/domain/render-text.ts). */
function snapshotText(rand: () => number, i: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const moods = 1 + Math.floor(rand() * 12);
  const sessions = Math.floor(rand() * 8);
  const day = 1 + Math.floor(rand() * 28);
  const parts = [
    `Wellbeing context for user u-${(10_000 + i * 7919) % 99_991}, 7 days to 2025-05-${String(day).padStart(2, '0')}, ${moods + sessions} events.`,
    `Moods: ${moods} logged, mean ${(1 + rand() * 4).toFixed(2)} (sd ${(rand() * 1.5).toFixed(2)}, range 1-5), trend ${rand() < 0.5 ? '-' : '+'}${(rand() * 0.6).toFixed(2)}/day, latest ${pick(LEVELS)}; levels ${LEVELS.filter(() => rand() < 0.5).map((l) => `${l} ${1 + Math.floor(rand() * 4)}`).join(', ') || 'good 1'}.`,
    sessions === 0
      ? 'Activity: none logged.'
      : `Activity: ${sessions} sessions, ${sessions * 25} min (${TYPES.filter(() => rand() < 0.6).map((t) => `${t} ${5 * Math.floor(rand() * 12)}`).join(', ') || 'cardio 25'}); intensity low ${Math.floor(rand() * 60)}, moderate ${Math.floor(rand() * 90)}; active ${Math.min(7, sessions)} days, streak ${Math.floor(rand() * 4)} days.`,
    `Top tags: ${TAGS.filter(() => rand() < 0.4).map((t) => `${t}(${1 + Math.floor(rand() * 5)})`).join(', ') || 'sleep(1)'}.`,
  ];
  const notes = NOTES.filter(() => rand() < 0.35).slice(0, 3);
  if (notes.length > 0) parts.push(`Recent notes: ${notes.map((n) => JSON.stringify(n)).join('; ')}.`);
  return parts.join(' ');
}

function corpus(n: number): string[] {
  const rand = prng(20250501);
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const text = snapshotText(rand, i);
    if (text.length >= 300 && text.length <= 600) out.push(text);
  }
  return out;
}


interface Cell {
  forwardPass: ForwardPass;
  batchSize: number;
  latenciesMs: number[];
  texts: number;
  totalMs: number;
}

const LAG_MODES: Array<{ label: string; inference: Inference; forwardPass: ForwardPass }> = [
  { label: 'in-thread per-text', inference: 'in-thread', forwardPass: 'per-text' },
  { label: 'in-thread per-batch', inference: 'in-thread', forwardPass: 'per-batch' },
  { label: 'worker per-text', inference: 'worker', forwardPass: 'per-text' },
];

interface LagResult {
  label: string;
  texts: number;
  textsPerSec: number;
  lagMs: { mean: number; p50: number; p99: number; max: number };
}

/** Child process: embeds BENCH_LAG_ROUNDS batches and reports the caller thread's event-loop delay. */
async function lagChild(modelPath: string, mode: (typeof LAG_MODES)[number]): Promise<void> {
  const threads = intEnv('EMBEDDING_THREADS', availableParallelism());
  const batch = corpus(intEnv('BENCH_LAG_BATCH', 64));
  const rounds = intEnv('BENCH_LAG_ROUNDS', 4);
  const e = await createTransformersEmbedder({ modelPath, threads, forwardPass: mode.forwardPass, inference: mode.inference });
  await e.embed(batch.slice(0, 8));
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) await e.embed(batch);
  const ms = performance.now() - t0;
  h.disable();
  await e.close();
  // The histogram counts the delay beyond the 10 ms sampling interval, in ns.
  const lag = (ns: number) => Math.max(0, ns / 1e6 - 10);
  const result: LagResult = {
    label: mode.label,
    texts: batch.length * rounds,
    textsPerSec: ((batch.length * rounds) / ms) * 1000,
    lagMs: { mean: lag(h.mean), p50: lag(h.percentile(50)), p99: lag(h.percentile(99)), max: lag(h.max) },
  };
  process.stdout.write(`LAG ${JSON.stringify(result)}\n`);
}

function measureLag(): LagResult[] {
  return LAG_MODES.map((mode) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_LAG_CHILD: mode.label },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('LAG '));
    if (r.status !== 0 || !line) throw new Error(`lag run "${mode.label}" failed: ${r.stderr}`);
    process.stderr.write(`lag ${mode.label} done\n`);
    return JSON.parse(line.slice(4)) as LagResult;
  });
}

async function main(): Promise<void> {
  const modelPath = resolve(process.env.EMBEDDING_MODEL_PATH || localStackModel() || join(ROOT, '.cache/stack/models', MODEL_ID));
  if (!existsSync(join(modelPath, ONNX_FILE))) {
    throw new Error(`no model at ${modelPath}: run \`aura-stream stack up\` or set EMBEDDING_MODEL_PATH`);
  }
  const child = LAG_MODES.find((m) => m.label === process.env.BENCH_LAG_CHILD);
  if (child) return lagChild(modelPath, child);
  const threads = intEnv('EMBEDDING_THREADS', availableParallelism());
  const modes = (process.env.BENCH_FORWARD_PASS || 'per-batch,per-text').split(',').map((m) => m.trim()) as ForwardPass[];
  if (!modes.includes('per-batch')) modes.unshift('per-batch'); // the baseline of the ratios
  const rounds = intEnv('BENCH_ROUNDS', 3);
  const texts = corpus(intEnv('BENCH_TEXTS', 128));

  const tokenizer = await AutoTokenizer.from_pretrained(modelPath, { local_files_only: true });
  const tokens = texts.map((t) => (tokenizer(t, {}) as { input_ids: { dims: number[] } }).input_ids.dims[1] as number);
  const chars = texts.map((t) => t.length);

  // The lag runs first, each in its own process, before this one loads the model in-thread.
  const lagRuns = measureLag();
  const fmt = (x: number, d = 1): string => x.toFixed(d);
  const lagBase = lagRuns[0] as LagResult;
  console.log(`\nevent-loop lag of the calling thread while embedding ${lagBase.texts} texts in batches of ${intEnv('BENCH_LAG_BATCH', 64)} (monitorEventLoopDelay, 10 ms resolution)`);
  console.log('inference             texts/s  ×in-thread   lag mean   p50 ms   p99 ms   max ms  max ×in-thread');
  for (const r of lagRuns) {
    console.log(
      `${r.label.padEnd(20)} ${fmt(r.textsPerSec).padStart(8)} ${fmt(r.textsPerSec / lagBase.textsPerSec, 2).padStart(11)} ${fmt(r.lagMs.mean).padStart(10)} ` +
        `${fmt(r.lagMs.p50).padStart(8)} ${fmt(r.lagMs.p99).padStart(8)} ${fmt(r.lagMs.max).padStart(8)} ${fmt(r.lagMs.max / lagBase.lagMs.max, 3).padStart(15)}`,
    );
  }

  const embedders = new Map<ForwardPass, TransformersEmbedder>();
  for (const mode of modes) embedders.set(mode, await createTransformersEmbedder({ modelPath, threads, forwardPass: mode, inference: 'in-thread' }));
  const first = embedders.get('per-batch') as TransformersEmbedder;

  // Warm-up: every configuration once on the first texts (allocator, thread pool, kernels).
  for (const [, e] of embedders) for (const bs of BATCH_SIZES) await e.embed(texts.slice(0, bs));

  const cells: Cell[] = modes.flatMap((forwardPass) => BATCH_SIZES.map((batchSize) => ({ forwardPass, batchSize, latenciesMs: [], texts: 0, totalMs: 0 })));
  const load = { before: loadavg(), after: [] as number[] };
  const started = Date.now();
  for (let round = 0; round < rounds; round++) {
    const order = cells.map((_, i) => cells[(i + round) % cells.length] as Cell);
    for (const cell of order) {
      const e = embedders.get(cell.forwardPass) as TransformersEmbedder;
      for (let i = 0; i < texts.length; i += cell.batchSize) {
        const batch = texts.slice(i, i + cell.batchSize);
        const t0 = performance.now();
        await e.embed(batch);
        const ms = performance.now() - t0;
        cell.latenciesMs.push(ms);
        cell.totalMs += ms;
        cell.texts += batch.length;
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  load.after = loadavg();

  const summary = cells.map((c) => {
    const sorted = [...c.latenciesMs].sort((a, b) => a - b);
    return {
      forwardPass: c.forwardPass,
      batchSize: c.batchSize,
      texts: c.texts,
      batches: c.latenciesMs.length,
      textsPerSec: (c.texts / c.totalMs) * 1000,
      latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) },
    };
  });
  const base = summary.find((s) => s.forwardPass === 'per-batch' && s.batchSize === 1) as (typeof summary)[number];
  const results = summary.map((s) => ({
    ...s,
    vsBatch1: {
      throughput: s.textsPerSec / base.textsPerSec,
      p50: s.latencyMs.p50 / base.latencyMs.p50,
      p95: s.latencyMs.p95 / base.latencyMs.p95,
      p99: s.latencyMs.p99 / base.latencyMs.p99,
    },
  }));

  const f = (x: number, d = 1): string => x.toFixed(d);
  console.log(
    `model ${first.modelId}@${first.modelVersion} (${first.dimension} dims), threads ${first.threads}, ${texts.length} texts ` +
      `(${Math.min(...chars)}–${Math.max(...chars)} chars, ${Math.min(...tokens)}–${Math.max(...tokens)} tokens, mean ${f(tokens.reduce((a, b) => a + b, 0) / tokens.length)}), ` +
      `${rounds} rounds, load avg ${load.before.map((x) => f(x, 2)).join('/')} → ${load.after.map((x) => f(x, 2)).join('/')} on ${availableParallelism()} CPUs`,
  );
  console.log('mode       batch  texts/s  ×bs1   p50 ms  ×bs1   p95 ms  ×bs1   p99 ms  ×bs1');
  for (const r of results) {
    console.log(
      `${r.forwardPass.padEnd(10)} ${String(r.batchSize).padStart(5)} ${f(r.textsPerSec).padStart(8)} ${f(r.vsBatch1.throughput, 2).padStart(5)} ` +
        `${f(r.latencyMs.p50).padStart(8)} ${f(r.vsBatch1.p50, 2).padStart(5)} ${f(r.latencyMs.p95).padStart(8)} ${f(r.vsBatch1.p95, 2).padStart(5)} ` +
        `${f(r.latencyMs.p99).padStart(8)} ${f(r.vsBatch1.p99, 2).padStart(5)}`,
    );
  }

  const file = writeResults('embed', new Date(started), {
    bench: 'embed',
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    host: hostInfo(load.before, load.after),
    model: { id: first.modelId, version: first.modelVersion, dimension: first.dimension, source: first.source, threads: first.threads },
    corpus: { texts: texts.length, chars: { min: Math.min(...chars), max: Math.max(...chars) }, tokens: { min: Math.min(...tokens), max: Math.max(...tokens) } },
    rounds,
    baseline: 'per-batch, batch size 1',
    results,
    eventLoopLag: { baseline: lagBase.label, runs: lagRuns },
  });
  console.log(`wrote ${file}`);
  for (const [, e] of embedders) await e.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
