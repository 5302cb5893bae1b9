import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confirmationTimeout, formatErasure, userDeleted, validUserId } from '../../src/cli/erase.js';
import { AuraError } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics.js';
import { TEST_ERASURE_KEY, erasureCompleted } from '../support/erasure-records.js';
import { erasureSignatureValid, erasureSigningInput } from '../../src/contracts/erasure.js';
import { loadConfig } from '../../src/config.js';

describe('erase: input checks (no servers)', () => {
  it('refuses an empty or blank user id with a message that shows how to pass one', () => {
    for (const bad of [undefined, '', '   ']) {
      assert.throws(
        () => validUserId(bad),
        (e: unknown) => e instanceof AuraError && e.code === 'CONFIG' && /user id is empty/.test(e.message) && /erase --user/.test(e.message),
        `${JSON.stringify(bad)} is refused`,
      );
    }
    assert.throws(() => validUserId(' u-1'), /leading or trailing white space/, 'a padded id would be a different key');
    assert.equal(validUserId('u-1'), 'u-1', 'a real id passes unchanged');
  });

  it('builds a request with a fresh UUID erasure id, the time given, and no blank reason', () => {
    const a = userDeleted('u-1', 'TICKET-7', TEST_ERASURE_KEY, 1234);
    const b = userDeleted('u-1', '  ', TEST_ERASURE_KEY, 1234);
    assert.match(a.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'event_id is a random UUID');
    assert.notEqual(a.event_id, b.event_id, 'each request has its own erasure id');
    assert.deepEqual([a.user_id, a.requested_at, a.reason, b.reason], ['u-1', 1234, 'TICKET-7', null], 'fields as given; a blank reason is none');
    assert.match(a.trace_id ?? '', /^[0-9a-f]{32}$/, 'a trace id to follow the erasure through the logs');
  });

  it('prints the request, and the confirmation once there is one', () => {
    const request = { erasureId: 'e-1', userId: 'u-1', topic: 'ev', partition: 2, offset: '17' };
    assert.deepEqual(formatErasure(request), ['erasure e-1 of user u-1: UserDeleted at ev partition 2 offset 17']);
    const completed = { ...erasureCompleted('e-1', 'u-1'), points_deleted: 12, cache_entries_deleted: 1, partition: 0, offset: '3' };
    assert.match(formatErasure({ ...request, completed })[1] ?? '', /store lancedb \(collection c\), 12 point\(s\) deleted, 1 embedding-cache entry deleted/);
  });

  it('the --wait timeout names only metrics the stages export', async () => {
    const e = confirmationTimeout('e-1', 'erased', 4000);
    assert.equal(e.code, 'TIMEOUT');
    const named = e.message.match(/aura_[a-z_]+/g) ?? [];
    assert.ok(named.length >= 2, `the message points at lag and dead-letter metrics: ${e.message}`);
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    for (const name of named) assert.ok(exported.has(name), `${name} named in the timeout message is a metric of src/metrics.ts`);
  });

  it('signs the request with ERASURE_SIGNING_KEY over user, request id, time, requester and reason', () => {
    const d = userDeleted('u-1', 'TICKET-7', TEST_ERASURE_KEY, 1234, 'alice@ops');
    assert.equal(d.requester, 'alice@ops', 'who asked is recorded');
    assert.ok(erasureSignatureValid(d, TEST_ERASURE_KEY), 'the stage holding the key accepts it');
    assert.ok(!erasureSignatureValid(d, 'another-key-0123456789abcdef0123456789'), 'another key does not');
    for (const [field, value] of [['user_id', 'u-2'], ['event_id', '00000000-0000-4000-8000-000000000001'], ['requested_at', 1235], ['requester', 'mallory'], ['reason', 'TICKET-8']] as const) {
      assert.ok(!erasureSignatureValid({ ...d, [field]: value }, TEST_ERASURE_KEY), `changing ${field} breaks the signature`);
    }
    assert.ok(!erasureSignatureValid({ ...d, signature: null }, TEST_ERASURE_KEY), 'an unsigned request is not valid');
    assert.ok(erasureSignatureValid({ ...d, trace_id: 'other' }, TEST_ERASURE_KEY), 'the trace id routes logs and is not signed');
    assert.equal(erasureSigningInput(d), `aura-erasure-v1\n${JSON.stringify([d.event_id, 'u-1', 1234, 'alice@ops', 'TICKET-7'])}`, 'the documented grammar');
  });

  it('refuses to run without ERASURE_SIGNING_KEY, and refuses a short key, naming the variable', async () => {
    const { signingKey } = await import('../../src/cli/erase.js');
    assert.throws(() => signingKey(loadConfig({})), (e: unknown) => e instanceof AuraError && e.code === 'CONFIG' && /ERASURE_SIGNING_KEY is not set/.test(e.message));
    assert.throws(() => loadConfig({ ERASURE_SIGNING_KEY: 'short-S3CRET' }), (e: unknown) => e instanceof AuraError && /ERASURE_SIGNING_KEY is too short/.test(e.message) && !e.message.includes('short-S3CRET'));
    assert.equal(signingKey(loadConfig({ ERASURE_SIGNING_KEY: TEST_ERASURE_KEY })), TEST_ERASURE_KEY);
  });
});
