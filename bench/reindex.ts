/**
 * Reindex throughput: the copy phase of `aura-stream reindex` (src/cli/reindex.ts copyVersion: read
 * the current version, re-render every text from its statistics, embed with the new model through
 * the embedding cache, upsert with the erasure guard, checkpoint per chunk) against the bare model
 * embedding the same texts in the same chunks (one forward pass per distinct text of a chunk, as
 * the reindex does), in the same run, on the same machine. The catch-up phase is the vectorize
 * topology (bench/vectorize.ts measures it).
 *
 *   node --import tsx bench/reindex.ts
 *
 * Environment (all optional):
 *   BENCH_POINTS          points in the current version (default 20000), one user each, so no text
 *                         is served from the cache across chunks (the bare model gets no cache either)
 *   BENCH_CHUNK           points per copy chunk (default 64, the CLI's default)
 *   EMBEDDING_MODEL_PATH  the new model (default the local stack's bge-small-en-v1.5-q folder)
 *   EMBEDDING_THREADS     onnxruntime intra-op threads (default: the number of CPUs)
 *
 * Pairing: every chunk the reindex sends to the model is first embedded once more by the bare model
 * (the same texts, one forward pass per distinct text of the chunk, as the reindex does), timed on
 * its own, right before the reindex's own call. The bare model's time is its own sum; the reindex's
 * time is the copy's wall time minus the bare calls. Both sides thus run on the same texts at the
 * same moments, so a change of load on a shared host hits both alike (an earlier order, bare model
 * on the first half, reindex, bare model on the second half, gave ratios from 0.84 to 2.8 as other
 * processes came and went). The reindex's store writes and checkpoints overlap the next chunk's
 * embedding (its worker pipelining) whichever call that is; their own time is reported as
 * `store_write_seconds`. Store: the embedded LanceDB in a temporary folder. Writes
 * bench/results/reindex-<timestamp>.json with `reindex_points_per_second` and
 * `ratio_reindex_over_bare_model` (target ≥ 0.8).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostInfo, intEnv, writeResults } from './support.js';
import { LanceDbSink } from '../src/adapters/lancedb-sink.js';
import { openEmbeddingCache } from '../src/adapters/lmdb-embedding-cache.js';
import { createTransformersEmbedder } from '../src/adapters/transformers-embedder.js';
import { pointId, snapshotId, utcDay } from '../src/contracts/ids.js';
import { versionCollection, type IndexVersion } from '../src/contracts/index-version.js';
import { cacheModelVersion, indexVersionOf, openWriterIndex, resolveAliasTarget } from '../src/cli/index-versions.js';
import { CheckpointFile, copyVersion } from '../src/cli/reindex.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { ACTIVITY_TYPE_KEYS, INTENSITY_KEYS, MOOD_DISTRIBUTION_KEYS, rerenderText, snapshotFacts } from '../src/pipeline/index.js';
import type { Embedder, PointPayload, VectorPoint } from '../src/ports.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DAY = 86_400_000;
const LEVELS = ['very_low', 'low', 'moderate', 'good', 'excellent'] as const;
const TAGS = ['sleep', 'work', 'family', 'stress', 'friends', 'outdoors', 'exercise'];

/** mulberry32: the same synthetic index in every run. */
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

/** A stored point of the old version with statistics drawn at random (consistent with each other), so the texts vary as real ones do. */
function syntheticPoint(i: number, rnd: () => number, old: IndexVersion): VectorPoint {
  const userId = `bench-user-${String(i).padStart(6, '0')}`;
  const windowEnd = Date.UTC(2026, 10, 1) + Math.floor(rnd() * 30 * DAY);
  const moodCount = Math.floor(rnd() * 20);
  const distribution = Object.fromEntries(MOOD_DISTRIBUTION_KEYS.map((k) => [k, 0])) as Record<string, number>;
  const scores: number[] = [];
  for (let m = 0; m < moodCount; m++) {
    const level = LEVELS[Math.min(4, Math.floor(rnd() * 5))]!;
    distribution[level] = (distribution[level] ?? 0) + 1;
    scores.push(LEVELS.indexOf(level) + 1);
  }
  const mean = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
  const stddev = mean === null ? null : Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  const sessions = Math.floor(rnd() * 14);
  const byType = Object.fromEntries(ACTIVITY_TYPE_KEYS.map((k) => [k, 0])) as Record<string, number>;
  const byIntensity = Object.fromEntries(INTENSITY_KEYS.map((k) => [k, 0])) as Record<string, number>;
  let total = 0;
  for (let s = 0; s < sessions; s++) {
    const minutes = 10 + Math.floor(rnd() * 80);
    total += minutes;
    const type = ACTIVITY_TYPE_KEYS[Math.floor(rnd() * ACTIVITY_TYPE_KEYS.length)]!;
    byType[type] = (byType[type] ?? 0) + minutes;
    const intensity = INTENSITY_KEYS[Math.floor(rnd() * (INTENSITY_KEYS.length - 1))]!;
    byIntensity[intensity] = (byIntensity[intensity] ?? 0) + minutes;
  }
  const activeDays = Math.min(7, sessions === 0 ? 0 : 1 + Math.floor(rnd() * Math.min(7, sessions)));
  const tags = TAGS.filter(() => rnd() < 0.3).map((tag) => ({ tag, count: 1 + Math.floor(rnd() * Math.max(1, moodCount)) }));
  const window = {
    window_days: 7,
    mood: { count: moodCount, mean, min: scores.length ? Math.min(...scores) : null, max: scores.length ? Math.max(...scores) : null, stddev, trend_per_day: scores.length >= 2 ? (rnd() - 0.5) * 0.6 : null, latest: scores.length ? LEVELS[scores[scores.length - 1]! - 1]! : null, distribution, top_tags: tags },
    activity: { sessions, total_minutes: total, minutes_by_type: byType, minutes_by_intensity: byIntensity, active_days: activeDays, streak_days: Math.floor(rnd() * (activeDays + 1)) },
    recent_notes: [],
  };
  const facts = snapshotFacts(window);
  const payload: PointPayload = {
    user_id: userId,
    day: utcDay(windowEnd),
    window_end: windowEnd,
    window_start: windowEnd - 7 * DAY,
    window_days: 7,
    snapshot_id: snapshotId(userId, `event-${i}`),
    trigger_event_id: `event-${i}`,
    event_count: moodCount + sessions,
    text: 'the old version text',
    mood_count: moodCount,
    mood_mean: mean,
    mood_stddev: stddev,
    mood_min: window.mood.min,
    mood_max: window.mood.max,
    mood_trend_per_day: window.mood.trend_per_day,
    mood_latest: window.mood.latest,
    mood_distribution: distribution,
    mood_level: facts.moodLevel,
    mood_direction: facts.direction,
    mood_variable: facts.variable,
    activity_sessions: sessions,
    activity_minutes: total,
    minutes_by_type: byType,
    minutes_by_intensity: byIntensity,
    active_days: activeDays,
    streak_days: window.activity.streak_days,
    main_activity: facts.dominantActivity,
    intensity: facts.intensity,
    top_tags: tags,
    themes: facts.themes,
    recent_notes: [],
    aggregator_version: 'bench',
    model_id: old.model_id,
    model_version: old.model_version,
    manifest_sha256: '',
    text_version: old.text_version,
    snapshot_topic: 'bench.aggregated',
    snapshot_partition: i % 6,
    snapshot_offset: i,
    event_partition: i % 6,
    event_offset: i,
  };
  const vector = Float32Array.from({ length: 384 }, () => rnd() - 0.5);
  const norm = Math.hypot(...vector);
  return { id: pointId(userId, windowEnd), vector: vector.map((v) => v / norm), payload };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const before = loadavg();
  const points = intEnv('BENCH_POINTS', 20_000);
  const chunk = intEnv('BENCH_CHUNK', 64);
  const modelPath = resolve(process.env.EMBEDDING_MODEL_PATH ?? join(ROOT, '.cache', 'stack', 'models', 'bge-small-en-v1.5-q'));
  const threads = intEnv('EMBEDDING_THREADS', availableParallelism());
  const dir = mkdtempSync(join(tmpdir(), 'aura-bench-reindex-'));
  const logger = createLogger('warn');
  const metrics = createMetrics();
  const embedder = await createTransformersEmbedder({ modelPath, threads });
  try {
    // The current version: `points` points of an older model, behind the alias.
    const store = new LanceDbSink({ dir: join(dir, 'lancedb'), collection: 'bench' });
    const old: IndexVersion = { model_id: 'all-MiniLM-L6-v2-q', model_version: 'bench-old-version', manifest_sha256: '', text_version: 0 };
    const current = await openWriterIndex(store, old, 384);
    const rnd = prng(20261207);
    const all = Array.from({ length: points }, (_, i) => syntheticPoint(i, rnd, old));
    for (let i = 0; i < all.length; i += 2000) await current.sink.upsert(all.slice(i, i + 2000));
    const stored = (await current.sink.scroll()).sort((a, b) => (a.id < b.id ? -1 : 1));
    const texts = stored.map((p) => rerenderText(p.payload));
    const distinct = new Set(texts).size;
    console.log(`current version: ${stored.length} points, ${distinct} distinct texts; new model ${embedder.modelId} from ${modelPath}`);

    const target = (await resolveAliasTarget(store))!;
    const version = indexVersionOf(embedder);
    const next = store.open(versionCollection('bench', version));
    await next.ensureCollection(embedder.dimension, version);
    // Keyed as `aura-stream reindex` keys it (ONNX and manifest hash), bounded like the CLI's default cache.
    const cache = openEmbeddingCache({ dir: join(dir, 'embedding-cache'), modelId: embedder.modelId, modelVersion: cacheModelVersion(version), maxEntries: Math.max(100_000, points), dimension: embedder.dimension });
    const bare = { seconds: 0, texts: 0, calls: 0 };
    const paired: Embedder = {
      modelId: embedder.modelId,
      modelVersion: embedder.modelVersion,
      manifestSha256: embedder.manifestSha256,
      queryPrefix: embedder.queryPrefix,
      dimension: embedder.dimension,
      embed: async (batch) => {
        const t = performance.now();
        await embedder.embed(batch);
        bare.seconds += (performance.now() - t) / 1000;
        bare.texts += batch.length;
        bare.calls += 1;
        return embedder.embed(batch);
      },
      embedQueries: (batch) => embedder.embedQueries(batch),
      close: async () => {},
    };
    const writes = { seconds: 0 };
    const timedNext = new Proxy(next, {
      get(t, prop) {
        if (prop === 'upsert') {
          return async (pts: VectorPoint[]) => {
            const w = performance.now();
            await t.upsert(pts);
            writes.seconds += (performance.now() - w) / 1000;
          };
        }
        const value: unknown = Reflect.get(t, prop, t);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
      },
    });
    const t0 = performance.now();
    const copied = await copyVersion({
      plan: { store, current: target, version, collection: next.collection },
      next: timedNext,
      embedder: paired,
      cache,
      checkpoints: new CheckpointFile(join(dir, 'reindex', `${next.collection}.json`)),
      // No live stage here: nothing was erased (the guard's store reads still run for every chunk).
      liveCommitted: async () => new Map(),
      startOffsets: async () => ({}),
      options: { chunk, progress: process.stderr.isTTY === true },
      logger,
      metrics,
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    const reindexSeconds = wallSeconds - bare.seconds;
    const written = await next.count();
    if (copied !== points || written !== points) throw new Error(`reindex copied ${copied} and the new version holds ${written} points, expected ${points}`);
    const expectedCalls = Math.ceil(points / chunk);
    if (bare.calls !== expectedCalls) throw new Error(`the model was called for ${bare.calls} chunks, expected ${expectedCalls}: a chunk was served from the cache, so the two sides differ`);
    console.log(`bare model: ${bare.texts} texts (${bare.calls} chunks) in ${bare.seconds.toFixed(1)} s = ${(bare.texts / bare.seconds).toFixed(1)} texts/s, ${(points / bare.seconds).toFixed(1)} points/s`);
    console.log(`reindex: ${copied} points in ${reindexSeconds.toFixed(1)} s (wall ${wallSeconds.toFixed(1)} s minus the bare calls) = ${(copied / reindexSeconds).toFixed(1)} points/s; store writes ${writes.seconds.toFixed(1)} s`);
    await cache.close();
    await next.close();
    await current.sink.close();
    await store.close();

    const barePointsPerSecond = points / bare.seconds;
    const reindexPointsPerSecond = points / reindexSeconds;
    const ratio = reindexPointsPerSecond / barePointsPerSecond;
    console.log(`ratio reindex / bare model (same texts, same chunks, paired per chunk): ${ratio.toFixed(3)} (target ≥ 0.8)`);
    const file = writeResults('reindex', startedAt, {
      points,
      chunk,
      distinct_texts: distinct,
      model: { id: embedder.modelId, version: embedder.modelVersion, path: relative(ROOT, modelPath) },
      store: 'lancedb',
      design: 'paired: each chunk embedded by the bare model right before the reindex embeds it; reindex time = copy wall time minus the bare calls',
      copy_wall_seconds: wallSeconds,
      reindex_seconds: reindexSeconds,
      reindex_points_per_second: reindexPointsPerSecond,
      store_write_seconds: writes.seconds,
      bare_model_seconds: bare.seconds,
      bare_model_texts_embedded: bare.texts,
      bare_model_points_per_second: barePointsPerSecond,
      bare_model_texts_per_second: bare.texts / bare.seconds,
      ratio_reindex_over_bare_model: ratio,
      host: hostInfo(before),
    });
    console.log(`results: ${file}`);
  } finally {
    await embedder.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
