import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import type { Embedder } from './ports.js';
import type { PartitionLag } from './pipeline/state/consumer-lag.js';

export type StageName = 'aggregate' | 'vectorize';

/** Closed label values, zero-initialised per stage so that rate() and increase() see the first event. */
const OUTCOMES = ['accepted', 'late', 'duplicate', 'dlq', 'superseded', 'erased'] as const;
/** Causes of an erasure (ContextErased.cause, the Avro default `unknown` aside). */
const ERASURE_CAUSES = ['user_deleted', 'retention'] as const;
const codesWith = (...actions: string[]): ErrorCode[] => (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => actions.includes(ERROR_CODES[c].action));

/** `version` of the nearest package.json above this module (works from src/ and dist/src/). */
export function packageVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'aura-stream' && pkg.version) return pkg.version;
    } catch {
      // no package.json here
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/**
 * The metric set, named after Kafka Streams' where it applies (process rate/latency, e2e latency,
 * lateness, dropped records, restore progress, lag). Labels are bounded: `stage` is aggregate |
 * vectorize, `outcome` and `reason` are closed lists (see src/errors.ts codes).
 */
export function createMetrics(registry = new Registry()) {
  // Unprefixed, as stock Node.js dashboards expect (process_cpu_seconds_total, nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total break the exposition conventions (`promtool check metrics`); the same
  // counts stay available per type as nodejs_active_handles / _requests / _resources.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const r = [registry];
  /** Per stage: the Kafka timestamp of its oldest fetched, unconfirmed record (read at scrape time). */
  const unconfirmedSources = new Map<StageName, () => number | undefined>();
  const buildInfo = new Gauge({ name: 'aura_build_info', help: 'Always 1; labels name the running build.', labelNames: ['version', 'node_version'], registers: r });
  buildInfo.set({ version: packageVersion(), node_version: process.version }, 1);
  const metrics = {
    registry,
    buildInfo,
    recordsConsumed: new Counter({ name: 'aura_records_consumed_total', help: 'Records read from the input topic.', labelNames: ['stage'], registers: r }),
    recordsOutcome: new Counter({
      name: 'aura_records_total',
      help: 'Input records by outcome: accepted | late | duplicate | dlq | superseded (coalesced in a batch) | erased (a UserDeleted).',
      labelNames: ['stage', 'outcome'],
      registers: r,
    }),
    erasures: new Counter({ name: 'aura_erasures_total', help: 'Users erased (window dropped / points deleted), by stage and cause', labelNames: ['stage', 'cause'], registers: r }),
    dlq: new Counter({ name: 'aura_dlq_records_total', help: 'Records sent to the dead-letter topic, by error code.', labelNames: ['stage', 'reason'], registers: r }),
    recordsProduced: new Counter({ name: 'aura_records_produced_total', help: 'Records written, by topic kind: output | changelog | dlq.', labelNames: ['stage', 'kind'], registers: r }),
    processLatency: new Histogram({
      name: 'aura_batch_process_seconds',
      help: 'Wall time to process and commit one batch.',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    e2eLatency: new Histogram({
      name: 'aura_record_e2e_latency_seconds',
      help: 'Commit time minus the input record\'s Kafka timestamp.',
      labelNames: ['stage'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: r,
    }),
    lateness: new Histogram({
      name: 'aura_record_lateness_seconds',
      help: 'For accepted events: the window end after folding the event minus its occurred_at (0 when in order; above 0 for an out-of-order event still inside the window).',
      labelNames: ['stage'],
      buckets: [0, 60, 600, 3600, 21600, 86400, 259200, 604800],
      registers: r,
    }),
    transactions: new Counter({ name: 'aura_transactions_total', help: 'Kafka transactions by result: committed | aborted.', labelNames: ['stage', 'result'], registers: r }),
    restoreRecords: new Counter({ name: 'aura_restore_records_total', help: 'Changelog records replayed into LMDB.', labelNames: ['stage'], registers: r }),
    restoreSeconds: new Histogram({ name: 'aura_restore_seconds', help: 'Duration of one restore of newly assigned partitions.', labelNames: ['stage'], buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300], registers: r }),
    kafkajsInternals: new Gauge({
      name: 'aura_kafkajs_internals_ok',
      help: "1 when the kafkajs internals a part relies on passed the start-up self-test, 0 when that part falls back (direct_restore: changelog replay through a consumer group; gzip_codec: kafkajs' own codec).",
      labelNames: ['part'],
      registers: r,
    }),
    retries: new Counter({ name: 'aura_retries_total', help: 'Retries of transient faults, by error code.', labelNames: ['stage', 'code'], registers: r }),
    consumerLag: new Gauge({
      name: 'aura_consumer_lag_records',
      help: "End offset minus the group's committed offset, per owned partition, read from the broker on a timer (LAG_REFRESH_MS), independent of the stage's commits.",
      labelNames: ['stage', 'topic', 'partition'],
      registers: r,
    }),
    consumerLagSeconds: new Gauge({
      name: 'aura_consumer_lag_seconds',
      help: 'Per owned partition with lag: now minus the Kafka timestamp of the oldest fetched, unconfirmed record, or (none fetched) minus when the committed offset was first seen behind; 0 when caught up.',
      labelNames: ['stage', 'topic', 'partition'],
      registers: r,
    }),
    committedOffset: new Gauge({
      name: 'aura_consumer_committed_offset',
      help: "The group's committed offset per owned partition, as the broker reports it (flat while records wait = a stuck consumer).",
      labelNames: ['stage', 'topic', 'partition'],
      registers: r,
    }),
    lagRefreshFailures: new Counter({ name: 'aura_lag_refresh_failures_total', help: 'Lag refreshes that failed (broker unreachable); the lag series keep their last values.', labelNames: ['stage'], registers: r }),
    oldestUnconfirmedAge: new Gauge({
      name: 'aura_oldest_unconfirmed_record_age_seconds',
      help: 'Now minus the Kafka timestamp of the oldest record fetched and not yet confirmed (committed after the sink or transaction confirmed); 0 when none is held.',
      labelNames: ['stage'],
      registers: r,
      collect() {
        for (const [stage, oldest] of unconfirmedSources) {
          const ts = oldest();
          this.set({ stage }, ts === undefined ? 0 : Math.max(0, (Date.now() - ts) / 1000));
        }
      },
    }),
    freshness: new Histogram({
      name: 'aura_index_freshness_seconds',
      help: "From the input event's Kafka timestamp (carried in the snapshot as source_timestamp) to its point confirmed stored in the vector store.",
      labelNames: ['stage'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers: r,
    }),
    assignedPartitions: new Gauge({ name: 'aura_assigned_partitions', help: 'Partitions assigned to this process.', labelNames: ['stage'], registers: r }),
    state: new Gauge({ name: 'aura_stage_state', help: '1 for the current lifecycle state of the stage.', labelNames: ['stage', 'state'], registers: r }),
    embedSeconds: new Histogram({ name: 'aura_embed_seconds', help: 'Forward pass time of one embedding batch.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r }),
    embedErrors: new Counter({ name: 'aura_embed_errors_total', help: 'Embedding calls that failed (the stage then fails and the process restarts).', registers: r }),
    embedTexts: new Counter({ name: 'aura_embed_texts_total', help: 'Texts embedded by the model (cache misses).', registers: r }),
    embeddingCache: new Counter({ name: 'aura_embedding_cache_total', help: 'Embedding cache lookups by result: hit | miss.', labelNames: ['result'], registers: r }),
    upsertSeconds: new Histogram({ name: 'aura_vector_upsert_seconds', help: 'Time of one confirmed vector-store upsert.', labelNames: ['store'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r }),
    pointsUpserted: new Counter({ name: 'aura_vector_points_upserted_total', help: 'Points written to the vector store (after coalescing).', labelNames: ['store'], registers: r }),
    erasedPoints: new Counter({ name: 'aura_erased_points_total', help: 'Points deleted from the vector store by erasures (counted just before each delete).', labelNames: ['store'], registers: r }),
    inFlightBatches: new Gauge({ name: 'aura_inflight_batches', help: 'vectorize micro-batches in flight.', registers: r }),
    consumerPaused: new Gauge({ name: 'aura_consumer_paused', help: '1 while the consumer is paused for back-pressure.', labelNames: ['stage'], registers: r }),
    rebalances: new Counter({ name: 'aura_consumer_rebalances_total', help: 'Consumer-group joins (each completed rebalance, the first join included).', labelNames: ['stage'], registers: r }),
    reindexPoints: new Counter({ name: 'aura_reindex_points_total', help: 'Points written into the version a reindex builds, by phase: copy | catchup.', labelNames: ['phase'], registers: r }),
    reindexRemaining: new Gauge({
      name: 'aura_reindex_remaining',
      help: 'What a reindex still has to do, by phase: copy (points left to copy) | catchup (records of lag behind the aggregated topic).',
      labelNames: ['phase'],
      registers: r,
    }),
    reindexSkipped: new Counter({ name: 'aura_reindex_erased_skipped_total', help: 'Points a reindex did not write (or deleted right after writing) because the live stage had erased them.', registers: r }),
    commitSeconds: new Histogram({
      name: 'aura_commit_seconds',
      help: 'Time to commit consumed offsets: the transaction commit (aggregate, exactly_once) or the offset commit.',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
  };
  const assigned = new Map<string, Set<string>>();
  return {
    ...metrics,
    /**
     * Zero-initialises the stage's series with closed label sets (outcomes, DLQ reasons, retried
     * codes, transaction results), so alerts see the first increment and dashboards show 0, not "no data".
     */
    initStage(stage: StageName): void {
      metrics.recordsConsumed.inc({ stage }, 0);
      for (const outcome of OUTCOMES) metrics.recordsOutcome.inc({ stage, outcome }, 0);
      for (const reason of codesWith('dead-letter')) metrics.dlq.inc({ stage, reason }, 0);
      for (const cause of ERASURE_CAUSES) metrics.erasures.inc({ stage, cause }, 0);
      for (const code of codesWith('retry', 'reclaim')) metrics.retries.inc({ stage, code }, 0);
      if (stage === 'aggregate') for (const result of ['committed', 'aborted']) metrics.transactions.inc({ stage, result }, 0);
      metrics.rebalances.inc({ stage }, 0);
      metrics.assignedPartitions.set({ stage }, 0);
      metrics.consumerPaused.set({ stage }, 0);
      metrics.lagRefreshFailures.inc({ stage }, 0);
      metrics.oldestUnconfirmedAge.set({ stage }, 0);
      if (stage === 'vectorize') metrics.freshness.zero({ stage });
    },
    /** Reads the stage's oldest unconfirmed record timestamp at every scrape (aura_oldest_unconfirmed_record_age_seconds). */
    watchUnconfirmed(stage: StageName, oldest: () => number | undefined): void {
      unconfirmedSources.set(stage, oldest);
    },
    /** A new assignment: counts the rebalance and drops the lag series of partitions no longer owned. */
    assign(stage: StageName, topic: string, partitions: readonly number[]): void {
      metrics.rebalances.inc({ stage });
      metrics.assignedPartitions.set({ stage }, partitions.length);
      const key = `${stage}\0${topic}`;
      const now = new Set(partitions.map(String));
      for (const p of assigned.get(key) ?? []) {
        if (now.has(p)) continue;
        for (const g of [metrics.consumerLag, metrics.consumerLagSeconds, metrics.committedOffset]) g.remove({ stage, topic, partition: p });
      }
      assigned.set(key, now);
    },
    /** Lag of owned partitions (records, seconds, committed offset); partitions no longer owned are ignored. */
    setLag(stage: StageName, topic: string, rows: readonly PartitionLag[]): void {
      for (const row of rows) {
        if (!assigned.get(`${stage}\0${topic}`)?.has(String(row.partition))) continue;
        const labels = { stage, topic, partition: String(row.partition) };
        metrics.consumerLag.set(labels, row.records);
        metrics.consumerLagSeconds.set(labels, row.seconds);
        metrics.committedOffset.set(labels, row.committedOffset);
      }
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The embedder with every failed `embed` call counted (`onError`) before the error goes on. */
export function countingEmbedder(embedder: Embedder, onError: () => void): Embedder {
  return {
    get modelId() {
      return embedder.modelId;
    },
    get modelVersion() {
      return embedder.modelVersion;
    },
    get dimension() {
      return embedder.dimension;
    },
    get manifestSha256() {
      return embedder.manifestSha256;
    },
    get queryPrefix() {
      return embedder.queryPrefix;
    },
    embed: (texts) =>
      embedder.embed(texts).catch((err: unknown) => {
        onError();
        throw err;
      }),
    embedQueries: (texts) =>
      embedder.embedQueries(texts).catch((err: unknown) => {
        onError();
        throw err;
      }),
    close: () => embedder.close(),
  };
}
