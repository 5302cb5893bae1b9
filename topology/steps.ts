/**
 * One named step of a stage: the name of its operator in the topology's pipe and what it does.
 * `{NAME}` in a description stands for a topic of the configuration in use (see renderSteps).
 */
export interface Step {
  name: string;
  description: string;
}

/** Steps as aligned lines; `{NAME}` becomes `values[NAME]`, or NAME when no value is given. */
export function renderSteps(steps: readonly Step[], values: Record<string, string> = {}, indent = '  '): string[] {
  const width = Math.max(...steps.map((s) => s.name.length)) + 2;
  return steps.map((s) => `${indent}${s.name.padEnd(width)}${s.description.replace(/\{([A-Z_]+)\}/g, (_, name: string) => values[name] ?? name)}`);
}
