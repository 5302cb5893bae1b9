import { BehaviorSubject, Observable, type OperatorFunction } from 'rxjs';
import { AuraError, classify } from './errors.js';

/**
 * A stage's lifecycle, in one module: the state type, the legal moves, the one owner of a stage's
 * state (`Lifecycle`) and the derivation that drives it (`lifecycle$`).
 *
 *   starting → restoring ⇄ running → draining → stopped | failed
 *
 * restoring ↔ running may alternate (every new partition assignment restores first); any state
 * may go to failed; stopped and failed are final.
 */
export type StageState = 'starting' | 'restoring' | 'running' | 'draining' | 'stopped' | 'failed';

const NEXT: Record<StageState, StageState[]> = {
  starting: ['restoring', 'running', 'draining', 'failed'],
  restoring: ['running', 'draining', 'failed'],
  running: ['restoring', 'draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

/** True when `from → to` is a legal move (a repeated state is not a move). */
export function canMove(from: StageState, to: StageState): boolean {
  return NEXT[from].includes(to);
}

/**
 * What an illegal move does. lifecycle$ never asks for one, so one is a bug. Decided once per
 * process: the default throws (tests, where a bug must show at once); the composition root of a
 * running process (src/cli/stage-runtime.ts `runEvents`) logs it instead and the state stays where
 * it was, so a bug in the bookkeeping never stops a stage that works.
 */
export type OnIllegalMove = (error: AuraError) => void;

export const throwIllegalMove: OnIllegalMove = (error) => {
  throw error;
};

/**
 * The one owner of a stage's state, for /readyz, metrics and the supervisor. Its states are decided
 * by `lifecycle$` from the stage's events and the runtime's drain/closed signals.
 */
export class Lifecycle {
  private readonly subject = new BehaviorSubject<StageState>('starting');
  readonly history: StageState[] = ['starting'];
  /** The error the stage failed with, classified. */
  failure: AuraError | undefined;

  constructor(private readonly onIllegalMove: OnIllegalMove = throwIllegalMove) {}

  get state(): StageState {
    return this.subject.value;
  }

  get state$(): Observable<StageState> {
    return this.subject.asObservable();
  }

  /** Moves to `next`; a repeated state is a no-op; an illegal move goes to `onIllegalMove`. Returns whether the state changed. */
  to(next: StageState, error?: Error): boolean {
    const current = this.subject.value;
    if (current === next) return false;
    if (!canMove(current, next)) {
      this.onIllegalMove(new AuraError('INTERNAL', `illegal lifecycle transition ${current} → ${next}`));
      return false;
    }
    if (next === 'failed') this.failure = error && classify(error);
    this.history.push(next);
    this.subject.next(next);
    if (next === 'stopped' || next === 'failed') this.subject.complete();
    return true;
  }

  get isFinal(): boolean {
    return this.state === 'stopped' || this.state === 'failed';
  }
}

/** The runtime's signals: `drain` (SIGTERM, end of a demo or a bench run), then `closed`. */
export type LifecycleSignal = { type: 'drain' } | { type: 'closed'; error?: Error };

export interface StageStatus {
  state: StageState;
  error?: Error;
}

/** restoring / running as a stage's events say it; emitting the same phase again is harmless. */
export type Phases<E> = OperatorFunction<E, 'restoring' | 'running'>;

/**
 * `lifecycle$`: drives `lifecycle` from a stage's event stream and the runtime's signals, and
 * emits each of its states once (the starting state at once), with the error of a failure.
 *
 * - restoring / running: what the stage's events say (`phases`, one per topology, in
 *   topology/lifecycle.ts).
 * - draining: the `drain` signal. From then on the events no longer move the state, and lifecycle$
 *   lets go of the event stream so that the stage's own unsubscribe really stops it.
 * - stopped: the `closed` signal after draining; failed: `closed` with an error, or the event
 *   stream failing at any time. Both are final: the stream completes after them.
 */
export function lifecycle$<E>(phases: Phases<E>, signals$: Observable<LifecycleSignal>, lifecycle: Lifecycle = new Lifecycle()): OperatorFunction<E, StageStatus> {
  return (events$) =>
    new Observable<StageStatus>((subscriber) => {
      const to = (next: StageState, error?: Error) => {
        if (lifecycle.isFinal || !lifecycle.to(next, error)) return;
        subscriber.next(error ? { state: next, error } : { state: next });
        if (lifecycle.isFinal) subscriber.complete();
      };
      subscriber.next({ state: lifecycle.state });
      const events = events$.pipe(phases).subscribe({
        next: (phase) => {
          if (lifecycle.state !== 'draining') to(phase);
        },
        error: (err: unknown) => to('failed', err instanceof Error ? err : new Error(String(err))),
      });
      const signals = signals$.subscribe((signal) => {
        events.unsubscribe();
        if (signal.type === 'drain') {
          to('draining');
        } else {
          if (lifecycle.state !== 'draining' && !signal.error) to('draining');
          to(signal.error ? 'failed' : 'stopped', signal.error);
        }
      });
      return () => {
        events.unsubscribe();
        signals.unsubscribe();
      };
    });
}
