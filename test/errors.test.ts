import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../src/errors.js';

/** Errors shaped as kafkajs 2.2.4 throws them (names, codes and nesting seen against a SASL_SSL broker). */
function kafkajsError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, ...extra });
}

describe('classify: refused credentials and certificates are AUTH, naming the variables to fix', () => {
  it('a refused SASL login', () => {
    const e = classify(kafkajsError('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA256 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256', { retriable: false }));
    assert.equal(e.code, 'AUTH');
    assert.equal(e.action, 'fail');
    assert.match(e.message, /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
  });

  it('a broker certificate the configured CA did not sign (wrapped by the retrier)', () => {
    const cause = kafkajsError('KafkaJSConnectionError', 'Connection error: unable to verify the first certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', retriable: true });
    const e = classify(kafkajsError('KafkaJSNumberOfRetriesExceeded', cause.message, { cause, retriable: false }));
    assert.equal(e.code, 'AUTH');
    assert.match(e.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE.*KAFKA_SSL_CA/);
  });

  it('a client certificate the broker refused (or none sent)', () => {
    const cause = kafkajsError('KafkaJSConnectionError', 'Connection error: ssl3_read_bytes:sslv3 alert bad certificate', { code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', retriable: true });
    const e = classify(kafkajsError('KafkaJSNumberOfRetriesExceeded', cause.message, { cause }));
    assert.equal(e.code, 'AUTH');
    assert.match(e.message, /KAFKA_SSL_CERT and KAFKA_SSL_KEY/);
  });

  it('no group coordinator (a broker restarting), even wrapped as non-retriable by kafkajs, is a transient fault', () => {
    const notFound = kafkajsError('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator', { retriable: false });
    assert.equal(classify(notFound).code, 'BROKER_UNAVAILABLE');
    const wrapped = classify(kafkajsError('KafkaJSNonRetriableError', 'Failed to find group coordinator', { retriable: false, cause: notFound }));
    assert.equal(wrapped.code, 'BROKER_UNAVAILABLE');
    assert.equal(classify(kafkajsError('KafkaJSNonRetriableError', 'boom', { retriable: false, cause: new Error('boom') })).code, 'INTERNAL', 'other wrapped errors stay INTERNAL');
  });

  it('an operation the ACLs do not allow', () => {
    const e = classify(kafkajsError('KafkaJSProtocolError', 'Not authorized to access topics: [Topic authorization failed]', { type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false }));
    assert.equal(e.code, 'AUTH');
    assert.match(e.message, /TOPIC_AUTHORIZATION_FAILED.*Kafka ACLs/);
  });

  it('an unreachable broker stays a transient fault', () => {
    const e = classify(kafkajsError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9093', { code: 'ECONNREFUSED', retriable: true }));
    assert.equal(e.code, 'BROKER_UNAVAILABLE');
    assert.equal(e.action, 'retry');
  });
});
