import type { OperatorFunction } from 'rxjs';

/**
 * A topology's steps as data. Each topology builds its pipe from a `Pipe` (below), so the list of
 * steps that `aura-stream describe` and docs/pipeline.md print is the list of operators the pipe
 * runs, in the pipe's order: there is no second copy to keep equal.
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
  /** The operator's name (the function that makes it). */
  name: string;
  /** One line: what the step does, with the configured names. */
  describe(names: TopologyNames): string;
}

/** A step of a pipe: what it is called and does, and how its operator is made from a run's context. */
export interface PipeStep<C> extends TopologyStep {
  // The chain's types are checked where the step is added (`Pipe.then`); the list itself is untyped.
  operator(context: C): OperatorFunction<unknown, unknown>;
}

/**
 * A pipe described by its steps: a source (what feeds it, described but not an operator) and the
 * operators in order. `then` checks that each operator takes what the previous one gives, as
 * `Observable.pipe` does; `build` composes exactly the listed operators, in the listed order.
 */
export class Pipe<C, In, Out> {
  private constructor(
    readonly source: TopologyStep,
    readonly operators: readonly PipeStep<C>[],
  ) {}

  /** A pipe with no operator yet, fed by `source`. */
  static from<C, T>(source: TopologyStep): Pipe<C, T, T> {
    return new Pipe<C, T, T>(source, []);
  }

  /** The pipe with one more step, whose operator takes this pipe's output. */
  then<Next>(name: string, describe: (names: TopologyNames) => string, operator: (context: C) => OperatorFunction<Out, Next>): Pipe<C, In, Next> {
    return new Pipe<C, In, Next>(this.source, [...this.operators, { name, describe, operator: operator as (context: C) => OperatorFunction<unknown, unknown> }]);
  }

  /** Every step, the source first: what `aura-stream describe` prints. */
  get steps(): readonly TopologyStep[] {
    return [this.source, ...this.operators];
  }

  /** The operators of the steps made for `context` and composed in order. */
  build(context: C): OperatorFunction<In, Out> {
    const operators = this.operators.map((s) => s.operator(context));
    return (input) => operators.reduce<ReturnType<OperatorFunction<unknown, unknown>>>((o, op) => op(o), input) as ReturnType<OperatorFunction<In, Out>>;
  }
}

/** The steps as aligned lines, two spaces in. */
export function renderSteps(steps: readonly TopologyStep[], names: TopologyNames): string[] {
  const width = Math.max(...steps.map((s) => s.name.length)) + 2;
  return steps.map((s) => `  ${s.name.padEnd(width)}${s.describe(names)}`);
}
