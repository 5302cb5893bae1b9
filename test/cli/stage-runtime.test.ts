import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifecycle } from '../../src/lifecycle.js';
import { cachedCheck, readiness } from '../../src/cli/stage-runtime.js';

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
