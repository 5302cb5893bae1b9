import { catchError, of, tap, type MonoTypeOperatorFunction } from 'rxjs';
import { classify } from '../../errors.js';
import type { AggregateEvent } from '../domain/aggregate-events.js';
import type { TaskRun } from '../state/partition-task.js';

/**
 * The end of one batch's run, told to the source: `ack` once every transaction is committed (or
 * the run was abandoned); on an error that outlived the retries, the task is invalidated and the
 * source told `nack` (it delivers the batch again from the last resolved offset). A fenced writer
 * (action `reclaim`) becomes a `retrying` event and the partition waits for the next assignment;
 * any other error stops the stage.
 */
export function settleBatch(run: TaskRun, source: { ack(): void; nack(error: Error): void }): MonoTypeOperatorFunction<AggregateEvent> {
  return (events) =>
    events.pipe(
      tap({
        complete: () => source.ack(),
        error: (err: unknown) => {
          const e = classify(err);
          run.failed(e);
          source.nack(e);
        },
      }),
      catchError((err: unknown) => {
        const e = classify(err);
        if (e.action === 'reclaim') return of<AggregateEvent>({ type: 'retrying', partition: run.task.partition, error: e });
        throw e;
      }),
    );
}
