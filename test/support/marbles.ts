// Shared by the operator tests that run in rxjs virtual time. Not a test file.
import assert from 'node:assert/strict';
import { defer, of, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

/** A virtual-time scheduler whose frame comparison fails with node:assert's diff. */
export const newScheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => assert.deepEqual(actual, expected, 'emitted frames differ from the marble diagram'));

/** A cold source that fails with `errors[i]` on subscription i and then succeeds with `value`. */
export function flaky<T>(errors: Array<() => unknown>, value: T): { source$: Observable<T>; attempts: () => number } {
  let n = 0;
  const source$ = defer(() => {
    const error = errors[n];
    n += 1;
    return error === undefined ? of(value) : throwError(error);
  });
  return { source$, attempts: () => n };
}
