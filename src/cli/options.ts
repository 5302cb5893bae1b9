import type { Config } from '../config.js';
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
