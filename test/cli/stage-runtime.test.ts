import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Observable, Subject } from 'rxjs';
import { cachedCheck, readiness, runEvents, stopStage, type StageHandle } from '../../src/cli/stage-runtime.js';
import { AuraError } from '../../src/errors.js';
import { Lifecycle } from '../../src/lifecycle.js';
import { vectorizePhases } from '../../topology/lifecycle.js';
import type { VectorizeEvent } from '../../topology/vectorize.js';

describe('cachedCheck (the /readyz dependency probe)', () => {
  it('answers ok for a probe that resolves and names the reason for one that rejects', async () => {
    assert.equal(await cachedCheck(async () => 'pong')(), 'ok');
    assert.equal(await cachedCheck(async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6333')))(), 'unreachable: connect ECONNREFUSED 127.0.0.1:6333');
  });

  it('probes at most once per max age, then again after it', async () => {
    let calls = 0;
    let fail = false;
    const check = cachedCheck(async () => {
      calls += 1;
      if (fail) throw new Error('down');
    }, 50);
    assert.equal(await check(), 'ok');
    fail = true;
    assert.equal(await check(), 'ok', 'a cached answer within the max age');
    assert.equal(calls, 1, 'the dependency was probed once');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(await check(), 'unreachable: down', 'a fresh probe after the max age');
    assert.equal(calls, 2);
  });
});

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
  const stage = (name: 'aggregate' | 'vectorize', state: 'starting' | 'restoring' | 'running', checks?: Record<string, () => Promise<string>>) => {
    const lifecycle = new Lifecycle();
    if (state !== 'starting') lifecycle.to(state === 'running' ? 'running' : 'restoring');
    return { name, lifecycle, details: () => ({ store: 'lancedb' }), ...(checks && { checks }) };
  };

  it('is ready when every stage runs, even while a shared dependency is down, and says which is down', async () => {
    const r = await readiness([stage('aggregate', 'running'), stage('vectorize', 'running', { vectorStore: async () => 'unreachable: connect ECONNREFUSED' })], {
      kafka: async () => 'unreachable: broker gone',
      schemaRegistry: async () => 'ok',
    });
    assert.equal(r.ready, true);
    assert.deepEqual(r.details.dependencies, { kafka: 'unreachable: broker gone', schemaRegistry: 'ok', vectorStore: 'unreachable: connect ECONNREFUSED' });
    assert.deepEqual(r.details.stages, { aggregate: { state: 'running', store: 'lancedb' }, vectorize: { state: 'running', store: 'lancedb' } });
  });

  it('is not ready while any stage is starting or restoring, with every dependency up', async () => {
    const ok = { kafka: async () => 'ok' };
    assert.equal((await readiness([stage('aggregate', 'restoring')], ok)).ready, false);
    assert.equal((await readiness([stage('aggregate', 'running'), stage('vectorize', 'starting')], ok)).ready, false);
    assert.equal((await readiness([], ok)).ready, false, 'a process running no stage is never ready');
  });
});
