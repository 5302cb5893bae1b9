import { AuraError } from '../../errors.js';

/**
 * Counts batches in flight and turns the count into consumer pause/resume with hysteresis, so the
 * consumer does not flap around the limit (docs/ARCHITECTURE.md §4, bounded in-flight work).
 *
 * - `acquire()` when a batch starts: reaching `maxInFlight` calls `onPause` once.
 * - `release()` when it ends (stored, DLQ'd or abandoned): dropping below `lowWaterMark` while
 *   paused calls `onResume` once.
 *
 * `acquire` never blocks or refuses: a consumer keeps delivering what it fetched before the pause
 * took effect, so the count may exceed `maxInFlight` for a moment. The state changes before a
 * callback runs, so a callback that throws leaves the gate consistent.
 */
export class InFlightGate {
  private count = 0;
  private isPaused = false;
  readonly lowWaterMark: number;

  /**
   * @param maxInFlight batches in flight at which the source is paused; an integer ≥ 1.
   * @param lowWaterMark the source resumes once fewer than this many are in flight; an integer in
   *   [1, maxInFlight]. Default `ceil(maxInFlight / 2)`. Equal to `maxInFlight` = no hysteresis.
   */
  constructor(
    readonly maxInFlight: number,
    private readonly onPause: () => void,
    private readonly onResume: () => void,
    lowWaterMark: number = Math.ceil(maxInFlight / 2),
  ) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new AuraError('CONFIG', `InFlightGate: maxInFlight must be an integer ≥ 1, got ${String(maxInFlight)}`);
    }
    if (!Number.isInteger(lowWaterMark) || lowWaterMark < 1 || lowWaterMark > maxInFlight) {
      throw new AuraError('CONFIG', `InFlightGate: lowWaterMark must be an integer in [1, ${maxInFlight}], got ${String(lowWaterMark)}`);
    }
    this.lowWaterMark = lowWaterMark;
  }

  /** Batches acquired and not yet released. */
  get inFlight(): number {
    return this.count;
  }

  /** True between an `onPause` and the following `onResume`. */
  get paused(): boolean {
    return this.isPaused;
  }

  acquire(): void {
    this.count += 1;
    if (!this.isPaused && this.count >= this.maxInFlight) {
      this.isPaused = true;
      this.onPause();
    }
  }

  /** Throws on a release without a matching acquire: a double release would hide a leak. */
  release(): void {
    if (this.count === 0) throw new AuraError('INTERNAL', 'InFlightGate.release() without a matching acquire()');
    this.count -= 1;
    if (this.isPaused && this.count < this.lowWaterMark) {
      this.isPaused = false;
      this.onResume();
    }
  }
}
