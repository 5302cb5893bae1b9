import { AGGREGATE_STEPS } from './aggregate.js';
import { renderSteps, type TopologyNames } from './steps.js';

export type { TopologyNames };

/**
 * A printable picture of both stages (like Kafka Streams' `Topology#describe()`), for the CLI and
 * the README. It takes only names, so it stays true to the configuration in use.
 */
export function describeTopology(n: TopologyNames): string {
  return [
    `Stage aggregate (group ${n.aggregateGroupId}, ${n.processingGuarantee})`,
    ...renderSteps(AGGREGATE_STEPS, n),
    ``,
    `Stage vectorize (group ${n.vectorizeGroupId}, at-least-once + idempotent point ids)`,
    `  source        ${n.aggregatedTopic}  (read_committed; ContextAggregated)`,
    `  decode        registry → reader schema; poison → ${n.aggregatedDlqTopic}`,
    `  microBatch    flush on BATCH_MAX_SIZE or BATCH_MAX_WAIT_MS; pause the consumer at MAX_IN_FLIGHT_BATCHES`,
    `  coalesce      one point per (user, UTC day): last by offset wins`,
    `  embed         LMDB cache by hash(model, text) → one forward pass for the misses`,
    `  upsert        vector store, confirmed (wait=true), retried with capped backoff + jitter`,
    `  produce       ${n.vectorizedTopic} (ContextVectorized, no vector)`,
    `  commit        per partition, up to the highest offset below which everything is stored`,
  ].join('\n');
}
