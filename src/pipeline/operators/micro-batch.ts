import { Observable, asyncScheduler } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { AuraError } from '../../errors.js';

export interface MicroBatchOptions {
  /** Emit as soon as this many items are buffered. An integer ≥ 1 (`BATCH_MAX_SIZE`). */
  maxSize: number;
  /**
   * Emit this long after the FIRST item of the current batch arrived, whatever came since. Finite
   * and ≥ 0 (`BATCH_MAX_WAIT_MS`). The timer runs only while a batch is open: an idle source costs
   * no timers and yields no empty batches.
   */
  maxWaitMs: number;
  /** Where the wait timer is scheduled. Default `asyncScheduler` (virtual inside `TestScheduler.run`). */
  scheduler?: SchedulerLike;
}

/**
 * Groups items into batches of at most `maxSize`, closed by size or by `maxWaitMs` after the batch
 * opened, whichever comes first (docs/ARCHITECTURE.md §4).
 *
 * - Never emits an empty batch.
 * - On source completion the open batch is emitted, then completion.
 * - On source error the open batch is dropped and the error passed on, as rxjs's buffer operators
 *   do: its records were never handed on, so their offsets are still held and they are read again.
 * - Unsubscribing cancels the pending timer.
 * - Re-entrant safe: the batch is detached before it is emitted, so a synchronous upstream emission
 *   triggered by a downstream consumer lands in the next batch.
 * - Built as rxjs documents custom operators (`new Observable` around `source.subscribe`): a
 *   synchronous source that keeps emitting after downstream left runs to the end of its
 *   `subscribe`, and its items are ignored. Kafka sources are asynchronous.
 */
export function microBatch<T>(options: MicroBatchOptions): OperatorFunction<T, T[]> {
  const { maxSize, maxWaitMs, scheduler = asyncScheduler } = options;
  if (!Number.isInteger(maxSize) || maxSize < 1) {
    throw new AuraError('CONFIG', `microBatch: maxSize must be an integer ≥ 1, got ${String(maxSize)}`);
  }
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
    throw new AuraError('CONFIG', `microBatch: maxWaitMs must be a finite number ≥ 0, got ${String(maxWaitMs)}`);
  }

  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let timer: Subscription | null = null;

      const cancelTimer = (): void => {
        timer?.unsubscribe();
        timer = null;
      };
      const flush = (): void => {
        cancelTimer();
        if (buffer.length === 0) return;
        const batch = buffer;
        buffer = [];
        subscriber.next(batch);
      };

      const upstream = source.subscribe({
        next: (item) => {
          // A synchronous source runs on until its subscribe returns, even after downstream left.
          if (subscriber.closed) return;
          buffer.push(item);
          if (buffer.length >= maxSize) flush();
          else if (timer === null) timer = scheduler.schedule(flush, maxWaitMs);
        },
        error: (err: unknown) => {
          cancelTimer();
          buffer = [];
          subscriber.error(err);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        cancelTimer();
        buffer = [];
        upstream.unsubscribe();
      };
    });
}
