import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { AuraError } from '../src/errors.js';

describe('loadConfig', () => {
  it('fills defaults and derives topic and group names from APPLICATION_ID', () => {
    const c = loadConfig({ APPLICATION_ID: 'app1' });
    assert.equal(c.changelogTopic, 'app1-user-window-changelog');
    assert.equal(c.aggregateGroupId, 'app1-aggregate');
    assert.equal(c.vectorizeGroupId, 'app1-vectorize');
    assert.equal(c.inputDlqTopic, 'aura360.user.events.dlq');
    assert.equal(c.aggregatedDlqTopic, 'aura360.context.aggregated.dlq');
    assert.equal(c.processingGuarantee, 'exactly_once', 'exactly-once is the default');
    assert.equal(c.qdrantUrl, undefined, 'no QDRANT_URL means the embedded store');
    assert.deepEqual(c.kafkaBrokers, ['127.0.0.1:19092']);
  });

  it('names the variable, the value and the accepted values on a bad value', () => {
    const expectError = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(() => loadConfig(env), (e: unknown) => e instanceof AuraError && e.code === 'CONFIG' && pattern.test(e.message), `rejects ${JSON.stringify(env)}`);
    expectError({ PROCESSING_GUARANTEE: 'twice' }, /PROCESSING_GUARANTEE="twice".*exactly_once \| at_least_once/);
    expectError({ WINDOW_DAYS: '0' }, /WINDOW_DAYS="0".*integer in \[1, 366\]/);
    expectError({ KAFKA_BROKERS: 'localhost' }, /KAFKA_BROKERS="localhost".*host:port/);
    expectError({ QDRANT_URL: 'ftp://x' }, /QDRANT_URL="ftp:\/\/x".*http\(s\) URL/);
    expectError({ RETRY_INITIAL_MS: '5000', RETRY_MAX_MS: '100' }, /RETRY_MAX_MS=100 is below RETRY_INITIAL_MS=5000/);
  });
});
