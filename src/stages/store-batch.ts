import { concatMap, defer, map, type MonoTypeOperatorFunction } from 'rxjs';
import type { RecordWriter, VectorWriter } from '../ports.js';
import type { BatchWork, RetryStep } from './batch-work.js';

/** Upserts the batch's points; resolves once the store confirmed. Transient faults are retried. */
export function storeBatch(deps: { sink: VectorWriter; now: () => number; retry: RetryStep }): MonoTypeOperatorFunction<BatchWork> {
  return concatMap((work) =>
    defer(async () => {
      const t = deps.now();
      await deps.sink.upsert(work.points);
      return { ...work, upsertSeconds: (deps.now() - t) / 1000 };
    }).pipe(deps.retry('upsert')),
  );
}

/** Writes the batch's ContextVectorized records (acknowledged by all in-sync replicas); retried. */
export function produceOutRecords(deps: { writer: RecordWriter; retry: RetryStep }): MonoTypeOperatorFunction<BatchWork> {
  return concatMap((work) => defer(() => deps.writer.send(work.outputs)).pipe(deps.retry('produce'), map(() => work)));
}

