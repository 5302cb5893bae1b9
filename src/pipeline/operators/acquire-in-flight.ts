import { tap, type MonoTypeOperatorFunction } from 'rxjs';
import type { InFlightGate } from '../state/in-flight-gate.js';

/** Counts each batch as in flight as it starts (the gate pauses the consumer at its bound); `commitDone` releases it. */
export function acquireInFlight<T>(gate: Pick<InFlightGate, 'acquire'>): MonoTypeOperatorFunction<T> {
  return tap(() => gate.acquire());
}
