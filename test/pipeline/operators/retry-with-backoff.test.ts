import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defer } from 'rxjs';
import { AuraError, isRetriable } from '../../../src/errors.js';
import { backoffDelay, retryWithBackoff } from '../../../src/pipeline/operators/retry-with-backoff.js';
import { flaky, newScheduler } from '../../support/marbles.js';

/** A deterministic uniform source in [0, 1) (a 32-bit LCG), so envelope checks are repeatable. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const storeDown = (): AuraError => new AuraError('STORE_UNAVAILABLE', 'qdrant: connect ECONNREFUSED');
const poison = (): AuraError => new AuraError('INVALID_FIELD', 'snapshot has no text');

describe('backoffDelay', () => {
  const opts = { initialMs: 100, maxMs: 5_000, factor: 2, jitter: 0 };

  it('grows by the factor and stops at the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, opts, () => 0.5));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000], 'doubling from 100 ms, capped at 5 s');
  });

  it('stays at the cap for attempts where the growth overflows', () => {
    assert.equal(backoffDelay(5_000, opts, () => 0), 5_000, 'factor^4999 is Infinity, the delay is the cap');
    assert.equal(backoffDelay(5_000, { ...opts, initialMs: 0 }, () => 0), 0, 'a zero initial delay stays zero, not NaN');
  });

  it('draws every delay from the jitter envelope below the capped base', () => {
    const random = lcg(42);
    for (const jitter of [0.2, 0.5, 1]) {
      const o = { ...opts, jitter };
      for (let attempt = 1; attempt <= 12; attempt += 1) {
        const base = Math.min(o.maxMs, o.initialMs * o.factor ** (attempt - 1));
        for (let i = 0; i < 200; i += 1) {
          const d = backoffDelay(attempt, o, random);
          assert.ok(d <= base && d <= o.maxMs, `attempt ${attempt}, jitter ${jitter}: ${d} is at most the capped base ${base}`);
          assert.ok(d > base * (1 - jitter) - 1e-9, `attempt ${attempt}, jitter ${jitter}: ${d} is above ${base * (1 - jitter)}`);
        }
      }
    }
  });

  it('maps the random draw linearly onto the envelope', () => {
    const o = { ...opts, jitter: 0.5 };
    assert.equal(backoffDelay(3, o, () => 0), 400, 'a draw of 0 gives the full base');
    assert.equal(backoffDelay(3, o, () => 0.5), 300, 'a draw of 0.5 removes a quarter (half of the jitter half)');
    const nearOne = backoffDelay(3, o, () => 0.999_999);
    assert.ok(Math.abs(nearOne - 200.0002) < 1e-9, `a draw near 1 approaches base × (1 − jitter), got ${nearOne}`);
  });

  it('spreads jittered delays instead of synchronising retries', () => {
    const random = lcg(7);
    const draws = Array.from({ length: 100 }, () => backoffDelay(4, { ...opts, jitter: 1 }, random));
    assert.ok(new Set(draws).size > 90, 'full jitter gives (almost) every retry its own delay');
    assert.ok(Math.min(...draws) < 200 && Math.max(...draws) > 600, 'draws cover the envelope (0, 800]');
  });

  it('refuses nonsensical options and attempts', () => {
    assert.throws(() => backoffDelay(0, opts), /attempt/, 'attempt numbers start at 1');
    assert.throws(() => backoffDelay(1, { ...opts, maxMs: 50 }), /maxMs/, 'a cap below the initial delay is refused');
    assert.throws(() => backoffDelay(1, { ...opts, factor: 0.5 }), /factor/, 'a shrinking factor is refused');
    assert.throws(() => backoffDelay(1, { ...opts, jitter: 1.5 }), /jitter/, 'jitter above 1 is refused');
    assert.throws(() => backoffDelay(1, { ...opts, jitter: Number.NaN }), /jitter/, 'NaN jitter is refused');
  });
});

describe('retryWithBackoff', () => {
  const base = { initialMs: 10, maxMs: 25, factor: 2, jitter: 0, isRetriable };

  it('retries transient errors after capped, growing delays in virtual time', () => {
    newScheduler().run(({ expectObservable }) => {
      const { source$ } = flaky([storeDown, storeDown, storeDown], 'stored');
      // Waits of 10, 20 and 25 (capped): success at 55.
      expectObservable(source$.pipe(retryWithBackoff(base))).toBe('55ms (s|)', { s: 'stored' });
    });
  });

  it('reports each retry with its attempt number and delay', () => {
    const retries: Array<[string, number, number]> = [];
    newScheduler().run(({ expectObservable }) => {
      const { source$ } = flaky([storeDown, storeDown, storeDown], 'stored');
      expectObservable(
        source$.pipe(retryWithBackoff({ ...base, onRetry: (e, a, d) => retries.push([(e as AuraError).code, a, d]) })),
      ).toBe('55ms (s|)', { s: 'stored' });
    });
    assert.deepEqual(
      retries,
      [
        ['STORE_UNAVAILABLE', 1, 10],
        ['STORE_UNAVAILABLE', 2, 20],
        ['STORE_UNAVAILABLE', 3, 25],
      ],
      'three retries with growing, capped delays',
    );
  });

  it('passes a non-retriable error on at once without resubscribing', () => {
    const retries: number[] = [];
    let attempts = (): number => 0;
    newScheduler().run(({ expectObservable }) => {
      const f = flaky([poison], 'never');
      attempts = f.attempts;
      expectObservable(f.source$.pipe(retryWithBackoff({ ...base, onRetry: (_e, a) => retries.push(a) }))).toBe(
        '#',
        undefined,
        poison(),
      );
    });
    assert.equal(attempts(), 1, 'the source was subscribed once');
    assert.deepEqual(retries, [], 'no retry was announced');
  });

  it('stops retrying at a non-retriable error that follows transient ones', () => {
    newScheduler().run(({ expectObservable }) => {
      const { source$ } = flaky([storeDown, poison], 'never');
      expectObservable(source$.pipe(retryWithBackoff(base))).toBe('10ms #', undefined, poison());
    });
  });

  it('gives up after maxAttempts subscriptions with the last error', () => {
    let attempts = (): number => 0;
    newScheduler().run(({ expectObservable }) => {
      const f = flaky([storeDown, storeDown, storeDown, storeDown], 'stored');
      attempts = f.attempts;
      // Attempts at 0, 10 and 30; the third failure is final.
      expectObservable(f.source$.pipe(retryWithBackoff({ ...base, maxAttempts: 3 }))).toBe('30ms #', undefined, storeDown());
    });
    assert.equal(attempts(), 3, 'three subscriptions in total, the first included');
  });

  it('uses the injected random source for the jitter', () => {
    newScheduler().run(({ expectObservable }) => {
      const { source$ } = flaky([storeDown, storeDown], 'ok');
      // jitter 0.5 with a draw of 0.5: delays 20 × 0.75 = 15 and 40 × 0.75 = 30, done at 45.
      const result$ = source$.pipe(retryWithBackoff({ ...base, initialMs: 20, maxMs: 40, jitter: 0.5, random: () => 0.5 }));
      expectObservable(result$).toBe('45ms (o|)', { o: 'ok' });
    });
  });

  it('counts consecutive failures only, once the source has emitted', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      let subscription = 0;
      // Each subscription emits a value, then fails: without resetOnSuccess, maxAttempts would end it.
      const source$ = defer(() => {
        subscription += 1;
        return subscription <= 3 ? cold('a#', { a: subscription }, storeDown()) : cold('(a|)', { a: subscription });
      });
      expectObservable(source$.pipe(retryWithBackoff({ ...base, maxAttempts: 2 }))).toBe('a 10ms b 10ms c 10ms (d|)', {
        a: 1,
        b: 2,
        c: 3,
        d: 4,
      });
    });
  });

  it('refuses a maxAttempts below one', () => {
    assert.throws(() => retryWithBackoff({ ...base, maxAttempts: 0 }), /maxAttempts/, 'zero attempts is refused');
  });
});
