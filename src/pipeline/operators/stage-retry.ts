import type { MonoTypeOperatorFunction, SchedulerLike } from 'rxjs';
import { classify, isRetriable, type AuraError } from '../../errors.js';
import { retryWithBackoff } from './retry-with-backoff.js';

/** Growth per retry and jitter of every stage's back-off: doubling, "equal jitter". */
export const STAGE_BACKOFF = { factor: 2, jitter: 0.5 } as const;

export interface StageRetryOptions {
  /** RETRY_INITIAL_MS: delay before the first retry, before jitter. */
  initialMs: number;
  /** RETRY_MAX_MS: cap on any delay. */
  maxMs: number;
  /** Called before each wait with the classified error, the 1-based retry number and the delay. */
  onRetry?: (error: AuraError, attempt: number, delayMs: number) => void;
  /** Where the waits are scheduled (virtual in tests). */
  scheduler?: SchedulerLike;
  /** Jitter source in [0, 1). */
  random?: () => number;
}

/**
 * The retry of both stages: `retryWithBackoff` with the one retry predicate (`isRetriable`, an
 * error whose code has the action `retry`, src/errors.ts), doubling delays from RETRY_INITIAL_MS
 * capped at RETRY_MAX_MS, half of each delay jittered away, unlimited attempts, the count started
 * again after every value. Anything not retriable (a fenced writer, poison, a fault of
 * configuration) passes on unchanged at once.
 */
export function stageRetry<T>(options: StageRetryOptions): MonoTypeOperatorFunction<T> {
  const { initialMs, maxMs, onRetry, scheduler, random } = options;
  return retryWithBackoff<T>({
    initialMs,
    maxMs,
    ...STAGE_BACKOFF,
    isRetriable,
    ...(onRetry && { onRetry: (e: unknown, attempt: number, delayMs: number) => onRetry(classify(e), attempt, delayMs) }),
    ...(scheduler && { scheduler }),
    ...(random && { random }),
  });
}
