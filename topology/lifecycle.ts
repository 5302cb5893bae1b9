import { Observable, filter, map, scan, type OperatorFunction } from 'rxjs';
import { canMove, type StageState } from '../src/lifecycle.js';
import type { AggregateEvent } from './aggregate.js';
import type { VectorizeEvent } from './vectorize.js';

/**
 * `lifecycle$`: a stage's lifecycle derived from its event stream and the runtime's signals.
 *
 *   starting → restoring ⇄ running → draining → stopped | failed
 *
 * - restoring / running: what the stage's events say (`phases`, one per topology below).
 * - draining: the runtime's `drain` signal (SIGTERM, end of a demo or a bench run). From then on
 *   the events no longer move the state, and lifecycle$ lets go of the event stream so that the
 *   stage's own unsubscribe really stops it.
 * - stopped: the runtime's `closed` signal after draining; failed: `closed` with an error, or the
 *   event stream failing at any time. Both are final: the stream completes after them.
 *
 * Emits the starting state at once, then each state once when it changes, with the error of a
 * failure.
 */
export type LifecycleSignal = { type: 'drain' } | { type: 'closed'; error?: Error };

export interface StageStatus {
  state: StageState;
  error?: Error;
}

/** restoring / running as a stage's events say it; emitting the same phase again is harmless. */
export type Phases<E> = OperatorFunction<E, 'restoring' | 'running'>;

export function lifecycle$<E>(phases: Phases<E>, signals$: Observable<LifecycleSignal>): OperatorFunction<E, StageStatus> {
  return (events$) =>
    new Observable<StageStatus>((subscriber) => {
      let state: StageState = 'starting';
      const to = (next: StageState, error?: Error) => {
        if (next === state || !canMove(state, next)) return;
        state = next;
        subscriber.next(error ? { state, error } : { state });
        if (next === 'stopped' || next === 'failed') subscriber.complete();
      };
      subscriber.next({ state });
      const events = events$.pipe(phases).subscribe({
        next: (phase) => to(phase),
        error: (err: unknown) => to('failed', err instanceof Error ? err : new Error(String(err))),
      });
      const signals = signals$.subscribe((signal) => {
        if (signal.type === 'drain') {
          events.unsubscribe();
          to('draining');
        } else {
          events.unsubscribe();
          if (state !== 'draining' && !signal.error) to('draining');
          to(signal.error ? 'failed' : 'stopped', signal.error);
        }
      });
      return () => {
        events.unsubscribe();
        signals.unsubscribe();
      };
    });
}

/** vectorize holds no state to restore: running from its first assignment. */
export const vectorizePhases: Phases<VectorizeEvent> = (events$) =>
  events$.pipe(
    filter((e) => e.type === 'assigned'),
    map(() => 'running' as const),
  );

/**
 * aggregate restores every newly assigned partition from its changelog before it processes it:
 * restoring while any assigned partition is not restored yet, running once all are.
 */
export const aggregatePhases: Phases<AggregateEvent> = (events$) =>
  events$.pipe(
    filter((e): e is Extract<AggregateEvent, { type: 'assigned' | 'restored' }> => e.type === 'assigned' || e.type === 'restored'),
    scan((restoring, e) => {
      const next = new Set(restoring);
      if (e.type === 'assigned') {
        for (const p of [...next]) if (!e.partitions.includes(p)) next.delete(p);
        for (const p of e.restoring) next.add(p);
      } else next.delete(e.partition);
      return next;
    }, new Set<number>()),
    map((restoring) => (restoring.size > 0 ? ('restoring' as const) : ('running' as const))),
  );
