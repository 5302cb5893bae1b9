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
  /** A UserDeleted without a valid signature of ERASURE_SIGNING_KEY: it erases nothing. */
  ERASURE_UNAUTHORIZED: { action: 'dead-letter' },
  /** A signed UserDeleted seen before, or older than ERASURE_MAX_AGE_MS of stream time: it erases nothing. */
  ERASURE_REPLAYED: { action: 'dead-letter' },
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
  /**
   * The record field a poison error is about (`note`, `tags[3]`, `key`), if any: what a log line
   * may name, where the message itself may quote the record's value (issue 17: no personal data in logs).
   */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
    this.name = 'AuraError';
    this.code = code;
    this.action = ERROR_CODES[code].action;
    this.retriable = this.action === 'retry';
    this.poison = this.action === 'dead-letter';
  }
}

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

/**
 * Classifies any thrown value without throwing: an AuraError keeps its code; timeouts and aborts
 * are TIMEOUT; socket errors are STORE_UNAVAILABLE; everything else is INTERNAL. Kafka errors are
 * translated where Kafka is called (src/adapters/kafka/errors.ts), so none reaches here raw.
 */
export function classify(error: unknown): AuraError {
  if (error instanceof AuraError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const anyErr = err as Error & { code?: string; cause?: unknown };
  const causeCode = (anyErr.cause as { code?: string } | undefined)?.code;
  if (anyErr.name === 'TimeoutError' || anyErr.name === 'AbortError') {
    return new AuraError('TIMEOUT', err.message, { cause: err });
  }
  if ((anyErr.code && TRANSIENT_ERRNO.has(anyErr.code)) || (causeCode && TRANSIENT_ERRNO.has(causeCode))) {
    return new AuraError('STORE_UNAVAILABLE', err.message, { cause: err });
  }
  return new AuraError('INTERNAL', err.message, { cause: err });
}

/** The one retry predicate of both stages: the error's code has the action `retry`. */
export function isRetriable(error: unknown): boolean {
  return classify(error).action === 'retry';
}
