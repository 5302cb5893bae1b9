import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The metric set, named after Kafka Streams' where it applies (process rate/latency, e2e latency,
 * lateness, dropped records, restore progress, lag). Labels are bounded: `stage` is aggregate |
 * vectorize, `outcome` and `reason` are closed lists (see src/errors.ts codes).
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'aura_process_' });
  const r = [registry];
  return {
    registry,
    recordsConsumed: new Counter({ name: 'aura_records_consumed_total', help: 'Records read from the input topic.', labelNames: ['stage'], registers: r }),
    recordsOutcome: new Counter({
      name: 'aura_records_total',
      help: 'Input records by outcome: accepted | late | duplicate | dlq | superseded (coalesced in a batch).',
      labelNames: ['stage', 'outcome'],
      registers: r,
    }),
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
      help: 'For accepted events: window end before the event minus its occurred_at (0 when in order).',
      labelNames: ['stage'],
      buckets: [0, 60, 600, 3600, 21600, 86400, 259200, 604800],
      registers: r,
    }),
    transactions: new Counter({ name: 'aura_transactions_total', help: 'Kafka transactions by result: committed | aborted.', labelNames: ['stage', 'result'], registers: r }),
    restoreRecords: new Counter({ name: 'aura_restore_records_total', help: 'Changelog records replayed into LMDB.', labelNames: ['stage'], registers: r }),
    restoreSeconds: new Histogram({ name: 'aura_restore_seconds', help: 'Duration of one restore of newly assigned partitions.', labelNames: ['stage'], buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300], registers: r }),
    retries: new Counter({ name: 'aura_retries_total', help: 'Retries of transient faults, by error code.', labelNames: ['stage', 'code'], registers: r }),
    consumerLag: new Gauge({ name: 'aura_consumer_lag_records', help: 'High watermark minus the last processed offset, per partition.', labelNames: ['stage', 'topic', 'partition'], registers: r }),
    assignedPartitions: new Gauge({ name: 'aura_assigned_partitions', help: 'Partitions assigned to this process.', labelNames: ['stage'], registers: r }),
    state: new Gauge({ name: 'aura_stage_state', help: '1 for the current lifecycle state of the stage.', labelNames: ['stage', 'state'], registers: r }),
    embedSeconds: new Histogram({ name: 'aura_embed_seconds', help: 'Forward pass time of one embedding batch.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r }),
    embedTexts: new Counter({ name: 'aura_embed_texts_total', help: 'Texts embedded by the model (cache misses).', registers: r }),
    embeddingCache: new Counter({ name: 'aura_embedding_cache_total', help: 'Embedding cache lookups by result: hit | miss.', labelNames: ['result'], registers: r }),
    upsertSeconds: new Histogram({ name: 'aura_vector_upsert_seconds', help: 'Time of one confirmed vector-store upsert.', labelNames: ['store'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r }),
    pointsUpserted: new Counter({ name: 'aura_vector_points_upserted_total', help: 'Points written to the vector store (after coalescing).', labelNames: ['store'], registers: r }),
    inFlightBatches: new Gauge({ name: 'aura_inflight_batches', help: 'vectorize micro-batches in flight.', registers: r }),
    consumerPaused: new Gauge({ name: 'aura_consumer_paused', help: '1 while the consumer is paused for back-pressure.', labelNames: ['stage'], registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
