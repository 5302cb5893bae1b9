/**
 * One error base with a closed list of codes, and the one error policy: each code has exactly one
 * `action`, the thing every stage does when a record's processing fails with it.
 *
 * - `dead-letter`: a property of one record (bad bytes, unknown type, failed validation, a record
 *   that can never fit the broker's limits). The record goes to `<input>.dlq` with the reason and
 *   its offset is committed.
 * - `retry`: a property of the world (broker, registry or store unavailable, a timeout). Back off
 *   (`RETRY_INITIAL_MS`..`RETRY_MAX_MS`, jitter) and retry while the offsets are held.
 * - `reclaim`: this process lost the right to write a partition (a newer owner fenced its
 *   transactional producer). Drop the partition's writer, re-claim and restore before going on.
 * - `fail`: configuration, environment or a bug. The stage stops with the error's message, which
 *   names the fix; the process exits non-zero.
 *
 * `retriable` and `poison` are derived from the action (kept for readability at call sites).
 */
export type ErrorAction = 'dead-letter' | 'retry' | 'reclaim' | 'fail';

export const ERROR_CODES = {
  // dead-letter: a property of one record
  WRONG_MAGIC_BYTE: { action: 'dead-letter' },
  UNKNOWN_SCHEMA_ID: { action: 'dead-letter' },
  UNDECODABLE: { action: 'dead-letter' },
  UNKNOWN_RECORD_TYPE: { action: 'dead-letter' },
  MISSING_USER_ID: { action: 'dead-letter' },
  KEY_MISMATCH: { action: 'dead-letter' },
  FUTURE_TIMESTAMP: { action: 'dead-letter' },
  OUT_OF_RANGE: { action: 'dead-letter' },
  INVALID_FIELD: { action: 'dead-letter' },
  /** A string field longer than its documented bound (e.g. a note, a tag). */
  FIELD_TOO_LONG: { action: 'dead-letter' },
  /** A record whose output could never fit the topic's `max.message.bytes`. */
  RECORD_TOO_LARGE: { action: 'dead-letter' },
  // retry: a property of the world
  BROKER_UNAVAILABLE: { action: 'retry' },
  REGISTRY_UNAVAILABLE: { action: 'retry' },
  STORE_UNAVAILABLE: { action: 'retry' },
  TIMEOUT: { action: 'retry' },
  /** A changelog restore did not reach the end within its timeout. */
  RESTORE_TIMEOUT: { action: 'retry' },
  // reclaim: a newer owner fenced this process's writer of a partition
  FENCED: { action: 'reclaim' },
  // fail: configuration or environment; stop with a message naming the fix
  CONFIG: { action: 'fail' },
  /** A reader's query names an unknown field or operator, or a value of the wrong type (HTTP 400). */
  INVALID_QUERY: { action: 'fail' },
  /** Credentials or certificates refused by a server. */
  AUTH: { action: 'fail' },
  MODEL_LOAD: { action: 'fail' },
  TOPIC_MISMATCH: { action: 'fail' },
  STACK: { action: 'fail' },
  INTERNAL: { action: 'fail' },
} as const satisfies Record<string, { action: ErrorAction }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The action of a code (see ERROR_CODES). */
export function actionOf(error: AuraError | ErrorCode): ErrorAction {
  return ERROR_CODES[typeof error === 'string' ? error : error.code].action;
}

export class AuraError extends Error {
  readonly code: ErrorCode;
  readonly action: ErrorAction;
  readonly retriable: boolean;
  readonly poison: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuraError';
    this.code = code;
    this.action = ERROR_CODES[code].action;
    this.retriable = this.action === 'retry';
    this.poison = this.action === 'dead-letter';
  }
}

const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSConnectionClosedError',
  // no coordinator while a broker restarts or moves partitions; kafkajs marks it non-retriable
  'KafkaJSGroupCoordinatorNotFound',
]);
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Node TLS codes for a server certificate this process does not trust: the CA setting is wrong, not the network. */
export const TLS_UNTRUSTED_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** OpenSSL alerts a server sends when it refuses this process's client certificate (or its absence). */
const TLS_CLIENT_REFUSED = /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED)$/;

/**
 * Kafka credentials or certificates refused, found on the error or its cause (kafkajs wraps a
 * socket's TLS failure in KafkaJSConnectionError and that in KafkaJSNumberOfRetriesExceeded).
 * The message names the variables to fix and never carries a credential.
 */
function kafkaAuthFailure(err: Error & { code?: string; cause?: unknown }): AuraError | undefined {
  if (err.name === 'KafkaJSSASLAuthenticationError') {
    return new AuraError(
      'AUTH',
      `Kafka refused the SASL credentials: ${err.message}. Fix: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or their _FILE twins) and KAFKA_SASL_MECHANISM against the user's credentials on the cluster`,
      { cause: err },
    );
  }
  const type = [(err as { type?: string }).type, (err.cause as { type?: string } | undefined)?.type].find((t) => t?.endsWith('_AUTHORIZATION_FAILED'));
  if (type) {
    return new AuraError('AUTH', `Kafka refused an operation (${type}): ${err.message}. Fix: grant the principal the ACLs listed in the README ("Kafka ACLs")`, { cause: err });
  }
  const codes = [err.code, (err.cause as { code?: string } | undefined)?.code].filter((c): c is string => typeof c === 'string');
  const untrusted = codes.find((c) => TLS_UNTRUSTED_CODES.has(c));
  if (untrusted && err.name.startsWith('KafkaJS')) {
    return new AuraError('AUTH', `the Kafka broker's TLS certificate is not trusted (${untrusted}: ${err.message}). Fix: set KAFKA_SSL_CA (or KAFKA_SSL_CA_FILE) to the CA that signed the brokers' certificates`, { cause: err });
  }
  const refused = codes.find((c) => TLS_CLIENT_REFUSED.test(c));
  if (refused && err.name.startsWith('KafkaJS')) {
    return new AuraError('AUTH', `the Kafka broker refused this client's TLS certificate (${refused}). Fix: set KAFKA_SSL_CERT and KAFKA_SSL_KEY (or their _FILE twins) to a certificate the brokers trust`, { cause: err });
  }
  return undefined;
}

/**
 * Classifies any thrown value without throwing: an AuraError keeps its code; refused Kafka
 * credentials or certificates are AUTH; kafkajs errors marked
 * `retriable`, socket errors and timeouts become transient; everything else is INTERNAL.
 */
export function classify(error: unknown): AuraError {
  if (error instanceof AuraError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const anyErr = err as Error & { retriable?: boolean; code?: string; type?: string; cause?: unknown };
  const causeCode = (anyErr.cause as { code?: string } | undefined)?.code;
  if (anyErr.name === 'KafkaJSProducerFencedError' || anyErr.type === 'INVALID_PRODUCER_EPOCH' || anyErr.type === 'PRODUCER_FENCED') {
    return new AuraError('FENCED', `producer fenced by a newer owner of the partition: ${err.message}`, { cause: err });
  }
  const auth = kafkaAuthFailure(anyErr);
  if (auth) return auth;
  // kafkajs' retrier wraps the last error in KafkaJSNonRetriableError: judge by what it wraps
  const wrapped = anyErr.name === 'KafkaJSNonRetriableError' ? (anyErr.cause as { name?: string } | undefined)?.name : undefined;
  if (TRANSIENT_NAMES.has(anyErr.name) || (wrapped !== undefined && TRANSIENT_NAMES.has(wrapped)) || anyErr.retriable === true) {
    return new AuraError('BROKER_UNAVAILABLE', err.message, { cause: err });
  }
  if (anyErr.name === 'TimeoutError' || anyErr.name === 'AbortError') {
    return new AuraError('TIMEOUT', err.message, { cause: err });
  }
  if ((anyErr.code && TRANSIENT_ERRNO.has(anyErr.code)) || (causeCode && TRANSIENT_ERRNO.has(causeCode))) {
    return new AuraError('STORE_UNAVAILABLE', err.message, { cause: err });
  }
  return new AuraError('INTERNAL', err.message, { cause: err });
}
