import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { kafkaConnection } from '../src/adapters/kafka/client.js';
import { createLogger } from '../src/logger.js';

const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nS3CRET-KEY-BODY\n-----END PRIVATE KEY-----';
const PEM_CERT = '-----BEGIN CERTIFICATE-----\nPUBLIC-CERT\n-----END CERTIFICATE-----';

function capture(): { lines: string[]; stream: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(s) } };
}

describe('logger redaction', () => {
  it('never writes a secret: config keys, kafkajs sasl/ssl options, HTTP credentials in client errors', () => {
    const config = loadConfig({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      KAFKA_SASL_USERNAME: 'user-S3CRET',
      KAFKA_SASL_PASSWORD: 'pw-S3CRET',
      KAFKA_SSL_CERT: PEM_CERT,
      KAFKA_SSL_KEY: PEM_KEY,
      SCHEMA_REGISTRY_URL: 'https://r.example',
      SCHEMA_REGISTRY_BASIC_AUTH: 'reg:basic-S3CRET',
      QDRANT_URL: 'https://q.example:6333',
      QDRANT_API_KEY: 'qdrant-S3CRET',
    });
    const { lines, stream } = capture();
    const logger = createLogger('info', {}, stream);
    logger.info({ config }, 'whole config');
    logger.info({ connection: kafkaConnection(config) }, 'kafka options');
    const axiosLike = Object.assign(new Error('Request failed with status code 401'), {
      config: { headers: { Authorization: 'Bearer token-S3CRET', 'api-key': 'qdrant-S3CRET' } },
    });
    logger.error({ err: axiosLike }, 'registry refused');
    logger.child({ stage: 'x' }).warn({ sasl: { mechanism: 'plain', username: 'u', password: 'pw-S3CRET' } }, 'nested');
    const text = lines.join('');
    assert.equal(lines.length, 4);
    assert.ok(!text.includes('S3CRET'), `no secret in the log:\n${text}`);
    assert.match(text, /\[redacted\]/);
    assert.match(text, /PUBLIC-CERT/, 'public material (a certificate) is not redacted');
    assert.match(text, /"kafkaSaslMechanism":"scram-sha-256"/, 'non-secret fields stay readable');
  });
});
