import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Observable, Subject } from 'rxjs';
import { readiness, runEvents, stopStage, type StageHandle } from '../../src/cli/stage-runtime.js';
import { AuraError } from '../../src/errors.js';
import { Lifecycle } from '../../src/lifecycle.js';
import { vectorizePhases } from '../../topology/lifecycle.js';
import type { VectorizeEvent } from '../../topology/vectorize.js';

describe('runEvents → stopStage (the one start/stop path of run, demo and bench)', () => {
  const stage = (events$: Observable<VectorizeEvent>, stop: () => Promise<void> = async () => undefined): StageHandle & { seen: VectorizeEvent[] } => {
    const seen: VectorizeEvent[] = [];
    const run = runEvents(events$, vectorizePhases, (e) => seen.push(e));
    return { name: 'vectorize', ...run, details: () => ({}), stop, seen };
  };

  it('states follow the events, then drain → stop → stopped; the topology is torn down', async () => {
    let tornDown = false;
    const events = new Subject<VectorizeEvent>();
    const topology = new Observable<VectorizeEvent>((sub) => {
      const s = events.subscribe(sub);
      return () => ((tornDown = true), s.unsubscribe());
    });
    const s = stage(topology);
    assert.equal(s.lifecycle.state, 'starting');
    events.next({ type: 'assigned', partitions: [0] });
    assert.equal(s.lifecycle.state, 'running', 'running from the first assignment');
    assert.deepEqual(s.seen, [{ type: 'assigned', partitions: [0] }], 'the same events reach the metrics handler, once');
    await stopStage(s);
    assert.deepEqual(s.lifecycle.history, ['starting', 'running', 'draining', 'stopped']);
    assert.ok(tornDown, 'the topology was unsubscribed');
  });

  it('a failing topology fails the stage with the classified error; an error while stopping fails it too', async () => {
    const events = new Subject<VectorizeEvent>();
    const s = stage(events);
    events.error(new Error('disk full'));
    assert.equal(s.lifecycle.state, 'failed');
    assert.ok(s.lifecycle.failure instanceof AuraError && s.lifecycle.failure.code === 'INTERNAL' && /disk full/.test(s.lifecycle.failure.message));

    const t = stage(new Subject<VectorizeEvent>(), async () => Promise.reject(new Error('close failed')));
    await assert.rejects(stopStage(t), /close failed/);
    assert.deepEqual(t.lifecycle.history, ['starting', 'draining', 'failed']);
    assert.match(t.lifecycle.failure?.message ?? '', /close failed/);
  });
});

describe('readiness (/readyz)', () => {
  const stage = (name: 'aggregate' | 'vectorize', state: 'starting' | 'restoring' | 'running') => {
    const lifecycle = new Lifecycle();
    if (state !== 'starting') lifecycle.to(state === 'running' ? 'running' : 'restoring');
    return { name, lifecycle, details: () => ({ store: 'lancedb' }) };
  };

  it('is ready when every stage runs, even while a shared dependency is down, and says which is down', () => {
    const r = readiness([stage('aggregate', 'running'), stage('vectorize', 'running')], {
      kafka: 'unreachable: broker gone',
      schemaRegistry: 'ok',
      vectorStore: 'unreachable: connect ECONNREFUSED',
    });
    assert.equal(r.ready, true);
    assert.deepEqual(r.details.dependencies, { kafka: 'unreachable: broker gone', schemaRegistry: 'ok', vectorStore: 'unreachable: connect ECONNREFUSED' });
    assert.deepEqual(r.details.stages, { aggregate: { state: 'running', store: 'lancedb' }, vectorize: { state: 'running', store: 'lancedb' } });
  });

  it('is not ready while any stage is starting or restoring, with every dependency up', () => {
    const ok = { kafka: 'ok' };
    assert.equal((readiness([stage('aggregate', 'restoring')], ok)).ready, false);
    assert.equal((readiness([stage('aggregate', 'running'), stage('vectorize', 'starting')], ok)).ready, false);
    assert.equal((readiness([], ok)).ready, false, 'a process running no stage is never ready');
  });
});
