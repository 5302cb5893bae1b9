/**
 * Throughput of the vectorize stage against the bare model, on the same N real snapshot texts:
 *
 *   (a) bare model: embedder.embed in batches of BATCH_MAX_SIZE (no Kafka, no cache, no store),
 *       timed before and after (b) and (c), the ratios against the mean of the two;
 *   (b) whole stage, cold cache: the stage started and stopped as `aura-stream run vectorize`
 *       does (startVectorize / stopStage: Kafka consumer group, Avro through the registry, LMDB
 *       embedding cache, LanceDB, producer of ContextVectorized, commits) over a fresh aggregated
 *       topic holding the N snapshots;
 *   (c) whole stage, warm cache: the same topic again with a fresh consumer group and the SAME
 *       embedding cache folder (hit rate ~100%).
 *
 *   node --import tsx bench/vectorize.ts        (needs the local stack: `aura-stream stack up`)
 *
 * Environment (all optional): BENCH_SNAPSHOTS (default 600), BATCH_MAX_SIZE (64),
 * BATCH_MAX_WAIT_MS (200), EMBEDDING_THREADS (1, the stage's default), EMBEDDING_MODEL(_PATH),
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL.
 *
 * The snapshots are the pure aggregate fold (test/oracles/aggregate-batch.ts) over a seeded workload, so
 * their texts are the stage's real rendering; one per point, so the stage embeds every one of them.
 * Stage time runs from the partitions' assignment (start and group join excluded, reported apart)
 * to the commit of the last record; texts/s of the stage
 * counts input records, of which the coalescing embeds fewer (reported too). Ratios are against
 * the bare model measured in the same run. Results go to bench/results/vectorize-<timestamp>.json.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Subscription } from 'rxjs';
import type { Kafka } from 'kafkajs';
import { startVectorize } from '../src/cli/run-vectorize.js';
import { stopStage } from '../src/cli/stage-runtime.js';
import { createMetrics } from '../src/metrics.js';
import { hostInfo, intEnv, percentile, writeResults } from './support.js';
import { AvroSerde, createRegistryClient, registryAuth, topicSubject } from '../src/adapters/avro-serde.js';
import { CONTEXT_AGGREGATED } from '../src/adapters/codecs.js';
import { createKafka, kafkaConnection } from '../src/adapters/kafka/client.js';
import { createTransformersEmbedder, ONNX_FILE } from '../src/adapters/transformers-embedder.js';
import { AGGREGATOR_VERSION, loadConfig } from '../src/config.js';
import { MODEL_ID } from '../src/stack/model.js';
import { pointId } from '../src/contracts/ids.js';
import type { ContextAggregated } from '../src/contracts/snapshot.js';
import type { UserWindow } from '../src/contracts/window.js';
import { createLogger } from '../src/logger.js';
import { aggregateBatch, type AggregateInput } from '../test/oracles/aggregate-batch.js';
import { generateEvents } from '../src/workload/index.js';
import type { VectorizeEvent } from '../topology/vectorize.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DAY = 86_400_000;


const pcts = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
};

/**
 * `n` snapshots the aggregate fold makes of a seeded workload (real rendered texts), one per point
 * (the first snapshot of each user and UTC day): the stage coalesces nothing, so it embeds exactly
 * the texts the bare model is timed on.
 */
function snapshots(n: number): ContextAggregated[] {
  const windows = new Map<string, UserWindow>();
  const out: ContextAggregated[] = [];
  const seen = new Set<string>();
  const users = Math.max(20, Math.ceil(n / 8));
  const records = generateEvents({ seed: 'bench-vectorize', users, events: n * 8, startMs: Date.now() - 40 * DAY, spanDays: 30, poisonFraction: 0 });
  let offset = 0;
  for (const r of records) {
    if (!r.event) continue;
    const input: AggregateInput = { position: { topic: 'bench.events', partition: 0, offset: String(offset++), timestamp: r.timestampMs }, key: r.key, event: r.event };
    const result = aggregateBatch([input], (u) => windows.get(u), { windowDays: 7, maxEvents: 512, aggregatorVersion: AGGREGATOR_VERSION });
    for (const [u, w] of result.states) windows.set(u, w);
    for (const { snapshot } of result.snapshots) {
      const id = pointId(snapshot.user_id, snapshot.window_end);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(snapshot);
    }
    if (out.length >= n) break;
  }
  if (out.length < n) throw new Error(`the workload yielded only ${out.length} distinct points`);
  return out.slice(0, n);
}

interface StageRun {
  label: string;
  records: number;
  points: number;
  superseded: number;
  embeddedTexts: number;
  cacheHits: number;
  cacheMisses: number;
  /** Start (model load, store, codec) and group join, excluded from the stage time. */
  joinMs: number;
  /** Partitions assigned → last commit. */
  stageMs: number;
  recordsPerSec: number;
  batches: number;
  batchMs: ReturnType<typeof pcts>;
  embedMs: ReturnType<typeof pcts>;
  upsertMs: ReturnType<typeof pcts>;
}

/**
 * The stage exactly as `aura-stream run vectorize` and the demo start and stop it (startVectorize,
 * stopStage), on the bench's topics, group and state folder.
 */
async function runStage(label: string, deps: { kafka: Kafka; serde: AvroSerde; stateDir: string; topic: string; outTopic: string; groupId: string; total: number; modelPath: string }): Promise<StageRun> {
  const config = loadConfig({
    ...process.env,
    EMBEDDING_MODEL_PATH: deps.modelPath,
    AGGREGATED_TOPIC: deps.topic,
    VECTORIZED_TOPIC: deps.outTopic,
    VECTORIZE_GROUP_ID: deps.groupId,
    STATE_DIR: deps.stateDir,
    QDRANT_URL: '',
    METRICS_PORT: '-1',
    LOG_LEVEL: 'error',
    CREATE_TOPICS: 'false',
  });
  const started = performance.now();
  const stage = await startVectorize({ kafka: deps.kafka, serde: deps.serde, config, logger: createLogger('error'), metrics: createMetrics() });
  let assignedAt = 0;
  let lastCommitAt = 0;
  const stored: Array<Extract<VectorizeEvent, { type: 'stored' }>> = [];
  const batchMs: number[] = [];
  let done = 0;
  let sub: Subscription | undefined;
  const finished = new Promise<void>((ok, fail) => {
    sub = stage.events$.subscribe({
      next: (e) => {
        if (e.type === 'assigned' && e.partitions.length > 0) assignedAt ||= performance.now();
        if (e.type === 'stored') {
          stored.push(e);
          batchMs.push((e.embedSeconds + e.upsertSeconds) * 1000);
          done += e.records;
        }
        if (e.type === 'committed') {
          lastCommitAt = performance.now();
          if (done >= deps.total) ok();
        }
        if (e.type === 'dead-lettered' || e.type === 'retrying') process.stderr.write(`${label}: ${e.type} ${JSON.stringify(e)}\n`);
      },
      error: fail,
    });
  });
  const timeout = setTimeout(() => void stopStage(stage), 600_000);
  await finished;
  clearTimeout(timeout);
  sub?.unsubscribe();
  await stopStage(stage);

  const stageMs = lastCommitAt - assignedAt;
  const sum = (f: (e: (typeof stored)[number]) => number) => stored.reduce((n, e) => n + f(e), 0);
  return {
    label,
    records: sum((e) => e.records),
    points: sum((e) => e.points),
    superseded: sum((e) => e.superseded),
    embeddedTexts: sum((e) => e.cacheMisses),
    cacheHits: sum((e) => e.cacheHits),
    cacheMisses: sum((e) => e.cacheMisses),
    joinMs: assignedAt - started,
    stageMs,
    recordsPerSec: (sum((e) => e.records) / stageMs) * 1000,
    batches: stored.length,
    batchMs: pcts(batchMs),
    embedMs: pcts(stored.filter((e) => e.cacheMisses > 0).map((e) => e.embedSeconds * 1000)),
    upsertMs: pcts(stored.map((e) => e.upsertSeconds * 1000)),
  };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const n = intEnv('BENCH_SNAPSHOTS', 600);
  const batchSize = config.batchMaxSize;
  // The model the stage itself would load (EMBEDDING_MODEL_PATH, else EMBEDDING_MODEL's folder, default bge-small).
  const modelPath = resolve(config.embeddingModelPath ?? join(ROOT, '.cache/stack/models', MODEL_ID));
  if (!existsSync(join(modelPath, ONNX_FILE))) throw new Error(`no model at ${modelPath}: run \`aura-stream stack up\` or set EMBEDDING_MODEL_PATH`);

  const snaps = snapshots(n);
  const texts = snaps.map((s) => s.text);
  const distinct = new Set(texts).size;
  const embedder = await createTransformersEmbedder({ modelPath, threads: config.embeddingThreads });
  const load = { before: loadavg(), after: [] as number[] };
  const startedAt = new Date();

  // (a) bare model, same texts, same batch size; one warm-up pass over a batch first. Timed once
  // before and once after the stage runs, so a shared host's load drifting during the run weighs
  // on both sides of the ratio alike (the ratios use the mean of the two).
  await embedder.embed(texts.slice(0, batchSize));
  const bareRun = async () => {
    const latencies: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < texts.length; i += batchSize) {
      const b0 = performance.now();
      await embedder.embed(texts.slice(i, i + batchSize));
      latencies.push(performance.now() - b0);
    }
    const ms = performance.now() - t0;
    return { texts: texts.length, ms, textsPerSec: (texts.length / ms) * 1000, batchMs: pcts(latencies) };
  };
  const bareBefore = await bareRun();
  process.stderr.write(`bare model (before the stage): ${bareBefore.textsPerSec.toFixed(1)} texts/s\n`);

  // The snapshots on a fresh aggregated topic (Avro through the registry, keyed by user).
  const run = `bench-vec-${Date.now().toString(36)}`;
  const topic = `${run}.aggregated`;
  const outTopic = `${run}.vectorized`;
  const kafka = createKafka({ ...kafkaConnection(config), clientId: run, logger: createLogger('error') });
  const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)));
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [topic, outTopic, `${topic}.dlq`].map((t) => ({ topic: t, numPartitions: 3, replicationFactor: 1 })), waitForLeaders: true });
  await serde.register(topicSubject(topic), CONTEXT_AGGREGATED);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: snaps.map((s) => ({ key: s.user_id, value: serde.encode(topicSubject(topic), CONTEXT_AGGREGATED, s), timestamp: String(Date.now()) })) });
  await producer.disconnect();

  // One state folder for both runs: the warm run finds the cold run's embedding cache (and rewrites
  // the same LanceDB points with the same content).
  const dir = mkdtempSync(join(tmpdir(), 'aura-bench-vec-'));
  const common = { kafka, serde, stateDir: dir, topic, outTopic, total: n, modelPath };
  const cold = await runStage('stage, cold cache', { ...common, groupId: `${run}-cold` });
  process.stderr.write(`stage cold: ${cold.recordsPerSec.toFixed(1)} records/s\n`);
  const warm = await runStage('stage, warm cache', { ...common, groupId: `${run}-warm` });
  process.stderr.write(`stage warm: ${warm.recordsPerSec.toFixed(1)} records/s\n`);
  const bareAfter = await bareRun();
  process.stderr.write(`bare model (after the stage): ${bareAfter.textsPerSec.toFixed(1)} texts/s\n`);
  const bare = { ...bareBefore, textsPerSec: (bareBefore.textsPerSec + bareAfter.textsPerSec) / 2, before: bareBefore.textsPerSec, after: bareAfter.textsPerSec };
  load.after = loadavg();

  await admin.deleteTopics({ topics: [topic, outTopic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.deleteGroups([`${run}-cold`, `${run}-warm`]).catch(() => undefined);
  await admin.disconnect();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });

  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(
    `model ${embedder.modelId}@${embedder.modelVersion} (${embedder.dimension} d), threads ${embedder.threads}, ${embedder.forwardPass}; ` +
      `${n} snapshot texts (${distinct} distinct, ${Math.min(...texts.map((t) => t.length))}–${Math.max(...texts.map((t) => t.length))} chars); ` +
      `BATCH_MAX_SIZE ${batchSize}, BATCH_MAX_WAIT_MS ${config.batchMaxWaitMs}; load ${load.before.map((x) => f(x, 2)).join('/')} → ${load.after.map((x) => f(x, 2)).join('/')} on ${availableParallelism()} CPUs`,
  );
  console.log('run                 texts/s  ×bare  embedded  hit rate  batch p50/p95/p99 ms');
  console.log(`bare model (mean)   ${f(bare.textsPerSec).padStart(7)}  ${f(1, 2).padStart(5)}  ${String(n).padStart(8)}         -  ${f(bare.batchMs.p50)}/${f(bare.batchMs.p95)}/${f(bare.batchMs.p99)}`);
  console.log(`  before / after      ${f(bare.before)} / ${f(bare.after)}`);
  for (const r of [cold, warm]) {
    const hit = r.cacheHits + r.cacheMisses === 0 ? 0 : r.cacheHits / (r.cacheHits + r.cacheMisses);
    console.log(
      `${r.label.padEnd(18)}  ${f(r.recordsPerSec).padStart(7)}  ${f(r.recordsPerSec / bare.textsPerSec, 2).padStart(5)}  ${String(r.embeddedTexts).padStart(8)}  ${f(100 * hit).padStart(7)}%  ${f(r.batchMs.p50)}/${f(r.batchMs.p95)}/${f(r.batchMs.p99)}`,
    );
  }
  console.log(`cache effect: warm/cold stage throughput ×${f(warm.recordsPerSec / cold.recordsPerSec, 2)}; group join (excluded) ${f(cold.joinMs, 0)} ms / ${f(warm.joinMs, 0)} ms`);

  const file = writeResults('vectorize', startedAt, {
    bench: 'vectorize',
    startedAt: startedAt.toISOString(),
    host: hostInfo(load.before, load.after),
    model: { id: embedder.modelId, version: embedder.modelVersion, dimension: embedder.dimension, threads: embedder.threads, forwardPass: embedder.forwardPass },
    snapshots: n,
    distinctTexts: distinct,
    batchMaxSize: batchSize,
    batchMaxWaitMs: config.batchMaxWaitMs,
    store: 'lancedb',
    bare,
    stage: { cold, warm },
    ratios: {
      coldVsBare: cold.recordsPerSec / bare.textsPerSec,
      warmVsBare: warm.recordsPerSec / bare.textsPerSec,
      warmVsCold: warm.recordsPerSec / cold.recordsPerSec,
    },
  });
  console.log(`wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
