import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuraError } from '../src/errors.js';
import { Subject } from 'rxjs';
import { Lifecycle, lifecycle$, type LifecycleSignal, type StageState } from '../src/lifecycle.js';
import { vectorizePhases } from '../topology/lifecycle.js';
import type { VectorizeEvent } from '../topology/vectorize.js';

describe('Lifecycle', () => {
  it('records the states of a stage that restores, runs, drains and stops, in order', () => {
    const life = new Lifecycle();
    const seen: StageState[] = [];
    life.state$.subscribe((s) => seen.push(s));
    for (const s of ['restoring', 'running', 'restoring', 'running', 'draining', 'stopped'] as const) life.to(s);
    assert.deepEqual(seen, ['starting', 'restoring', 'running', 'restoring', 'running', 'draining', 'stopped'], 'every transition is observed in order');
    assert.deepEqual(life.history, seen, 'history keeps the same sequence');
    assert.equal(life.isFinal, true, 'stopped is final');
  });

  it('refuses to leave a final state and to skip draining before stopped', () => {
    const life = new Lifecycle();
    assert.throws(() => life.to('stopped'), (e: unknown) => e instanceof AuraError && e.code === 'INTERNAL' && /starting → stopped/.test(e.message), 'starting cannot jump to stopped');
    life.to('failed', new Error('boom'));
    assert.equal(life.failure?.message, 'boom', 'the failure is kept');
    assert.throws(() => life.to('running'), /failed → running/, 'failed is final');
  });

  it('treats a repeated state as a no-op', () => {
    const life = new Lifecycle();
    life.to('running');
    life.to('running');
    assert.deepEqual(life.history, ['starting', 'running'], 'no duplicate entry');
  });

  it('keeps the classified error of a failure', () => {
    const life = new Lifecycle();
    life.to('failed', Object.assign(new Error('socket reset'), { code: 'ECONNRESET' }));
    assert.ok(life.failure instanceof AuraError, 'the failure is an AuraError');
    assert.equal(life.failure.code, 'STORE_UNAVAILABLE', 'classified once, where it is kept');
  });

  it('with the running process policy, an illegal move is reported and the state stays where it was', () => {
    const reported: AuraError[] = [];
    const life = new Lifecycle((e) => reported.push(e));
    life.to('running');
    assert.equal(life.to('stopped'), false, 'the move is refused');
    assert.equal(life.state, 'running', 'the state did not move');
    assert.deepEqual(life.history, ['starting', 'running'], 'nothing recorded');
    assert.equal(reported.length, 1, 'reported once');
    assert.match(reported[0]!.message, /running → stopped/, 'the report names the move');
  });
});

describe('lifecycle$ drives the one Lifecycle it is handed', () => {
  it('the states it emits are the states of the Lifecycle, with no second copy', () => {
    const life = new Lifecycle();
    const events = new Subject<VectorizeEvent>();
    const signals = new Subject<LifecycleSignal>();
    const emitted: StageState[] = [];
    events.pipe(lifecycle$(vectorizePhases, signals, life)).subscribe((s) => emitted.push(s.state));
    events.next({ type: 'assigned', partitions: [0] });
    assert.equal(life.state, 'running', 'the Lifecycle moved with the event');
    signals.next({ type: 'drain' });
    events.next({ type: 'assigned', partitions: [1] });
    assert.equal(life.state, 'draining', 'events no longer move a draining stage');
    signals.next({ type: 'closed' });
    assert.deepEqual(emitted, ['starting', 'running', 'draining', 'stopped'], 'each state emitted once');
    assert.deepEqual(life.history, emitted, 'the emitted states and the Lifecycle agree');
  });
});
