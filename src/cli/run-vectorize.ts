import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Observable } from 'rxjs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { countingEmbedder, type Metrics } from '../metrics.js';
import type { Embedder } from '../ports.js';
import type { AvroSerde } from '../adapters/avro-serde.js';
import { createVectorizeCodec } from '../adapters/codecs.js';
import { KafkaRecordWriter } from '../adapters/kafka/batch-writer.js';
import { KafkaGroupSource } from '../adapters/kafka/group-source.js';
import { LagMonitor } from '../adapters/kafka/lag-monitor.js';
import { openEmbeddingCache } from '../adapters/lmdb-embedding-cache.js';
import { createTransformersEmbedder } from '../adapters/transformers-embedder.js';
import { VECTORIZE_STAGE, vectorizeTopology, type VectorizeEvent } from '../../topology/vectorize.js';
import { vectorizePhases } from '../../topology/lifecycle.js';
import { withFailpoints } from './failpoints.js';
import { cacheModelVersion, createVectorStore, versionedWriter, indexVersionOf, openWriterIndex } from './index-versions.js';
import { compileEmbedderOptions, compileVectorizeOptions, compileVectorizeProduceLimits, compileVectorizeSourceOptions } from './options.js';
import { logIllegalMove, runEvents, type StageHandle } from './stage-runtime.js';

/** Qdrant when QDRANT_URL is set, else the embedded LanceDB folder under STATE_DIR (logged loudly); named after the alias. */
export const createVectorSink = createVectorStore;

export async function createEmbedder(config: Config, logger: Logger): Promise<Embedder> {
  return createTransformersEmbedder({ ...compileEmbedderOptions(config), logger });
}

/** Composes the vectorize stage from its adapters and starts it. */
export async function startVectorize(deps: { kafka: Kafka; serde: AvroSerde; config: Config; logger: Logger; metrics: Metrics }): Promise<StageHandle & { events$: Observable<VectorizeEvent> }> {
  const { kafka, serde, config, metrics } = deps;
  const logger = deps.logger.child({ stage: VECTORIZE_STAGE });
  const codec = await createVectorizeCodec(serde, { input: config.aggregatedTopic, output: config.vectorizedTopic, erased: config.erasedTopic });
  const embedder = countingEmbedder(await createEmbedder(config, logger), () => metrics.embedErrors.inc());
  const cache = openEmbeddingCache({ dir: join(config.stateDir, 'embedding-cache'), modelId: embedder.modelId,
    // The manifest hash, not only the ONNX file's: the same file pooled another way gives other vectors.
    modelVersion: cacheModelVersion(indexVersionOf(embedder)),
    maxEntries: config.embeddingCacheMaxEntries, dimension: embedder.dimension });
  // Failpoints (src/cli/failpoints.ts) by method name: deleteUser is guarded wherever the sink has it.
  const vectorStore = createVectorStore(config);
  const index = await openWriterIndex(vectorStore, indexVersionOf(embedder), embedder.dimension);
  if (index.state === 'current') logger.info({ collection: index.sink.collection }, index.summary);
  else logger.warn({ collection: index.sink.collection, aliasTarget: index.target.collection }, index.summary);
  const sink = withFailpoints(versionedWriter(index.sink, vectorStore), VECTORIZE_STAGE, { upsert: 'upsert', deleteUser: 'delete' });
  if (sink.kind === 'lancedb') {
    logger.warn({ store: sink.kind, location: sink.location }, `vector store: embedded LanceDB in ${sink.location} (QDRANT_URL is unset; set it in production)`);
  } else {
    logger.info({ store: sink.kind, location: sink.location, collection: sink.collection }, `vector store: Qdrant at ${sink.location}`);
  }
  const source = new KafkaGroupSource(kafka, {
    ...compileVectorizeSourceOptions(config),
    logger,
    onCommit: (seconds) => metrics.commitSeconds.observe({ stage: VECTORIZE_STAGE }, seconds),
  });
  const writer = withFailpoints(new KafkaRecordWriter(kafka, compileVectorizeProduceLimits(config)), VECTORIZE_STAGE, ['send']);
  const stage = { stage: VECTORIZE_STAGE };
  const store = { store: sink.kind };
  metrics.initStage(VECTORIZE_STAGE);
  metrics.erasedPoints.inc(store, 0);
  metrics.watchUnconfirmed(VECTORIZE_STAGE, () => source.unconfirmed.oldest());
  let owned: number[] = [];
  const lag = LagMonitor.forKafka(kafka, {
    groupId: config.vectorizeGroupId,
    topic: config.aggregatedTopic,
    intervalMs: config.lagRefreshMs,
    owned: () => owned,
    oldestUnconfirmed: (p) => source.unconfirmed.oldest(p),
    consumedThrough: (p) => source.unconfirmed.consumedThrough(p),
    onLag: (rows) => metrics.setLag(VECTORIZE_STAGE, config.aggregatedTopic, rows),
    onError: (err) => {
      metrics.lagRefreshFailures.inc(stage);
      logger.debug({ err }, 'lag refresh failed');
    },
  });

  const onEvent = (e: VectorizeEvent) => {
    switch (e.type) {
      case 'assigned':
        metrics.assign(VECTORIZE_STAGE, config.aggregatedTopic, e.partitions);
        owned = e.partitions;
        lag.start();
        break;
      case 'dead-lettered':
        metrics.recordsConsumed.inc(stage);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'dlq' });
        metrics.dlq.inc({ ...stage, reason: e.code });
        // Code, field and position only: the message quotes the record (notes, user ids), which logs must never hold.
        logger.warn({ topic: config.aggregatedTopic, partition: e.partition, offset: e.offset, code: e.code, field: e.field }, 'dead-lettered');
        break;
      case 'stored':
        metrics.recordsConsumed.inc(stage, e.records);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'accepted' }, e.points);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'superseded' }, e.superseded);
        metrics.embeddingCache.inc({ result: 'hit' }, e.cacheHits);
        metrics.embeddingCache.inc({ result: 'miss' }, e.cacheMisses);
        metrics.embedTexts.inc(e.cacheMisses);
        if (e.cacheMisses > 0) metrics.embedSeconds.observe(e.embedSeconds);
        if (e.points > 0) metrics.upsertSeconds.observe(store, e.upsertSeconds);
        metrics.pointsUpserted.inc(store, e.points);
        metrics.recordsProduced.inc({ ...stage, kind: 'output' }, e.points);
        for (const s of e.e2eSeconds) metrics.e2eLatency.observe(stage, s);
        for (const s of e.freshnessSeconds) metrics.freshness.observe(stage, s);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'superseded' }, e.erased);
        for (const x of e.erasures) {
          metrics.erasures.inc({ ...stage, cause: x.cause });
          metrics.erasedPoints.inc(store, x.pointsDeleted);
          metrics.recordsProduced.inc({ ...stage, kind: 'output' });
          logger.info({ cause: x.cause, points: x.pointsDeleted, cacheEntries: x.cacheEntriesDeleted }, 'erasure completed');
        }
        logger.debug({ records: e.records, points: e.points, superseded: e.superseded, hits: e.cacheHits, misses: e.cacheMisses, trace_ids: e.traceIds.slice(0, 5) }, 'stored batch');
        break;
      case 'committed':
        logger.debug({ offsets: e.offsets }, 'committed');
        break;
      case 'retrying':
        metrics.retries.inc({ ...stage, code: e.error.code });
        logger.warn({ step: e.step, attempt: e.attempt, delayMs: Math.round(e.delayMs), code: e.error.code }, `transient fault in ${e.step}, retrying: ${e.error.message}`);
        break;
      case 'paused':
      case 'resumed':
        metrics.consumerPaused.set(stage, e.type === 'paused' ? 1 : 0);
        break;
    }
  };

  const events$ = vectorizeTopology(
    { source, codec, embedder, cache, sink, writer },
    compileVectorizeOptions(config),
  );
  const { lifecycle, signals, subscription, events$: shared } = runEvents(events$, vectorizePhases, onEvent, logIllegalMove(logger));

  return {
    name: VECTORIZE_STAGE,
    lifecycle,
    signals,
    subscription,
    events$: shared,
    checks: { vectorStore: () => sink.ping() },
    details: () => ({
      store: sink.kind,
      location: sink.location,
      collection: index.sink.collection,
      index: { alias: vectorStore.alias, version: index.version, state: index.state, aliasTarget: index.target.collection, summary: index.summary },
      model: embedder.modelId, modelVersion: embedder.modelVersion,
      cache: { hits: cache.hits, misses: cache.misses },
    }),
    stop: async () => {
      await lag.stop();
      subscription.unsubscribe();
      await source.stop();
      await writer.close();
      await sink.close();
      await vectorStore.close();
      await cache.close();
      await embedder.close();
    },
  };
}
