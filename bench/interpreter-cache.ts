/**
 * What the interpreter's description cache saves a `search` command: `aura-stream search "<question>"`
 * as a new process per call, with no cache (cold: <STATE_DIR>/cache/interpreter removed before the
 * call, so the ~230 concept descriptions are embedded) against a cache the previous call wrote
 * (warm), alternating in one run on the same index.
 *
 *   npx tsx bench/interpreter-cache.ts
 *
 * - Index: BENCH_USERS (20) users × BENCH_DAYS (30) days of the seeded workload, every text embedded
 *   with the real model, written as the vectorize stage writes (the model's version collection
 *   behind the alias) into an embedded LanceDB under a temporary STATE_DIR.
 * - Calls: BENCH_RUNS (7) pairs of cold and warm calls of `search QUESTION --limit 5 --json`, one
 *   process each, one after the other. The warm call's output must equal the cold call's, and the
 *   warm call must leave the cache file as it found it (read, not rewritten).
 * - Reports the median wall time of each, the saving and warm/cold.
 *
 * Environment (all optional): BENCH_USERS, BENCH_DAYS, BENCH_RUNS, EMBEDDING_MODEL_PATH (default:
 * EMBEDDING_MODEL's folder in the local stack, bge-small). Writes bench/results/interpreter-cache-<time>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { descriptionCacheDir } from '../src/adapters/file-description-cache.js';
import { createTransformersEmbedder } from '../src/adapters/transformers-embedder.js';
import { createVectorStore, indexVersionOf, openWriterIndex } from '../src/cli/index-versions.js';
import { loadConfig } from '../src/config.js';
import { historyPoint, userHistory } from './lib/user-history.js';
import { hostInfo, intEnv, percentile, stageModelPath, writeResults } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'aura-stream.js');
const QUESTION = 'stressed about work and not sleeping';

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = loadavg();
  const runs = intEnv('BENCH_RUNS', 7);
  const model = stageModelPath();
  const stateDir = mkdtempSync(join(tmpdir(), 'aura-bench-interpreter-cache-'));
  const env = { ...process.env, STATE_DIR: stateDir, VECTOR_COLLECTION: 'bench_context', EMBEDDING_MODEL_PATH: model, EMBEDDING_THREADS: '2', LOG_LEVEL: 'warn', QDRANT_URL: '' };
  const config = loadConfig(env);
  const cacheDir = descriptionCacheDir(stateDir);
  try {
    const snapshots = userHistory({ seed: 'bench-interpreter-cache', users: intEnv('BENCH_USERS', 20), days: intEnv('BENCH_DAYS', 30), eventsPerUserDay: 3 });
    const embedder = await createTransformersEmbedder({ modelPath: model, threads: 2 });
    const store = createVectorStore(config);
    const writer = await openWriterIndex(store, indexVersionOf(embedder), embedder.dimension);
    for (let i = 0; i < snapshots.length; i += 64) {
      const chunk = snapshots.slice(i, i + 64);
      const vectors = await embedder.embed(chunk.map((s) => s.text));
      await writer.sink.upsert(chunk.map((s, j) => historyPoint(s, vectors[j]!, embedder, i + j)));
    }
    console.log(`${await writer.sink.count()} points indexed with ${embedder.modelId}`);
    await writer.sink.close();
    await store.close();
    await embedder.close();

    const call = (): { ms: number; stdout: string; stderr: string } => {
      const t = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'search', QUESTION, '--limit', '5', '--json'], { env, encoding: 'utf8' });
      const ms = performance.now() - t;
      if (r.status !== 0 || r.stdout.trim() === '') throw new Error(`search failed (exit ${r.status}): ${r.stderr}`);
      return { ms, stdout: r.stdout, stderr: r.stderr };
    };
    const cacheFile = () => {
      const files = existsSync(cacheDir) ? readdirSync(cacheDir) : [];
      if (files.length !== 1) throw new Error(`expected one cache file in ${cacheDir}, found ${JSON.stringify(files)}`);
      return statSync(join(cacheDir, files[0]!));
    };
    call(); // warms the OS file cache (model, sources) for both kinds of call alike
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) {
      rmSync(cacheDir, { recursive: true, force: true });
      const c = call();
      const written = cacheFile();
      const w = call();
      if (w.stdout !== c.stdout || w.stderr !== c.stderr) throw new Error(`the warm call answered differently:\ncold ${c.stderr}${c.stdout}\nwarm ${w.stderr}${w.stdout}`);
      if (cacheFile().mtimeMs !== written.mtimeMs) throw new Error('the warm call rewrote the cache file instead of reading it');
      cold.push(c.ms);
      warm.push(w.ms);
      console.log(`run ${i + 1}: cold ${c.ms.toFixed(0)} ms, warm ${w.ms.toFixed(0)} ms`);
    }
    const coldMs = median(cold);
    const warmMs = median(warm);
    console.log(`\n\`search "${QUESTION}"\` (new process per call), median of ${runs}: cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(0)} ms; saves ${(coldMs - warmMs).toFixed(0)} ms, warm/cold ${(warmMs / coldMs).toFixed(2)}`);
    const file = writeResults('interpreter-cache', startedAt, {
      question: QUESTION,
      model: model.split('/').at(-1),
      points: snapshots.length,
      runs,
      cold_ms: cold,
      warm_ms: warm,
      cold_median_ms: coldMs,
      warm_median_ms: warmMs,
      saved_ms: coldMs - warmMs,
      warm_over_cold: warmMs / coldMs,
      host: hostInfo(load),
    });
    console.log(`wrote ${file}`);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
