import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { within } from './stack-env.js';

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('within: a bounded wait that leaves nothing behind', () => {
  it('returns the value of a promise that settles first and clears its timer, so the process may exit', async () => {
    const before = timeouts();
    const value = await within(Promise.resolve(42), 60_000, 'late' as const);
    assert.equal(value, 42, 'the promise won the race');
    assert.equal(timeouts(), before, 'no 60 s timer is left to hold the test process open');
  });

  it('returns the timeout value when the promise has not settled in time', async () => {
    const value = await within(new Promise<never>(() => undefined), 10, 'late' as const);
    assert.equal(value, 'late', 'the bound won the race');
  });

  it('passes a rejection through and still clears its timer', async () => {
    const before = timeouts();
    await assert.rejects(within(Promise.reject(new Error('boom')), 60_000, 'late'), /boom/, 'the rejection of the promise');
    assert.equal(timeouts(), before, 'no 60 s timer is left after a rejection');
  });
});
