import { BehaviorSubject, type Observable } from 'rxjs';
import { AuraError } from './errors.js';

/**
 * Stage lifecycle: starting → restoring → running → draining → stopped | failed.
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
 * The current state of one stage, for /readyz, metrics and the supervisor. Its states are decided
 * by `lifecycle$` (topology/lifecycle.ts) from the stage's events and the runtime's drain/closed
 * signals; `to` only records them (and refuses illegal moves).
 */
export class Lifecycle {
  private readonly subject = new BehaviorSubject<StageState>('starting');
  readonly history: StageState[] = ['starting'];
  failure: Error | undefined;

  get state(): StageState {
    return this.subject.value;
  }

  get state$(): Observable<StageState> {
    return this.subject.asObservable();
  }

  /** Moves to `next`; a repeated state is a no-op; an illegal move throws (a bug, not an input). */
  to(next: StageState, error?: Error): void {
    const current = this.subject.value;
    if (current === next) return;
    if (!NEXT[current].includes(next)) throw new AuraError('INTERNAL', `illegal lifecycle transition ${current} → ${next}`);
    if (next === 'failed') this.failure = error;
    this.history.push(next);
    this.subject.next(next);
    if (next === 'stopped' || next === 'failed') this.subject.complete();
  }

  get isFinal(): boolean {
    return this.state === 'stopped' || this.state === 'failed';
  }
}
