import { concatMap, type OperatorFunction } from 'rxjs';
import type { SourceRecord } from '../../ports.js';
import type { TaskRun } from '../state/partition-task.js';

/**
 * Waits until the run's partition may be processed (its writer claimed, its changelog restored;
 * heartbeating meanwhile), then passes on the records of the batch not yet committed: all of them
 * on the first try, the uncommitted rest on a retry.
 */
export function awaitReady(): OperatorFunction<TaskRun, readonly SourceRecord[]> {
  return concatMap(async (run) => {
    await run.task.whenReady(run.batch.heartbeat);
    return run.uncommitted();
  });
}
