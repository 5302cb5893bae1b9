import { concat, concatMap, defer, ignoreElements, type OperatorFunction } from 'rxjs';
import type { VectorWriter } from '../../ports.js';
import type { ErasureOutcome, Prepared, RetryStep, Stored } from '../domain/batch-work.js';

/**
 * The batch's store writes, deletes before upserts: first each erasure in batch order (the user's
 * points, all or those ending before `before`, counted and deleted, confirmed), then the upsert of
 * the points, confirmed. Both live in this one step because batches pass it one after another: an
 * erasure never runs while an earlier batch's upsert of the same user is still in flight.
 * Transient faults are retried (`delete`, `upsert`); a retry continues after the last confirmed
 * erasure, so each erasure reports the count of its first confirmed delete.
 */
export function storeBatch(deps: { sink: Pick<VectorWriter, 'upsert' | 'deleteUser'>; now: () => number; retry: RetryStep }): OperatorFunction<Prepared, Stored> {
  return concatMap((work) => {
    const outcomes: ErasureOutcome[] = [];
    const erase$ = defer(async () => {
      for (const { erasure } of work.erasures.slice(outcomes.length)) {
        const pointsDeleted = await deps.sink.deleteUser(erasure.user_id, erasure.before ?? undefined);
        outcomes.push({ pointsDeleted, completedAt: deps.now() });
      }
    }).pipe(deps.retry<void>('delete'));
    const upsert$ = defer(async (): Promise<Stored> => {
      const t = deps.now();
      if (work.points.length > 0) await deps.sink.upsert(work.points);
      const storedAt = deps.now();
      return { ...work, erasureOutcomes: outcomes, upsertSeconds: (storedAt - t) / 1000, storedAt };
    }).pipe(deps.retry<Stored>('upsert'));
    return work.erasures.length > 0 ? concat(erase$.pipe(ignoreElements()), upsert$) : upsert$;
  });
}

