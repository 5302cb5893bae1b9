import { concatMap, defer, map, type MonoTypeOperatorFunction } from 'rxjs';
import type { RecordWriter } from '../../ports.js';
import type { BatchWork, RetryStep } from '../domain/batch-work.js';

/** Writes the batch's ContextVectorized records (acknowledged by all in-sync replicas); retried. */
export function produceOutRecords(deps: { writer: RecordWriter; retry: RetryStep }): MonoTypeOperatorFunction<BatchWork> {
  return concatMap((work) => defer(() => deps.writer.send(work.outputs)).pipe(deps.retry('produce'), map(() => work)));
}
