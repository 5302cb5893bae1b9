import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NEVER, Subject, VirtualTimeScheduler, concat, of } from 'rxjs';
import { take } from 'rxjs';
import { microBatch } from '../../../src/pipeline/operators/micro-batch.js';
import { newScheduler } from '../../support/marbles.js';

describe('microBatch', () => {
  it('emits a batch as soon as maxSize items are buffered', () => {
    newScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a-b-c-d-e-f-|');
      const subs = '    ^-------------!';
      const expected = '------x-----y-|';
      expectObservable(e1.pipe(microBatch({ maxSize: 3, maxWaitMs: 100 }))).toBe(expected, {
        x: ['a', 'b', 'c'],
        y: ['d', 'e', 'f'],
      });
      expectSubscriptions(e1.subscriptions).toBe(subs);
    });
  });

  it('emits maxWaitMs after the first item of a batch, not on a fixed interval', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      // a opens a batch at 3, b joins at 5 without moving the deadline: flush at 3 + 5 = 8.
      // c opens the next batch at 14 (an interval ticking from 0 would fire at 15): flush at 19.
      const e1 = hot('  ---a-b--------c--------|');
      const expected = '--------x----------y---|';
      expectObservable(e1.pipe(microBatch({ maxSize: 10, maxWaitMs: 5 }))).toBe(expected, {
        x: ['a', 'b'],
        y: ['c'],
      });
    });
  });

  it('closes a batch by whichever of size or time comes first', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      // a,b,c fill the batch at 3; d opens a new one at 5 whose timer fires at 9.
      const e1 = hot('  -abc-d-------|');
      const expected = '---x-----y---|';
      expectObservable(e1.pipe(microBatch({ maxSize: 3, maxWaitMs: 4 }))).toBe(expected, {
        x: ['a', 'b', 'c'],
        y: ['d'],
      });
    });
  });

  it('emits nothing while the source is idle', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const e1 = hot('  -a 100ms -|');
      const expected = '- 10ms x 91ms |';
      expectObservable(e1.pipe(microBatch({ maxSize: 10, maxWaitMs: 10 }))).toBe(expected, { x: ['a'] });
    });
    newScheduler().run(({ expectObservable }) => {
      expectObservable(NEVER.pipe(microBatch({ maxSize: 2, maxWaitMs: 1 })), '^ 1000ms !').toBe('');
    });
  });

  it('flushes the open batch when the source completes, then completes', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const e1 = hot('  -a-b-|');
      const expected = '-----(x|)';
      expectObservable(e1.pipe(microBatch({ maxSize: 10, maxWaitMs: 50 }))).toBe(expected, { x: ['a', 'b'] });
    });
  });

  it('completes without an empty batch when the source completes with nothing buffered', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('---|').pipe(microBatch({ maxSize: 2, maxWaitMs: 1 }))).toBe('---|');
    });
  });

  it('passes an error on at once, dropping the open batch', () => {
    newScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const failure = new Error('source failed');
      const e1 = hot('  -a-b-c-#', undefined, failure);
      const subs = '    ^------!';
      const expected = '---x---#';
      expectObservable(e1.pipe(microBatch({ maxSize: 2, maxWaitMs: 50 }))).toBe(expected, { x: ['a', 'b'] }, failure);
      expectSubscriptions(e1.subscriptions).toBe(subs);
    });
  });

  it('unsubscribes from the source when the consumer unsubscribes', () => {
    newScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  -a-b-c-d-e-|');
      const unsub = '   -------!';
      const subs = '    ^------!';
      const expected = '---x---';
      expectObservable(e1.pipe(microBatch({ maxSize: 2, maxWaitMs: 50 })), unsub).toBe(expected, { x: ['a', 'b'] });
      expectSubscriptions(e1.subscriptions).toBe(subs);
    });
  });

  it('defaults to asyncScheduler, which TestScheduler.run makes virtual', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const e1 = cold(' a 500ms b 1000ms |');
      const expected = '1000ms x 501ms |';
      expectObservable(e1.pipe(microBatch({ maxSize: 5, maxWaitMs: 1000 }))).toBe(expected, { x: ['a', 'b'] });
    });
  });

  it('cancels the wait timer on a size flush and on unsubscription', () => {
    const scheduler = new VirtualTimeScheduler();
    const input = new Subject<number>();
    const batches: number[][] = [];
    const sub = input.pipe(microBatch({ maxSize: 2, maxWaitMs: 10, scheduler })).subscribe((b) => batches.push(b));

    input.next(1);
    assert.equal(scheduler.actions.length, 1, 'the first item of a batch schedules exactly one timer');
    input.next(2);
    assert.deepEqual(batches, [[1, 2]], 'the size flush emits the batch');
    assert.equal(scheduler.actions.length, 0, 'the size flush cancels the timer');

    input.next(3);
    assert.equal(scheduler.actions.length, 1, 'the next batch schedules its own timer');
    sub.unsubscribe();
    assert.equal(scheduler.actions.length, 0, 'unsubscribing cancels the pending timer');
    scheduler.flush();
    assert.deepEqual(batches, [[1, 2]], 'nothing is emitted after unsubscription');
  });

  it('puts items emitted during a downstream callback into the next batch', () => {
    const scheduler = new VirtualTimeScheduler();
    const input = new Subject<string>();
    const batches: string[][] = [];
    input.pipe(microBatch({ maxSize: 2, maxWaitMs: 10, scheduler })).subscribe((batch) => {
      batches.push(batch);
      if (batches.length === 1) input.next('c');
    });
    input.next('a');
    input.next('b');
    scheduler.flush();
    assert.deepEqual(batches, [['a', 'b'], ['c']], 're-entrant item lands in its own, later batch');
  });

  it('stops at a synchronous take without emitting the rest or leaving a timer behind', () => {
    const scheduler = new VirtualTimeScheduler();
    const out: number[][] = [];
    concat(of(1, 2, 3, 4, 5), NEVER)
      .pipe(microBatch({ maxSize: 2, maxWaitMs: 10, scheduler }), take(2))
      .subscribe((b) => out.push(b));
    assert.deepEqual(out, [[1, 2], [3, 4]], 'take(2) receives the first two full batches only');
    assert.equal(scheduler.actions.length, 0, 'no timer is left scheduled for the item after the take');
  });

  it('rejects options that cannot batch', () => {
    assert.throws(() => microBatch({ maxSize: 0, maxWaitMs: 10 }), /maxSize/, 'maxSize 0 is refused');
    assert.throws(() => microBatch({ maxSize: 1.5, maxWaitMs: 10 }), /maxSize/, 'a fractional maxSize is refused');
    assert.throws(() => microBatch({ maxSize: 1, maxWaitMs: -1 }), /maxWaitMs/, 'a negative wait is refused');
    assert.throws(() => microBatch({ maxSize: 1, maxWaitMs: Infinity }), /maxWaitMs/, 'an infinite wait is refused');
  });
});
