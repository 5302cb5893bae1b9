import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuraError } from '../../../src/errors.js';
import { stageRetry } from '../../../src/pipeline/operators/stage-retry.js';
import { flaky, newScheduler } from '../../support/marbles.js';

describe('stageRetry, the retry of both stages', () => {
  it('doubles the delay from initialMs, caps it at maxMs and jitters half of it away', () => {
    const seen: Array<[string, number, number]> = [];
    newScheduler().run(({ expectObservable }) => {
      const down = (): AuraError => new AuraError('BROKER_UNAVAILABLE', 'broker gone');
      const { source$ } = flaky([down, down, down, down], 'committed');
      // random() = 1 takes the full half away: 100/2, 200/2, 400/2, then 500 (the cap)/2.
      const retried = source$.pipe(stageRetry({ initialMs: 100, maxMs: 500, random: () => 1, onRetry: (e, a, d) => seen.push([e.code, a, d]) }));
      expectObservable(retried).toBe('600ms (c|)', { c: 'committed' });
    });
    assert.deepEqual(
      seen,
      [
        ['BROKER_UNAVAILABLE', 1, 50],
        ['BROKER_UNAVAILABLE', 2, 100],
        ['BROKER_UNAVAILABLE', 3, 200],
        ['BROKER_UNAVAILABLE', 4, 250],
      ],
      'factor 2, jitter 0.5, capped at maxMs',
    );
  });

  it('hands onRetry the classified error, so a socket error arrives as an AuraError with a code', () => {
    const codes: string[] = [];
    newScheduler().run(({ expectObservable }) => {
      const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      const { source$ } = flaky([reset], 'ok');
      expectObservable(source$.pipe(stageRetry({ initialMs: 10, maxMs: 10, random: () => 0, onRetry: (e) => codes.push(`${e.name}:${e.code}:${e.action}`) }))).toBe('10ms (o|)', { o: 'ok' });
    });
    assert.equal(codes.length, 1, 'one retry');
    assert.match(codes[0]!, /^AuraError:[A-Z_]+:retry$/, `a socket reset is classified as a code whose action is retry (got ${codes[0]})`);
  });

  for (const code of ['FENCED', 'UNDECODABLE', 'CONFIG'] as const) {
    it(`passes ${code} (action ${new AuraError(code, 'x').action}) on at once, without resubscribing`, () => {
      let attempts = (): number => 0;
      const error = new AuraError(code, 'not a transient fault');
      newScheduler().run(({ expectObservable }) => {
        const f = flaky([() => error], 'never');
        attempts = f.attempts;
        expectObservable(f.source$.pipe(stageRetry({ initialMs: 10, maxMs: 10, onRetry: () => assert.fail('no retry') }))).toBe('#', undefined, error);
      });
      assert.equal(attempts(), 1, 'the source was subscribed once');
    });
  }
});
