import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedCheck } from '../../src/cli/stage-runtime.js';

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
