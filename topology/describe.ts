import { renderSteps } from './steps.js';
import { VECTORIZE_STEPS } from './vectorize.js';

export { renderSteps, type Step } from './steps.js';

/**
 * A printable picture of both stages (like Kafka Streams' `Topology#describe()`), for the CLI and
 * the README. It takes only names, so it stays true to the configuration in use.
 */
export interface TopologyNames {
  inputTopic: string;
  aggregatedTopic: string;
  vectorizedTopic: string;
  changelogTopic: string;
  inputDlqTopic: string;
  aggregatedDlqTopic: string;
  aggregateGroupId: string;
  vectorizeGroupId: string;
  processingGuarantee: string;
}

export function describeTopology(n: TopologyNames): string {
  return [
    `Stage aggregate (group ${n.aggregateGroupId}, ${n.processingGuarantee})`,
    `  source        ${n.inputTopic}  (read_committed; MoodCreated | ActivityCreated, Avro)`,
    `  whenReady     claim transactional producer per partition → restore ${n.changelogTopic}[p] from checkpoint to end`,
    `  decode        registry → reader schema; poison → ${n.inputDlqTopic}`,
    `  validate      user id, key = user id, occurred_at ≤ timestamp + 24h, ranges; poison → ${n.inputDlqTopic}`,
    `  rollWindow    LMDB window per user: late | duplicate | accepted (evict, cap)`,
    `  toSnapshot    ContextAggregated (exact statistics, deterministic text)`,
    `  produce       one transaction: ${n.aggregatedTopic} + ${n.changelogTopic}[p] + DLQ + consumed offsets`,
    `  store.apply   LMDB states + changelog checkpoint, after commit`,
    ``,
    `Stage vectorize (group ${n.vectorizeGroupId}, at-least-once + idempotent point ids)`,
    ...renderSteps(VECTORIZE_STEPS, { AGGREGATED_TOPIC: n.aggregatedTopic, AGGREGATED_DLQ_TOPIC: n.aggregatedDlqTopic, VECTORIZED_TOPIC: n.vectorizedTopic }),
  ].join('\n');
}
