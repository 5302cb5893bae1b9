import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { KAFKAJS_ERRORS, KAFKA_PROTOCOL_ERRORS, kafkaCall, kafkaError } from '../../../src/adapters/kafka/errors.js';
import { AuraError, classify, isRetriable } from '../../../src/errors.js';

/** kafkajs' error classes as its JavaScript builds them (its typings leave out constructor arguments and some classes). */
const K = kafkajs as unknown as Record<string, new (...args: unknown[]) => Error & { retriable?: boolean }>;

/** A protocol error as kafkajs 2.2.4 builds it from a broker's error code. */
function protocolError(type: string, message: string, retriable = false): Error {
  return new K.KafkaJSProtocolError!({ type, message, retriable, code: 0 });
}

describe('kafkaError: refused credentials and certificates are AUTH, naming the variables to fix', () => {
  it('a refused SASL login', () => {
    const e = kafkaError(new K.KafkaJSSASLAuthenticationError!('SASL SCRAM SHA256 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256'));
    assert.equal(e.code, 'AUTH');
    assert.equal(e.action, 'fail');
    assert.match(e.message, /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
  });

  it('a broker certificate the configured CA did not sign (wrapped by the retrier)', () => {
    const cause = new K.KafkaJSConnectionError!('Connection error: unable to verify the first certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const e = kafkaError(new K.KafkaJSNumberOfRetriesExceeded!(cause, { retryCount: 5, retryTime: 100 }));
    assert.equal(e.code, 'AUTH');
    assert.match(e.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE.*KAFKA_SSL_CA/);
  });

  it('a client certificate the broker refused (or none sent)', () => {
    const cause = new K.KafkaJSConnectionError!('Connection error: ssl3_read_bytes:sslv3 alert bad certificate', { code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' });
    const e = kafkaError(new K.KafkaJSNumberOfRetriesExceeded!(cause, { retryCount: 5, retryTime: 100 }));
    assert.equal(e.code, 'AUTH');
    assert.match(e.message, /KAFKA_SSL_CERT and KAFKA_SSL_KEY/);
  });

  it("a refused client certificate in the spelling of Node 24's OpenSSL (ssl/tls alert)", () => {
    const cause = new K.KafkaJSConnectionError!('Connection error: ssl3_read_bytes:ssl/tls alert bad certificate', { code: 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE' });
    const e = kafkaError(new K.KafkaJSNumberOfRetriesExceeded!(cause, { retryCount: 5, retryTime: 100 }));
    assert.equal(e.code, 'AUTH', 'the same alert as under Node 20, only spelled differently');
    assert.match(e.message, /KAFKA_SSL_CERT and KAFKA_SSL_KEY/);
  });

  it('an operation the ACLs do not allow, also when the retrier wrapped it', () => {
    const denied = protocolError('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics: [Topic authorization failed]');
    const e = kafkaError(denied);
    assert.equal(e.code, 'AUTH');
    assert.match(e.message, /TOPIC_AUTHORIZATION_FAILED.*Kafka ACLs/);
    assert.equal(kafkaError(new K.KafkaJSNonRetriableError!(denied, { cause: denied })).code, 'AUTH', 'judged by what kafkajs wrapped');
  });
});

describe('kafkaError: transient faults retry, a fenced writer reclaims, the rest is INTERNAL', () => {
  it('no group coordinator (a broker restarting), even wrapped as non-retriable by kafkajs, is a transient fault', () => {
    const notFound = new K.KafkaJSGroupCoordinatorNotFound!('Failed to find group coordinator');
    assert.equal(notFound.retriable, false, 'kafkajs marks it non-retriable');
    assert.equal(kafkaError(notFound).code, 'BROKER_UNAVAILABLE');
    const wrapped = kafkaError(new K.KafkaJSNonRetriableError!(notFound, { cause: notFound }));
    assert.equal(wrapped.code, 'BROKER_UNAVAILABLE');
    const boom = new Error('boom');
    assert.equal(kafkaError(new K.KafkaJSNonRetriableError!(boom, { cause: boom })).code, 'INTERNAL', 'other wrapped errors stay INTERNAL');
  });

  it('an unreachable broker is a transient fault', () => {
    const e = kafkaError(new K.KafkaJSConnectionError!('Connection error: connect ECONNREFUSED 127.0.0.1:9093', { code: 'ECONNREFUSED' }));
    assert.equal(e.code, 'BROKER_UNAVAILABLE');
    assert.equal(e.action, 'retry');
  });

  it('every class of the table gets its code, by instanceof (subclasses too)', () => {
    for (const row of KAFKAJS_ERRORS) {
      const Ctor = row.error as unknown as new (message: string, options?: object) => Error;
      const instance = row.error === kafkajs.KafkaJSNumberOfRetriesExceeded ? new Ctor(new Error('x') as unknown as string, { retryCount: 1, retryTime: 1 }) : new Ctor('x', {});
      assert.equal(kafkaError(instance).code, row.code, `${instance.name} → ${row.code} (${row.reason})`);
    }
    assert.equal(kafkaError(new K.KafkaJSConnectionClosedError!('closed', { host: '127.0.0.1', port: 1 })).code, 'BROKER_UNAVAILABLE', 'a subclass of KafkaJSConnectionError');
  });

  it('every protocol type of the table gets its code; a type kafkajs marks retriable retries; others are INTERNAL', () => {
    for (const [type, row] of Object.entries(KAFKA_PROTOCOL_ERRORS)) assert.equal(kafkaError(protocolError(type, type)).code, row.code, `${type} → ${row.code}`);
    assert.equal(kafkaError(protocolError('INVALID_PRODUCER_EPOCH', 'epoch')).action, 'reclaim', 'a fenced writer is re-claimed');
    assert.equal(kafkaError(protocolError('NOT_LEADER_FOR_PARTITION', 'moved', true)).code, 'BROKER_UNAVAILABLE');
    assert.equal(kafkaError(protocolError('INVALID_TOPIC_EXCEPTION', 'bad name', false)).code, 'INTERNAL');
  });

  it('a leader not known to direct fetch (a plain error kafkajs-style marked retriable) retries', () => {
    const e = Object.assign(new Error('no leader known for t[0]'), { retriable: true, type: 'LEADER_NOT_AVAILABLE' });
    assert.equal(kafkaError(e).code, 'BROKER_UNAVAILABLE');
  });

  it('an AuraError keeps its code, and errors that are not Kafka ones are judged as classify judges them', () => {
    const own = new AuraError('CONFIG', 'x');
    assert.equal(kafkaError(own), own);
    assert.equal(kafkaError(Object.assign(new Error('t'), { name: 'TimeoutError' })).code, 'TIMEOUT');
    assert.equal(kafkaError('a string').code, 'INTERNAL');
  });

  it('kafkaCall throws what the call threw as an AuraError and passes results through', async () => {
    assert.equal(await kafkaCall(async () => 7), 7);
    await assert.rejects(
      kafkaCall(async () => {
        throw new K.KafkaJSRequestTimeoutError!('Request Produce(key: 0, version: 7) timed out');
      }),
      (e: unknown) => e instanceof AuraError && e.code === 'BROKER_UNAVAILABLE' && /timed out/.test(e.message),
    );
  });
});

describe('classify and isRetriable know no Kafka class', () => {
  it('a raw kafkajs error that escaped the adapter is not given a Kafka code by classify', () => {
    assert.equal(classify(new K.KafkaJSSASLAuthenticationError!('refused')).code, 'INTERNAL', 'translation happens at the adapter');
  });

  it('isRetriable is true exactly for codes whose action is retry', () => {
    assert.equal(isRetriable(new AuraError('BROKER_UNAVAILABLE', 'x')), true);
    assert.equal(isRetriable(new AuraError('RESTORE_TIMEOUT', 'x')), true);
    assert.equal(isRetriable(new AuraError('FENCED', 'x')), false, 'reclaim is not a retry');
    assert.equal(isRetriable(new AuraError('UNDECODABLE', 'x')), false);
    assert.equal(isRetriable(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true, 'a socket error retries');
  });
});
