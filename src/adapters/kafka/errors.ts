import kafkajs from 'kafkajs';
import { AuraError, TLS_UNTRUSTED_CODES, classify, type ErrorCode } from '../../errors.js';

/**
 * Kafka errors are translated here, at the adapter, into the project's codes (src/errors.ts): every
 * Kafka boundary (batch writer, changelog reader, group source, topics, produce limits, and the
 * CLI's own admin and consumer calls) throws AuraErrors, so nothing above the adapters knows a
 * kafkajs class. Whether an error is retried follows from its code's one action (`retry`), the
 * same predicate (`isRetriable` in src/errors.ts) for both stages.
 *
 * Checked in this order, the first match wins:
 * 1. an AuraError keeps its code;
 * 2. the protocol error types of KAFKA_PROTOCOL_ERRORS (on the error or on what kafkajs wrapped);
 * 3. TLS certificate failures (AUTH, naming the variables to fix);
 * 4. the classes of KAFKAJS_ERRORS (`instanceof`, most specific first; a KafkaJSNonRetriableError
 *    is judged by the error it wraps);
 * 5. any other error kafkajs marks `retriable` (its own judgement of a protocol or network error,
 *    and direct-fetch's leader-not-known) is BROKER_UNAVAILABLE;
 * 6. anything else as src/errors.ts `classify` judges it (timeouts, socket errors, INTERNAL).
 */

type ErrorClass = abstract new (...args: never[]) => Error;

export interface KafkaErrorRow {
  error: ErrorClass;
  code: ErrorCode;
  /** Why this class gets this code. */
  reason: string;
}

/** kafkajs 2.2.4 error classes with a code of their own. */
export const KAFKAJS_ERRORS: readonly KafkaErrorRow[] = [
  { error: kafkajs.KafkaJSSASLAuthenticationError, code: 'AUTH', reason: 'the broker refused the SASL credentials' },
  {
    error: kafkajs.KafkaJSGroupCoordinatorNotFound,
    code: 'BROKER_UNAVAILABLE',
    reason: 'no coordinator while a broker restarts or moves partitions; kafkajs marks it non-retriable, it is transient',
  },
  { error: kafkajs.KafkaJSLockTimeout, code: 'BROKER_UNAVAILABLE', reason: 'a kafkajs request lock timed out behind a slow broker' },
  { error: kafkajs.KafkaJSNumberOfRetriesExceeded, code: 'BROKER_UNAVAILABLE', reason: "kafkajs' own retries gave up on a transient fault; ours back off longer" },
  { error: kafkajs.KafkaJSConnectionError, code: 'BROKER_UNAVAILABLE', reason: 'no connection to a broker (also KafkaJSConnectionClosedError)' },
  { error: kafkajs.KafkaJSRequestTimeoutError, code: 'BROKER_UNAVAILABLE', reason: 'a broker did not answer in time' },
  { error: kafkajs.KafkaJSBrokerNotFound, code: 'BROKER_UNAVAILABLE', reason: 'the metadata names no broker for the request yet' },
];

/** Kafka protocol error types (KafkaJSProtocolError `type`) with a code of their own. */
export const KAFKA_PROTOCOL_ERRORS: Readonly<Record<string, { code: ErrorCode; reason: string }>> = {
  INVALID_PRODUCER_EPOCH: { code: 'FENCED', reason: 'a newer owner of the partition took over this transactional id' },
  PRODUCER_FENCED: { code: 'FENCED', reason: 'a newer owner of the partition took over this transactional id' },
  TOPIC_AUTHORIZATION_FAILED: { code: 'AUTH', reason: 'the ACLs do not allow the operation on a topic' },
  GROUP_AUTHORIZATION_FAILED: { code: 'AUTH', reason: 'the ACLs do not allow the operation on a consumer group' },
  CLUSTER_AUTHORIZATION_FAILED: { code: 'AUTH', reason: 'the ACLs do not allow the cluster operation' },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: { code: 'AUTH', reason: 'the ACLs do not allow the transactional id' },
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: { code: 'AUTH', reason: 'the ACLs do not allow the delegation token operation' },
};

/**
 * OpenSSL alerts a server sends when it refuses this process's client certificate (or its absence).
 * Node derives the code from OpenSSL's reason text: OpenSSL 3.0 (Node 20) says `sslv3 alert bad
 * certificate`, the OpenSSL of Node 24 `ssl/tls alert bad certificate` (ERR_SSL_SSL/TLS_ALERT_…).
 */
const TLS_CLIENT_REFUSED = /^ERR_SSL_(SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED)$/;

type Fields = Error & { code?: unknown; type?: unknown; retriable?: unknown; cause?: unknown };

/** The error and what it wraps (kafkajs' retrier wraps the last error, a socket's TLS failure is wrapped once more). */
function chain(err: Fields): Fields[] {
  const cause = err.cause;
  return cause instanceof Error && cause !== err ? [err, cause as Fields] : [err];
}

function rowOf(err: Error): KafkaErrorRow | undefined {
  const row = KAFKAJS_ERRORS.find((r) => err instanceof r.error);
  if (row) return row;
  // kafkajs wraps the error its retrier gave up on in a bare KafkaJSNonRetriableError: judge by what it wraps
  const cause = (err as Fields).cause;
  if (err.constructor === kafkajs.KafkaJSNonRetriableError && cause instanceof Error) return KAFKAJS_ERRORS.find((r) => cause instanceof r.error);
  return undefined;
}

function messageOf(code: ErrorCode, detail: string, err: Error): string {
  if (code === 'FENCED') return `producer fenced by a newer owner of the partition: ${err.message}`;
  if (code === 'AUTH') {
    return detail === 'SASL'
      ? `Kafka refused the SASL credentials: ${err.message}. Fix: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or their _FILE twins) and KAFKA_SASL_MECHANISM against the user's credentials on the cluster`
      : `Kafka refused an operation (${detail}): ${err.message}. Fix: grant the principal the ACLs listed in docs/security.md ("Kafka ACLs"; one principal per stage)`;
  }
  return err.message;
}

/**
 * The AuraError of anything a Kafka call threw, by the tables above; never throws. Messages name
 * the setting to fix and never carry a credential.
 */
export function kafkaError(error: unknown): AuraError {
  if (error instanceof AuraError) return error;
  const err: Fields = error instanceof Error ? error : new Error(String(error));
  const links = chain(err);

  const type = links.map((e) => e.type).find((t): t is string => typeof t === 'string' && t in KAFKA_PROTOCOL_ERRORS);
  if (type !== undefined) {
    const { code } = KAFKA_PROTOCOL_ERRORS[type]!;
    return new AuraError(code, messageOf(code, type, err), { cause: err });
  }

  const codes = links.map((e) => e.code).filter((c): c is string => typeof c === 'string');
  const untrusted = codes.find((c) => TLS_UNTRUSTED_CODES.has(c));
  if (untrusted && err instanceof kafkajs.KafkaJSError) {
    return new AuraError('AUTH', `the Kafka broker's TLS certificate is not trusted (${untrusted}: ${err.message}). Fix: set KAFKA_SSL_CA (or KAFKA_SSL_CA_FILE) to the CA that signed the brokers' certificates`, { cause: err });
  }
  const refused = codes.find((c) => TLS_CLIENT_REFUSED.test(c));
  if (refused && err instanceof kafkajs.KafkaJSError) {
    return new AuraError('AUTH', `the Kafka broker refused this client's TLS certificate (${refused}). Fix: set KAFKA_SSL_CERT and KAFKA_SSL_KEY (or their _FILE twins) to a certificate the brokers trust`, { cause: err });
  }

  const row = rowOf(err);
  if (row) return new AuraError(row.code, messageOf(row.code, 'SASL', err), { cause: err });
  if (err.retriable === true) return new AuraError('BROKER_UNAVAILABLE', err.message, { cause: err });
  return classify(err);
}

/** Runs one Kafka call and throws what it throws as an AuraError (kafkaError). */
export async function kafkaCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw kafkaError(err);
  }
}
