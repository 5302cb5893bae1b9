/**
 * Throughput of the vectorize stage against the bare model, on the same N real snapshot texts:
 *
 *   (a) bare model: embedder.embed in batches of BATCH_MAX_SIZE (no Kafka, no cache, no store);
 *   (b) whole stage, cold cache: the vectorize topology in-process with the real adapters (Kafka
 *       consumer group, Avro through the registry, LMDB embedding cache, LanceDB, producer of
 *       ContextVectorized, commits) over a fresh aggregated topic holding the N snapshots;
 *   (c) whole stage, warm cache: the same topic again with a fresh consumer group and the SAME
 *       embedding cache folder (hit rate ~100%).
 *
 *   node --import tsx bench/vectorize.ts        (needs the local stack: `aura-stream stack up`)
 *
 * Environment (all optional): BENCH_SNAPSHOTS (default 600), BATCH_MAX_SIZE (64),
 * BATCH_MAX_WAIT_MS (200), EMBEDDING_THREADS (1, the stage's default), EMBEDDING_MODEL_PATH,
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL.
 *
 * The snapshots are the pure aggregate fold (src/stages aggregateBatch) over a seeded workload, so
 * their texts are the stage's real rendering; one per point, so the stage embeds every one of them. Stage time runs from the first record handed to the
 * stage (group join excluded, reported apart) to the commit of the last; texts/s of the stage
 * counts input records, of which the coalescing embeds fewer (reported too). Ratios are against
 * the bare model measured in the same run. Results go to bench/results/vectorize-<timestamp>.json.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Subscription } from 'rxjs';
import type { Kafka } from 'kafkajs';
import { hostInfo, intEnv, percentile, writeResults } from './support.js';
import { AvroSerde, createRegistryClient, registryAuth, topicSubject } from '../src/adapters/avro-serde.js';
import { CONTEXT_AGGREGATED, createVectorizeCodec } from '../src/adapters/codecs.js';
import { createKafka, kafkaConnection } from '../src/adapters/kafka/client.js';
import { KafkaRecordWriter } from '../src/adapters/kafka/batch-writer.js';
import { KafkaGroupSource } from '../src/adapters/kafka/group-source.js';
import { LanceDbSink } from '../src/adapters/lancedb-sink.js';
import { openEmbeddingCache } from '../src/adapters/lmdb-embedding-cache.js';
import { createTransformersEmbedder, ONNX_FILE, type TransformersEmbedder } from '../src/adapters/transformers-embedder.js';
import { AGGREGATOR_VERSION, loadConfig } from '../src/config.js';
import { pointId } from '../src/contracts/ids.js';
import type { ContextAggregated } from '../src/contracts/snapshot.js';
import type { RecordSource } from '../src/ports.js';
import type { UserWindow } from '../src/contracts/window.js';
import { createLogger } from '../src/logger.js';
import { aggregateBatch, type AggregateInput } from '../src/stages/index.js';
import { generateEvents } from '../src/workload/index.js';
import { vectorizeTopology, type VectorizeEvent } from '../topology/vectorize.js';

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
  joinMs: number;
  /** First record handed to the stage → last commit. */
  stageMs: number;
  recordsPerSec: number;
  batches: number;
  batchMs: ReturnType<typeof pcts>;
  embedMs: ReturnType<typeof pcts>;
  upsertMs: ReturnType<typeof pcts>;
}

async function runStage(
  label: string,
  deps: { kafka: Kafka; serde: AvroSerde; embedder: TransformersEmbedder; cacheDir: string; lanceDir: string; topic: string; outTopic: string; groupId: string; batchMaxSize: number; batchMaxWaitMs: number; total: number },
): Promise<StageRun> {
  const logger = createLogger('error');
  const codec = await createVectorizeCodec(deps.serde, { input: deps.topic, output: deps.outTopic });
  const cache = openEmbeddingCache({ dir: deps.cacheDir, modelId: deps.embedder.modelId, modelVersion: deps.embedder.modelVersion, dimension: deps.embedder.dimension });
  const sink = new LanceDbSink({ dir: deps.lanceDir, collection: 'bench' });
  await sink.ensureCollection(deps.embedder.dimension);
  const source = new KafkaGroupSource(deps.kafka, { groupId: deps.groupId, topic: deps.topic, partitionsConsumedConcurrently: 6, logger });
  const writer = new KafkaRecordWriter(deps.kafka);
  // The stage's time starts when the first record reaches it (a source's handler is called).
  let firstRecordAt = 0;
  const timedSource: RecordSource = {
    assignment$: source.assignment$,
    failure$: source.failure$,
    start: (handler) => source.start((batch) => ((firstRecordAt ||= performance.now()), handler(batch))),
    pause: (p) => source.pause(p),
    resume: (p) => source.resume(p),
    commit: (o) => source.commit(o),
    stop: () => source.stop(),
  };
  const embedderNoClose = { ...deps.embedder, embed: (t: string[]) => deps.embedder.embed(t), close: async () => undefined };

  const started = performance.now();
  let assignedAt = 0;
  let lastCommitAt = 0;
  const stored: Array<Extract<VectorizeEvent, { type: 'stored' }>> = [];
  const batchMs: number[] = [];
  let done = 0;
  let sub: Subscription | undefined;
  const finished = new Promise<void>((ok, fail) => {
    sub = vectorizeTopology(
      { source: timedSource, codec, embedder: embedderNoClose, cache, sink, writer },
      { inputTopic: deps.topic, outputTopic: deps.outTopic, dlqTopic: `${deps.topic}.dlq`, batchMaxSize: deps.batchMaxSize, batchMaxWaitMs: deps.batchMaxWaitMs, maxInFlightBatches: 2, retryInitialMs: 200, retryMaxMs: 5000 },
    ).subscribe({
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
  const timeout = setTimeout(() => sub?.unsubscribe(), 600_000);
  await finished;
  clearTimeout(timeout);
  sub?.unsubscribe();
  await source.stop();
  await writer.close();
  await sink.close();
  await cache.close();

  const stageMs = lastCommitAt - firstRecordAt;
  const sum = (f: (e: (typeof stored)[number]) => number) => stored.reduce((n, e) => n + f(e), 0);
  return {
    label,
    records: sum((e) => e.records),
    points: sum((e) => e.points),
    superseded: sum((e) => e.superseded),
    embeddedTexts: sum((e) => e.cacheMisses),
    cacheHits: sum((e) => e.cacheHits),
    cacheMisses: sum((e) => e.cacheMisses),
    joinMs: (assignedAt || firstRecordAt) - started,
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
  const modelPath = resolve(process.env.EMBEDDING_MODEL_PATH || join(ROOT, '.cache/stack/models/all-MiniLM-L6-v2-q'));
  if (!existsSync(join(modelPath, ONNX_FILE))) throw new Error(`no model at ${modelPath}: run \`aura-stream stack up\` or set EMBEDDING_MODEL_PATH`);

  const snaps = snapshots(n);
  const texts = snaps.map((s) => s.text);
  const distinct = new Set(texts).size;
  const embedder = await createTransformersEmbedder({ modelPath, threads: config.embeddingThreads });
  const load = { before: loadavg(), after: [] as number[] };
  const startedAt = new Date();

  // (a) bare model, same texts, same batch size; one warm-up pass over a batch first.
  await embedder.embed(texts.slice(0, batchSize));
  const bareLatencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i += batchSize) {
    const b0 = performance.now();
    await embedder.embed(texts.slice(i, i + batchSize));
    bareLatencies.push(performance.now() - b0);
  }
  const bareMs = performance.now() - t0;
  const bare = { texts: texts.length, ms: bareMs, textsPerSec: (texts.length / bareMs) * 1000, batchMs: pcts(bareLatencies) };
  process.stderr.write(`bare model: ${bare.textsPerSec.toFixed(1)} texts/s\n`);

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

  const dir = mkdtempSync(join(tmpdir(), 'aura-bench-vec-'));
  const cacheDir = join(dir, 'embedding-cache');
  const common = { kafka, serde, embedder, cacheDir, topic, outTopic, batchMaxSize: batchSize, batchMaxWaitMs: config.batchMaxWaitMs, total: n };
  const cold = await runStage('stage, cold cache', { ...common, lanceDir: join(dir, 'lancedb-cold'), groupId: `${run}-cold` });
  process.stderr.write(`stage cold: ${cold.recordsPerSec.toFixed(1)} records/s\n`);
  const warm = await runStage('stage, warm cache', { ...common, lanceDir: join(dir, 'lancedb-warm'), groupId: `${run}-warm` });
  process.stderr.write(`stage warm: ${warm.recordsPerSec.toFixed(1)} records/s\n`);
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
  console.log(`bare model          ${f(bare.textsPerSec).padStart(7)}  ${f(1, 2).padStart(5)}  ${String(n).padStart(8)}         -  ${f(bare.batchMs.p50)}/${f(bare.batchMs.p95)}/${f(bare.batchMs.p99)}`);
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
