import { AGGREGATE_PIPE } from './aggregate.js';
import { renderSteps, type TopologyNames } from './steps.js';
import { VECTORIZE_PIPE } from './vectorize.js';

export { renderSteps, type TopologyNames, type TopologyStep } from './steps.js';

/**
 * A printable picture of both stages (like Kafka Streams' `Topology#describe()`), for the CLI and
 * docs/pipeline.md. It takes only names, so it stays true to the configuration in use.
 */
export function describeTopology(n: TopologyNames): string {
  return [
    `Stage aggregate (group ${n.aggregateGroupId}, ${n.processingGuarantee})`,
    ...renderSteps(AGGREGATE_PIPE.steps, n),
    ``,
    `Stage vectorize (group ${n.vectorizeGroupId}, at-least-once + idempotent point ids)`,
    ...renderSteps(VECTORIZE_PIPE.steps, n),
  ].join('\n');
}
