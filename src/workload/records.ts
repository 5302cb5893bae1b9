import type { ErrorCode } from '../errors.js';
import type { UserEvent } from '../contracts/events.js';

/** Every poison class of docs/ARCHITECTURE.md §5, in the order the generator rotates through them. */
export const POISON_KINDS = [
  'wrong-magic-byte',
  'unknown-schema-id',
  'undecodable',
  'unknown-record-type',
  'blank-user-id',
  'key-mismatch',
  'future-timestamp',
  'out-of-range',
] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

/**
 * Poison kinds the producer has to materialise as bytes (the record carries no `event`):
 * - `wrong-magic-byte`: a first byte other than 0;
 * - `unknown-schema-id`: magic 0 and a schema id the registry does not know;
 * - `undecodable`: magic 0, a known schema id, a body that is not valid Avro for it;
 * - `unknown-record-type`: a well-formed record of a type the stage does not handle.
 * The other kinds carry an `event` that encodes fine and breaks one validation rule.
 */
export const WIRE_POISON_KINDS: readonly PoisonKind[] = ['wrong-magic-byte', 'unknown-schema-id', 'undecodable', 'unknown-record-type'];

/** The error code a stage must report (DLQ header, metric label) for each poison kind. */
export const POISON_ERROR_CODES: Record<PoisonKind, ErrorCode> = {
  'wrong-magic-byte': 'WRONG_MAGIC_BYTE',
  'unknown-schema-id': 'UNKNOWN_SCHEMA_ID',
  undecodable: 'UNDECODABLE',
  'unknown-record-type': 'UNKNOWN_RECORD_TYPE',
  'blank-user-id': 'MISSING_USER_ID',
  'key-mismatch': 'KEY_MISMATCH',
  'future-timestamp': 'FUTURE_TIMESTAMP',
  'out-of-range': 'OUT_OF_RANGE',
};

export const RECORD_CLASSES = ['valid', 'late', 'duplicate', 'poison'] as const;
export type RecordClass = (typeof RECORD_CLASSES)[number];

export interface GeneratedRecord {
  /** Position in the generated sequence, from 0; the producer sends records in this order. */
  index: number;
  class: RecordClass;
  /** Set when `class` is 'poison'. */
  poisonKind?: PoisonKind;
  /** Kafka key: the user id ('' for 'blank-user-id', another user for 'key-mismatch'). */
  key: string | null;
  /** Set for valid, late, duplicate and the semantic poison kinds; absent for the wire kinds. */
  event?: UserEvent;
  /** The Kafka record timestamp (CreateTime) the producer must set, epoch ms. */
  timestampMs: number;
}
