import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { MODEL_ID } from '../src/stack/model.js';
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

  it('defaults EMBEDDING_MODEL_PATH to the local stack model when stack up laid it out, else leaves it unset', () => {
    const stack = mkdtempSync(join(tmpdir(), 'aura-stack-'));
    try {
      assert.equal(loadConfig({ AURA_STACK_DIR: stack }).embeddingModelPath, undefined, 'no model folder: the hub id is used');
      const model = join(stack, 'models', MODEL_ID);
      mkdirSync(model, { recursive: true });
      writeFileSync(join(model, 'config.json'), '{}');
      assert.equal(loadConfig({ AURA_STACK_DIR: stack }).embeddingModelPath, model, 'the stack model by default');
      assert.equal(loadConfig({ AURA_STACK_DIR: stack, EMBEDDING_MODEL_PATH: '/models/mine' }).embeddingModelPath, '/models/mine', 'an explicit folder wins');
    } finally {
      rmSync(stack, { recursive: true, force: true });
    }
  });
});

