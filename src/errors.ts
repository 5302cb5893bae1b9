/**
 * One error base with a closed list of codes. `retriable` errors are backed off and retried while
 * offsets are held; the others are poison (the record goes to the DLQ) or fatal (the stage stops).
 */
export const ERROR_CODES = {
  // poison: a property of one record; DLQ and move on
  WRONG_MAGIC_BYTE: { retriable: false, poison: true },
  UNKNOWN_SCHEMA_ID: { retriable: false, poison: true },
  UNDECODABLE: { retriable: false, poison: true },
  UNKNOWN_RECORD_TYPE: { retriable: false, poison: true },
  MISSING_USER_ID: { retriable: false, poison: true },
  KEY_MISMATCH: { retriable: false, poison: true },
  FUTURE_TIMESTAMP: { retriable: false, poison: true },
  OUT_OF_RANGE: { retriable: false, poison: true },
  INVALID_FIELD: { retriable: false, poison: true },
  // transient: a property of the world; back off, hold offsets, retry
  BROKER_UNAVAILABLE: { retriable: true, poison: false },
  REGISTRY_UNAVAILABLE: { retriable: true, poison: false },
  STORE_UNAVAILABLE: { retriable: true, poison: false },
  TIMEOUT: { retriable: true, poison: false },
  // fatal: configuration or environment; stop with a message naming the fix
  CONFIG: { retriable: false, poison: false },
  MODEL_LOAD: { retriable: false, poison: false },
  TOPIC_MISMATCH: { retriable: false, poison: false },
  FENCED: { retriable: false, poison: false },
  STACK: { retriable: false, poison: false },
  INTERNAL: { retriable: false, poison: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AuraError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly poison: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuraError';
    this.code = code;
    this.retriable = ERROR_CODES[code].retriable;
    this.poison = ERROR_CODES[code].poison;
  }
}

const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSConnectionClosedError',
]);
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Classifies any thrown value without throwing: an AuraError keeps its code; kafkajs errors marked
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
  if (TRANSIENT_NAMES.has(anyErr.name) || anyErr.retriable === true) {
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
