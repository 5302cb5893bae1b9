/**
 * A topology's steps as data: each topology exports its list, and `aura-stream describe`, the
 * topology's doc comment and docs/pipeline.md are checked against it (test/topology/steps.test.ts).
 */
export interface TopologyNames {
  inputTopic: string;
  aggregatedTopic: string;
  vectorizedTopic: string;
  erasedTopic: string;
  changelogTopic: string;
  inputDlqTopic: string;
  aggregatedDlqTopic: string;
  aggregateGroupId: string;
  vectorizeGroupId: string;
  processingGuarantee: string;
}

export interface TopologyStep {
  /** The operator's name, as written in the topology's pipe. */
  name: string;
  /** One line: what the step does, with the configured names. */
  describe(names: TopologyNames): string;
}

/** The steps as aligned lines, two spaces in. */
export function renderSteps(steps: readonly TopologyStep[], names: TopologyNames): string[] {
  const width = Math.max(...steps.map((s) => s.name.length)) + 2;
  return steps.map((s) => `  ${s.name.padEnd(width)}${s.describe(names)}`);
}
