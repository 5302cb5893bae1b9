import { EMPTY, concat, concatMap, defer, filter, map, of, type MonoTypeOperatorFunction, type Observable, type OperatorFunction } from 'rxjs';
import type { RecordSource, TopicPartition } from '../../ports.js';
import type { CommitTracker, CommittableOffset } from '../state/commit-tracker.js';

/**
 * Commits, per assigned partition, the highest offset below which every tracked record is done;
 * returns what it committed (nothing when nothing moved). Offsets of partitions no longer
 * assigned are never committed.
 */
export function committer(deps: { tracker: CommitTracker; source: Pick<RecordSource, 'commit'>; assigned: () => TopicPartition[] }): () => Promise<CommittableOffset[]> {
  return async () => {
    const mine = new Set(deps.assigned().map((p) => `${p.topic}:${p.partition}`));
    const offsets = deps.tracker.committable().filter((o) => mine.has(`${o.topic}:${o.partition}`));
    if (offsets.length > 0) {
      await deps.source.commit(offsets);
      deps.tracker.markCommitted(offsets);
    }
    return offsets;
  };
}

/**
 * After each stored batch: the batch's report, then a commit of what is done (retried), then
 * `released` (the batch is out of flight). Emits `{ committed }` only when offsets moved.
 */
export function commitDone<T>(deps: {
  commit: () => Promise<CommittableOffset[]>;
  retry: MonoTypeOperatorFunction<CommittableOffset[]>;
  released: () => void;
}): OperatorFunction<T, T | { committed: CommittableOffset[] }> {
  return concatMap((stored): Observable<T | { committed: CommittableOffset[] }> => {
    const commit$ = defer(deps.commit).pipe(
      deps.retry,
      filter((offsets) => offsets.length > 0),
      map((committed) => ({ committed })),
    );
    const release$ = defer(() => {
      deps.released();
      return EMPTY;
    });
    return concat(of(stored), commit$, release$);
  });
}
