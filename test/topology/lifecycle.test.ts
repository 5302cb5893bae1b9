import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import type { AggregateEvent } from '../../topology/aggregate.js';
import { lifecycle$, type LifecycleSignal, type StageStatus } from '../../src/lifecycle.js';
import { aggregatePhases, vectorizePhases } from '../../topology/lifecycle.js';
import type { VectorizeEvent } from '../../topology/vectorize.js';

// lifecycle$ in virtual time (marbles): states from the stage's events and the runtime's signals.

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const states = (s: StageStatus) => s.state;

const V: Record<string, VectorizeEvent> = {
  a: { type: 'assigned', partitions: [0, 1] },
  s: { type: 'committed', offsets: [] },
  p: { type: 'paused' },
};
const A: Record<string, AggregateEvent> = {
  a: { type: 'assigned', partitions: [0, 1], restoring: [0, 1] },
  r: { type: 'restored', partition: 0, records: 10, nextOffset: '10', seconds: 0.1 },
  t: { type: 'restored', partition: 1, records: 5, nextOffset: '5', seconds: 0.1 },
  b: { type: 'assigned', partitions: [1, 2], restoring: [2] },
  u: { type: 'restored', partition: 2, records: 1, nextOffset: '1', seconds: 0.1 },
};
const SIG: Record<string, LifecycleSignal> = { d: { type: 'drain' }, c: { type: 'closed' } };

describe('lifecycle$ (vectorize)', () => {
  it('starting → running on the first assignment → draining on drain → stopped on closed, then completes', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const events = hot('  --a--s--p--a--s-', V);
      const signals = hot(' -----------d---c', SIG);
      const expected = '    s-r--------d---(x|)';
      expectObservable(events.pipe(lifecycle$(vectorizePhases, signals), map(states))).toBe(expected, { s: 'starting', r: 'running', d: 'draining', x: 'stopped' });
      void cold;
    });
  });

  it('lets go of the events when draining: later events move nothing, and the stage can be torn down', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const events = hot('  --a---a--a', V);
      const signals = hot(' ----d------', SIG);
      expectObservable(events.pipe(lifecycle$(vectorizePhases, signals), map(states))).toBe('s-r-d------', { s: 'starting', r: 'running', d: 'draining' });
      expectSubscriptions(events.subscriptions).toBe('^---!');
    });
  });

  it('a failing event stream is failed at once, with its error, from any state', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const boom = new Error('store refused');
      const events = hot('  --a--#', V, boom);
      const signals = hot(' -------', SIG);
      expectObservable(lifecycle$(vectorizePhases, signals)(events)).toBe('s-r--(f|)', {
        s: { state: 'starting' },
        r: { state: 'running' },
        f: { state: 'failed', error: boom },
      });
    });
  });

  it('closed with an error after draining is failed; closed without drain still passes through draining', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const err = new Error('close failed');
      const failing = hot<LifecycleSignal>('---d-c', { d: { type: 'drain' }, c: { type: 'closed', error: err } });
      expectObservable(lifecycle$(vectorizePhases, failing)(hot('-a----', V))).toBe('sr-d-(f|)', {
        s: { state: 'starting' },
        r: { state: 'running' },
        d: { state: 'draining' },
        f: { state: 'failed', error: err },
      });
    });
    scheduler().run(({ hot, expectObservable }) => {
      expectObservable(hot('-a--', V).pipe(lifecycle$(vectorizePhases, hot('---c', SIG)), map(states))).toBe('sr-(dx|)', { s: 'starting', r: 'running', d: 'draining', x: 'stopped' });
    });
  });
});

describe('lifecycle$ (aggregate)', () => {
  it('restoring until every assigned partition is restored, restoring again for a new one, then running', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const events = hot('  -a-r--t--b---u--', A);
      const signals = hot(' ----------------d', SIG);
      expectObservable(events.pipe(lifecycle$(aggregatePhases, signals), map(states))).toBe('sR----r--R---r--d', { s: 'starting', R: 'restoring', r: 'running', d: 'draining' });
    });
  });

  it('a partition revoked while restoring no longer holds the stage in restoring', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const events = hot<AggregateEvent>('-a-r-c', { ...A, c: { type: 'assigned', partitions: [0], restoring: [] } });
      expectObservable(events.pipe(lifecycle$(aggregatePhases, hot('------', SIG)), map(states))).toBe('sR---r', { s: 'starting', R: 'restoring', r: 'running' });
    });
  });
});
