import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuraError } from '../src/errors.js';
import { Lifecycle, type StageState } from '../src/lifecycle.js';

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
});
