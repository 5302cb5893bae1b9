import { asyncScheduler, retry, throwError, timer } from 'rxjs';
import type { MonoTypeOperatorFunction, SchedulerLike } from 'rxjs';
import { AuraError } from '../../errors.js';

export interface BackoffOptions {
  /** Delay before the first retry, before jitter, in ms; ≥ 0. */
  initialMs: number;
  /** Cap on any delay, in ms; ≥ initialMs. */
  maxMs: number;
  /** Growth per retry; ≥ 1 (1 = constant delay). */
  factor: number;
  /**
   * Fraction of the capped delay that is randomised away, in [0, 1]: the delay is drawn uniformly
   * from (base × (1 − jitter), base]. 0 = no jitter, 0.5 = "equal jitter", 1 = "full jitter" (in
   * the sense of the AWS Architecture Blog's "Exponential Backoff And Jitter").
   */
  jitter: number;
}

export interface RetryWithBackoffOptions extends BackoffOptions {
  /** Subscriptions in total, the first included; an integer ≥ 1. Default unlimited. */
  maxAttempts?: number;
  /** Decides per error; a false answer passes the error on at once. Both stages pass `isRetriable` (src/errors.ts). */
  isRetriable: (error: unknown) => boolean;
  /** Called before each wait, with the 1-based retry number and the delay about to be waited. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /**
   * Start the count again once the source emits a value, so a long-lived stream is judged by its
   * consecutive failures. Default true.
   */
  resetOnSuccess?: boolean;
  /** Where the waits are scheduled. Default `asyncScheduler` (virtual inside `TestScheduler.run`). */
  scheduler?: SchedulerLike;
  /** Uniform source in [0, 1). Default `Math.random`; inject a fixed sequence for determinism. */
  random?: () => number;
}

function validate(opts: BackoffOptions): void {
  const { initialMs, maxMs, factor, jitter } = opts;
  const fail = (what: string): never => {
    throw new AuraError('CONFIG', `backoff: ${what} (got ${JSON.stringify(opts)})`);
  };
  if (!Number.isFinite(initialMs) || initialMs < 0) fail('initialMs must be a finite number ≥ 0');
  if (!Number.isFinite(maxMs) || maxMs < initialMs) fail('maxMs must be a finite number ≥ initialMs');
  if (!Number.isFinite(factor) || factor < 1) fail('factor must be a finite number ≥ 1');
  if (!(jitter >= 0 && jitter <= 1)) fail('jitter must be in [0, 1]');
}

/**
 * Delay before retry number `attempt` (1-based): `base = min(maxMs, initialMs × factor^(attempt−1))`,
 * then `base × (1 − jitter × random())`. Never more than `maxMs`, never less than
 * `base × (1 − jitter)`. Not rounded: schedulers accept fractional milliseconds.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  validate(opts);
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new AuraError('INTERNAL', `backoffDelay: attempt must be an integer ≥ 1, got ${String(attempt)}`);
  }
  const grown = opts.initialMs * opts.factor ** (attempt - 1);
  // factor^n overflows to Infinity for large n; the cap applies then too (0 × Infinity is NaN).
  const base = Number.isNaN(grown) ? 0 : Math.min(opts.maxMs, grown);
  const r = Math.min(Math.max(random(), 0), 1);
  return base * (1 - opts.jitter * r);
}

/**
 * Re-subscribes to the source after a retriable error, waiting `backoffDelay(attempt)` between
 * tries; a non-retriable error, or the last error once `maxAttempts` is spent, is passed on
 * unchanged. The source must be cold and safe to repeat, e.g. `defer(() => sink.upsert(points))`:
 * a batch's offsets stay held (not marked done) for as long as it retries.
 */
export function retryWithBackoff<T>(options: RetryWithBackoffOptions): MonoTypeOperatorFunction<T> {
  validate(options);
  const {
    maxAttempts,
    isRetriable,
    onRetry,
    resetOnSuccess = true,
    scheduler = asyncScheduler,
    random = Math.random,
  } = options;
  if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
    throw new AuraError('CONFIG', `retryWithBackoff: maxAttempts must be an integer ≥ 1, got ${String(maxAttempts)}`);
  }
  return retry<T>({
    count: maxAttempts === undefined ? Infinity : maxAttempts - 1,
    resetOnSuccess,
    delay: (error: unknown, attempt: number) => {
      if (!isRetriable(error)) return throwError(() => error);
      const delayMs = backoffDelay(attempt, options, random);
      onRetry?.(error, attempt, delayMs);
      return timer(delayMs, scheduler);
    },
  });
}
