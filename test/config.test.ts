import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configTable, loadConfig } from '../src/config.js';
import { MODEL_ID, MODELS } from '../src/stack/model.js';
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

  it('derives min.insync.replicas from the replication factor (minus one, at least one) unless TOPIC_MIN_INSYNC_REPLICAS is set', () => {
    assert.equal(loadConfig({}).topicMinInsyncReplicas, 1, 'replication factor 1 → 1');
    assert.equal(loadConfig({ TOPIC_REPLICATION_FACTOR: '3' }).topicMinInsyncReplicas, 2, 'replication factor 3 → 2');
    assert.equal(loadConfig({ TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '3' }).topicMinInsyncReplicas, 3, 'set → as set');
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

  it('EMBEDDING_MODEL picks any laid-out model folder under EMBEDDING_MODELS_DIR (MiniLM stays selectable)', () => {
    const models = mkdtempSync(join(tmpdir(), 'aura-models-'));
    try {
      for (const spec of Object.values(MODELS)) {
        mkdirSync(join(models, spec.id));
        writeFileSync(join(models, spec.id, 'config.json'), '{}');
      }
      assert.equal(loadConfig({ EMBEDDING_MODELS_DIR: models }).embeddingModelPath, join(models, MODEL_ID), 'the default model');
      assert.equal(loadConfig({ EMBEDDING_MODELS_DIR: models, EMBEDDING_MODEL: MODELS.minilm.id }).embeddingModelPath, join(models, MODELS.minilm.id));
      assert.equal(loadConfig({ EMBEDDING_MODELS_DIR: models, EMBEDDING_MODEL: MODELS.bge.id }).embeddingModelPath, join(models, MODELS.bge.id));
      const hub = loadConfig({ EMBEDDING_MODELS_DIR: models, EMBEDDING_MODEL: 'Xenova/all-MiniLM-L6-v2' });
      assert.deepEqual([hub.embeddingModelPath, hub.embeddingModel], [undefined, 'Xenova/all-MiniLM-L6-v2'], 'a hub id is never read as a folder');
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });
});

describe('security settings', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----';
  const configError = (env: Record<string, string>, pattern: RegExp, secret?: string) =>
    assert.throws(
      () => loadConfig(env),
      (e: unknown) => {
        assert.ok(e instanceof AuraError && e.code === 'CONFIG', `CONFIG error for ${Object.keys(env).join(', ')}`);
        assert.match(e.message, pattern);
        if (secret) assert.ok(!e.message.includes(secret), `the message does not echo the secret: ${e.message}`);
        return true;
      },
    );

  it('maps SASL_SSL + SCRAM with CA, client certificate and key onto the compiled config', () => {
    const c = loadConfig({
      KAFKA_SECURITY_PROTOCOL: 'sasl_ssl',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'aura',
      KAFKA_SASL_PASSWORD: ' pw with spaces inside ',
      KAFKA_SSL_CA: PEM,
      KAFKA_SSL_CERT: PEM,
      KAFKA_SSL_KEY: KEY,
    });
    assert.equal(c.kafkaSecurityProtocol, 'SASL_SSL');
    assert.equal(c.kafkaSaslMechanism, 'scram-sha-512');
    assert.equal(c.kafkaSaslUsername, 'aura');
    assert.equal(c.kafkaSaslPassword, 'pw with spaces inside');
    assert.equal(c.kafkaSslCa, `${PEM}\n`);
    assert.equal(c.kafkaSslKey, `${KEY}\n`);
    assert.equal(loadConfig({}).kafkaSecurityProtocol, 'PLAINTEXT', 'plaintext by default');
    assert.equal(loadConfig({}).kafkaSessionTimeoutMs, 30_000);
  });

  it('reads every secret from its _FILE twin (a mounted Secret; trailing newline dropped)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aura-config-'));
    try {
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      const c = loadConfig({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'PLAIN',
        KAFKA_SASL_USERNAME_FILE: file('user', 'aura\n'),
        KAFKA_SASL_PASSWORD_FILE: file('password', 's3cret\n'),
        KAFKA_SSL_CA_FILE: file('ca.pem', `${PEM}\n`),
        KAFKA_SSL_CERT_FILE: file('tls.crt', PEM),
        KAFKA_SSL_KEY_FILE: file('tls.key', KEY),
        SCHEMA_REGISTRY_URL: 'https://registry.example/apis/ccompat/v7',
        SCHEMA_REGISTRY_BASIC_AUTH_FILE: file('registry', 'reg-user:reg:pass\n'),
        QDRANT_URL: 'https://qdrant.example:6333',
        QDRANT_API_KEY_FILE: file('qdrant-key', 'qk\n'),
        QDRANT_CA_FILE: file('qdrant-ca.pem', PEM),
      });
      assert.deepEqual(
        [c.kafkaSaslUsername, c.kafkaSaslPassword, c.kafkaSslCa, c.kafkaSslCert, c.kafkaSslKey, c.schemaRegistryBasicAuth, c.qdrantApiKey, c.qdrantCa],
        ['aura', 's3cret', `${PEM}\n`, `${PEM}\n`, `${KEY}\n`, 'reg-user:reg:pass', 'qk', `${PEM}\n`],
      );
      assert.equal(loadConfig({ SCHEMA_REGISTRY_URL: 'https://registry.example', SCHEMA_REGISTRY_BEARER_TOKEN_FILE: file('token', 'tok\n') }).schemaRegistryBearerToken, 'tok');
      configError({ KAFKA_SASL_PASSWORD: 'a', KAFKA_SASL_PASSWORD_FILE: file('p2', 'b') }, /KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set/);
      configError({ KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') }, /KAFKA_SSL_CA_FILE=".*missing\.pem" cannot be read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses incomplete or contradictory settings, naming the variable to set', () => {
    configError({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }, /needs KAFKA_SASL_MECHANISM/);
    configError({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_PASSWORD: 'pw' }, /needs KAFKA_SASL_USERNAME/);
    configError({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u' }, /needs KAFKA_SASL_PASSWORD/);
    configError({ KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, /KAFKA_SECURITY_PROTOCOL=PLAINTEXT: expected SASL_SSL/);
    configError({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, /KAFKA_SASL_MECHANISM is not/);
    configError({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'GSSAPI' }, /KAFKA_SASL_MECHANISM="GSSAPI".*PLAIN \| SCRAM-SHA-256 \| SCRAM-SHA-512/);
    configError({ KAFKA_SECURITY_PROTOCOL: 'TLS' }, /KAFKA_SECURITY_PROTOCOL.*PLAINTEXT \| SSL \| SASL_PLAINTEXT \| SASL_SSL/);
    configError({ KAFKA_SSL_CA: PEM }, /KAFKA_SSL_CA set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT/);
    configError({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT: PEM }, /KAFKA_SSL_CERT needs KAFKA_SSL_KEY/);
    configError({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_KEY: KEY }, /KAFKA_SSL_KEY needs KAFKA_SSL_CERT/);
    configError({ SCHEMA_REGISTRY_BASIC_AUTH: 'a:b', SCHEMA_REGISTRY_BEARER_TOKEN: 't' }, /both set/);
    configError({ QDRANT_CA: PEM, QDRANT_URL: 'http://q:6333' }, /QDRANT_CA is set but QDRANT_URL is not an https/);
    configError({ KAFKA_SESSION_TIMEOUT_MS: '10' }, /KAFKA_SESSION_TIMEOUT_MS="10"/);
  });

  it('refuses to send a credential over plain http or SASL PLAIN without TLS unless ALLOW_INSECURE_CREDENTIALS=true', () => {
    configError({ QDRANT_URL: 'http://qdrant.example:6333', QDRANT_API_KEY: 'qk-S3CRET' }, /QDRANT_API_KEY is set and QDRANT_URL is http:\/\/.*cleartext: use an https:\/\/ QDRANT_URL.*ALLOW_INSECURE_CREDENTIALS=true/, 'qk-S3CRET');
    configError({ SCHEMA_REGISTRY_URL: 'http://registry.example', SCHEMA_REGISTRY_BASIC_AUTH: 'u:pw-S3CRET' }, /SCHEMA_REGISTRY_BASIC_AUTH is set and SCHEMA_REGISTRY_URL is http:\/\/.*ALLOW_INSECURE_CREDENTIALS=true/, 'pw-S3CRET');
    configError({ SCHEMA_REGISTRY_BEARER_TOKEN: 'tok-S3CRET' }, /SCHEMA_REGISTRY_BEARER_TOKEN is set and SCHEMA_REGISTRY_URL is http:\/\/.*use an https:\/\/ SCHEMA_REGISTRY_URL/, 'tok-S3CRET');
    configError({ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'pw-S3CRET' }, /KAFKA_SASL_MECHANISM=PLAIN over KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT.*SASL_SSL/, 'pw-S3CRET');
    const allowed = loadConfig({ ALLOW_INSECURE_CREDENTIALS: 'true', QDRANT_URL: 'http://127.0.0.1:6333', QDRANT_API_KEY: 'qk', SCHEMA_REGISTRY_BEARER_TOKEN: 't' });
    assert.deepEqual([allowed.qdrantApiKey, allowed.schemaRegistryBearerToken], ['qk', 't'], 'the explicit setting lets them through');
    assert.equal(loadConfig({ QDRANT_URL: 'http://127.0.0.1:6333' }).qdrantApiKey, undefined, 'plain http without a credential is fine');
    assert.equal(loadConfig({ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafkaSaslMechanism, 'scram-sha-256', 'SCRAM never sends the password');
    assert.equal(loadConfig({}).allowInsecureCredentials, false, 'refusing is the default');
  });

  it('never echoes a secret value in an error', () => {
    configError({ SCHEMA_REGISTRY_URL: 'https://r.example', SCHEMA_REGISTRY_BASIC_AUTH: 'no-colon-s3cret' }, /SCHEMA_REGISTRY_BASIC_AUTH is not valid \(value not shown\): expected user:password/, 'no-colon-s3cret');
    configError({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT: PEM, KAFKA_SSL_KEY: 'not-a-pem-s3cret' }, /KAFKA_SSL_KEY does not hold PEM text/, 'not-a-pem-s3cret');
  });

  it('lists every _FILE twin in the configuration table', () => {
    const names = configTable().map((r) => r.env);
    for (const v of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SSL_CA', 'KAFKA_SSL_CERT', 'KAFKA_SSL_KEY', 'SCHEMA_REGISTRY_BASIC_AUTH', 'SCHEMA_REGISTRY_BEARER_TOKEN', 'QDRANT_API_KEY', 'QDRANT_CA']) {
      assert.ok(names.includes(v) && names.includes(`${v}_FILE`), `${v} and ${v}_FILE are rows`);
    }
    assert.ok(!names.includes('KAFKA_SECURITY_PROTOCOL_FILE'), 'plain settings have no _FILE twin');
  });
});
