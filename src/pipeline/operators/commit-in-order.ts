import { Observable, concatMap, type OperatorFunction } from 'rxjs';

/**
 * Commits the items of `folds` strictly one after another, folding the next item while the
 * previous one commits: item k+1 is pulled from the iterator (which folds it) right after the
 * commit of item k has been started and has had one turn of the event loop to send its first
 * request. At most one item is folded ahead. Results are emitted in order; the first failed commit
 * errors the stream and nothing after it is committed (the item folded ahead is dropped).
 */
export function pipelineCommits<T, R>(folds: Iterable<T>, commit: (item: T) => Promise<R>): Observable<R> {
  return new Observable<R>((subscriber) => {
    const iterator = folds[Symbol.iterator]();
    let stopped = false;
    const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    void (async () => {
      let current = iterator.next();
      while (!current.done && !stopped) {
        const committing = commit(current.value);
        committing.catch(() => undefined);
        await yieldTurn();
        let next: IteratorResult<T> = { done: true, value: undefined };
        let foldError: unknown;
        try {
          if (!stopped) next = iterator.next();
        } catch (err) {
          // Reported after the commit in flight has settled, so no write outlives the stream.
          foldError = err;
        }
        const result = await committing;
        if (stopped) return;
        subscriber.next(result);
        if (foldError !== undefined) throw foldError;
        current = next;
      }
      if (!stopped) subscriber.complete();
    })().catch((err: unknown) => {
      if (!stopped) subscriber.error(err);
    });
    return () => {
      stopped = true;
    };
  });
}

/** `pipelineCommits` as an operator over sequences of folded items. */
export function commitInOrder<T, R>(commit: (item: T) => Promise<R>): OperatorFunction<Iterable<T>, R> {
  return concatMap((folds) => pipelineCommits(folds, commit));
}
