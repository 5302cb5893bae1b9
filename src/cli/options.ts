import { resolve } from 'node:path';
import type { Config } from '../config.js';
import type { KafkaChangelogReader } from '../adapters/kafka/changelog-reader.js';
import type { GroupSourceOptions } from '../adapters/kafka/group-source.js';
import type { TransactionalBatchWriter } from '../adapters/kafka/batch-writer.js';
import { ProduceLimits } from '../adapters/kafka/produce-limits.js';
import type { QdrantSinkOptions } from '../adapters/qdrant-sink.js';
import type { TransformersEmbedderOptions } from '../adapters/transformers-embedder.js';
import { AuraError } from '../errors.js';
import type { AggregateTopologyConfig } from '../../topology/aggregate.js';
import type { VectorizeTopologyConfig } from '../../topology/vectorize.js';

/**
 * Options compiled once from the configuration into the aggregate pipe's argument, whose fields
 * are all required: the defaults live only in src/config.ts (one row per variable), never again
 * downstream.
 *
 * A knob keeps the name its layer speaks (env var, config key, operator argument); where they
 * differ, this table is the one mapping, and test/cli/options.test.ts sets each variable to a
 * value of its own and checks it arrives at the option named here.
 */
export const AGGREGATE_OPTION_VARIABLES = {
  inputTopic: 'INPUT_TOPIC',
  outputTopic: 'AGGREGATED_TOPIC',
  changelogTopic: 'CHANGELOG_TOPIC',
  windowDays: 'WINDOW_DAYS',
  maxEvents: 'WINDOW_MAX_EVENTS',
  maxRecordsPerTransaction: 'AGGREGATE_TX_MAX_RECORDS',
  maxBytesPerTransaction: 'AGGREGATE_TX_MAX_BYTES',
  maxTransactionMs: 'AGGREGATE_TX_MAX_MS',
  cacheMaxUsers: 'AGGREGATE_CACHE_MAX_USERS',
  cacheMaxBytes: 'AGGREGATE_CACHE_MAX_BYTES',
  retentionDays: 'STATE_RETENTION_DAYS',
  retryInitialMs: 'RETRY_INITIAL_MS',
  retryMaxMs: 'RETRY_MAX_MS',
} as const satisfies Partial<Record<keyof AggregateTopologyConfig, string>>;

/** The aggregate pipe's options; `dlqTopic`, `aggregatorVersion` and `erasureAuth` are derived or combined (see Config). */
export function compileAggregateOptions(config: Config): AggregateTopologyConfig {
  return {
    inputTopic: config.inputTopic,
    outputTopic: config.aggregatedTopic,
    changelogTopic: config.changelogTopic,
    dlqTopic: config.inputDlqTopic,
    windowDays: config.windowDays,
    maxEvents: config.windowMaxEvents,
    aggregatorVersion: config.aggregatorVersion,
    maxRecordsPerTransaction: config.aggregateTxMaxRecords,
    maxBytesPerTransaction: config.aggregateTxMaxBytes,
    maxTransactionMs: config.aggregateTxMaxMs,
    cacheMaxUsers: config.aggregateCacheMaxUsers,
    cacheMaxBytes: config.aggregateCacheMaxBytes,
    retentionDays: config.stateRetentionDays,
    erasureAuth: { key: config.erasureSigningKey, maxAgeMs: config.erasureMaxAgeMs },
    retryInitialMs: config.retryInitialMs,
    retryMaxMs: config.retryMaxMs,
  };
}

/**
 * The vectorize pipe's knobs and their variables, checked by test/cli/options.test.ts as
 * AGGREGATE_OPTION_VARIABLES is.
 */
export const VECTORIZE_OPTION_VARIABLES = {
  inputTopic: 'AGGREGATED_TOPIC',
  outputTopic: 'VECTORIZED_TOPIC',
  erasedTopic: 'ERASED_TOPIC',
  batchMaxSize: 'BATCH_MAX_SIZE',
  batchMaxWaitMs: 'BATCH_MAX_WAIT_MS',
  maxInFlightBatches: 'MAX_IN_FLIGHT_BATCHES',
  retryInitialMs: 'RETRY_INITIAL_MS',
  retryMaxMs: 'RETRY_MAX_MS',
} as const satisfies Partial<Record<keyof VectorizeTopologyConfig, string>>;

/**
 * The vectorize pipe's options, every field required (one place for the stage and `reindex`'s
 * catch-up); `dlqTopic` is derived from AGGREGATED_TOPIC and DLQ_SUFFIX.
 */
export function compileVectorizeOptions(config: Config): VectorizeTopologyConfig {
  return {
    inputTopic: config.aggregatedTopic,
    outputTopic: config.vectorizedTopic,
    erasedTopic: config.erasedTopic,
    dlqTopic: config.aggregatedDlqTopic,
    batchMaxSize: config.batchMaxSize,
    batchMaxWaitMs: config.batchMaxWaitMs,
    maxInFlightBatches: config.maxInFlightBatches,
    retryInitialMs: config.retryInitialMs,
    retryMaxMs: config.retryMaxMs,
  };
}

/** A consumer group source's knobs (the logger and callbacks are the composition root's). */
export type SourceOptions = Pick<GroupSourceOptions, 'groupId' | 'topic' | 'partitionsConsumedConcurrently' | 'maxBytesPerPartition' | 'sessionTimeoutMs'>;

/** The aggregate stage's consumer and its variables (checked by test/cli/options.test.ts). */
export const AGGREGATE_SOURCE_VARIABLES = {
  groupId: 'AGGREGATE_GROUP_ID',
  topic: 'INPUT_TOPIC',
  partitionsConsumedConcurrently: 'AGGREGATE_PARTITIONS_CONCURRENTLY',
  maxBytesPerPartition: 'AGGREGATE_FETCH_MAX_BYTES',
  sessionTimeoutMs: 'KAFKA_SESSION_TIMEOUT_MS',
} as const satisfies Record<keyof SourceOptions, string>;

export function compileAggregateSourceOptions(config: Config): SourceOptions {
  return {
    groupId: config.aggregateGroupId,
    topic: config.inputTopic,
    partitionsConsumedConcurrently: config.aggregatePartitionsConcurrently,
    maxBytesPerPartition: config.aggregateFetchMaxBytes,
    sessionTimeoutMs: config.kafkaSessionTimeoutMs,
  };
}

/**
 * Partitions the vectorize consumer hands over at once: a micro-batch fills from all of them (the
 * stage keeps each partition's order through its commit tracker), so this is not a knob.
 */
export const VECTORIZE_PARTITIONS_CONCURRENTLY = 6;

/** The vectorize stage's consumer (and reindex's catch-up, under its own group) and its variables. */
export const VECTORIZE_SOURCE_VARIABLES = {
  groupId: 'VECTORIZE_GROUP_ID',
  topic: 'AGGREGATED_TOPIC',
  maxBytesPerPartition: 'VECTORIZE_FETCH_MAX_BYTES',
  sessionTimeoutMs: 'KAFKA_SESSION_TIMEOUT_MS',
} as const satisfies Partial<Record<keyof SourceOptions, string>>;

export function compileVectorizeSourceOptions(config: Config): SourceOptions {
  return {
    groupId: config.vectorizeGroupId,
    topic: config.aggregatedTopic,
    partitionsConsumedConcurrently: VECTORIZE_PARTITIONS_CONCURRENTLY,
    maxBytesPerPartition: config.vectorizeFetchMaxBytes,
    sessionTimeoutMs: config.kafkaSessionTimeoutMs,
  };
}

/** The changelog reader's knobs. */
export type ChangelogReaderOptions = Omit<ConstructorParameters<typeof KafkaChangelogReader>[1], 'logger' | 'internals'>;

export const CHANGELOG_READER_VARIABLES = {
  topic: 'CHANGELOG_TOPIC',
  applicationId: 'APPLICATION_ID',
  timeoutMs: 'RESTORE_TIMEOUT_MS',
  maxBytesPerPartition: 'RESTORE_FETCH_MAX_BYTES',
  fetchMaxWaitMs: 'RESTORE_FETCH_MAX_WAIT_MS',
} as const satisfies Record<keyof ChangelogReaderOptions, string>;

export function compileChangelogReaderOptions(config: Config): ChangelogReaderOptions {
  return {
    topic: config.changelogTopic,
    applicationId: config.applicationId,
    timeoutMs: config.restoreTimeoutMs,
    maxBytesPerPartition: config.restoreFetchMaxBytes,
    fetchMaxWaitMs: config.restoreFetchMaxWaitMs,
  };
}

/** The exactly-once writer's knobs (its limits are read from the broker at start). */
export type TransactionalWriterOptions = Omit<ConstructorParameters<typeof TransactionalBatchWriter>[1], 'logger' | 'limits' | 'onCommit'>;

export const TRANSACTIONAL_WRITER_VARIABLES = {
  applicationId: 'APPLICATION_ID',
  groupId: 'AGGREGATE_GROUP_ID',
  transactionTimeoutMs: 'TRANSACTION_TIMEOUT_MS',
} as const satisfies Record<keyof TransactionalWriterOptions, string>;

export function compileTransactionalWriterOptions(config: Config): TransactionalWriterOptions {
  return { applicationId: config.applicationId, groupId: config.aggregateGroupId, transactionTimeoutMs: config.transactionTimeoutMs };
}

/**
 * The vectorize stage's produce limits: requests under PRODUCE_REQUEST_MAX_BYTES; its topics'
 * max.message.bytes are not read, so each is taken at Kafka's default.
 */
export function compileVectorizeProduceLimits(config: Config): ProduceLimits {
  return new ProduceLimits({ maxMessageBytes: new Map(), maxRequestBytes: config.produceRequestMaxBytes });
}

/** The Qdrant sink's knobs and their variables; QDRANT_API_KEY and QDRANT_CA are passed on when set (none by default). */
export const QDRANT_SINK_VARIABLES = {
  url: 'QDRANT_URL',
  collection: 'VECTOR_COLLECTION',
  timeoutMs: 'STORE_TIMEOUT_MS',
} as const satisfies Partial<Record<keyof QdrantSinkOptions, string>>;

/** The Qdrant sink's options; only for a configuration with QDRANT_URL set (else the store is the embedded LanceDB). */
export function compileQdrantSinkOptions(config: Config): QdrantSinkOptions {
  if (!config.qdrantUrl) throw new AuraError('INTERNAL', 'Qdrant sink options asked for without QDRANT_URL');
  return {
    url: config.qdrantUrl,
    collection: config.collection,
    timeoutMs: config.storeTimeoutMs,
    ...(config.qdrantApiKey && { apiKey: config.qdrantApiKey }),
    ...(config.qdrantCa && { ca: config.qdrantCa }),
  };
}

/** The embedder's knobs (the logger is the composition root's). */
export type EmbedderOptions = Pick<TransformersEmbedderOptions, 'modelId' | 'threads' | 'modelPath'>;

/** The embedder's knobs and their variables (EMBEDDING_MODEL_PATH defaults to the local stack's folder of EMBEDDING_MODEL, see Config). */
export const EMBEDDER_VARIABLES = {
  modelId: 'EMBEDDING_MODEL',
  threads: 'EMBEDDING_THREADS',
  modelPath: 'EMBEDDING_MODEL_PATH',
} as const satisfies Record<keyof EmbedderOptions, string>;

export function compileEmbedderOptions(config: Config): EmbedderOptions {
  return {
    modelId: config.embeddingModel,
    threads: config.embeddingThreads,
    ...(config.embeddingModelPath && { modelPath: resolve(config.embeddingModelPath) }),
  };
}
