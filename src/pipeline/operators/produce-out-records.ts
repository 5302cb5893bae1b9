import { concatMap, defer, map, type OperatorFunction } from 'rxjs';
import type { RecordWriter } from '../../ports.js';
import type { Emitted, Encoded, RetryStep } from '../domain/batch-work.js';

/** Writes the batch's ContextVectorized and ErasureCompleted records (acknowledged by all in-sync replicas); retried. */
export function produceOutRecords(deps: { writer: RecordWriter; retry: RetryStep }): OperatorFunction<Encoded, Emitted> {
  return concatMap((work) => defer(() => deps.writer.send(work.outputs)).pipe(deps.retry('produce'), map((): Emitted => ({ ...work, acknowledged: true }))));
}
