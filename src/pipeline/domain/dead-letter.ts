import type { AuraError } from '../../errors.js';
import type { OutRecord, SourceRecord } from '../../ports.js';

/**
 * Dead-letter headers added to the original record's own headers (values UTF-8):
 *   aura.error.code       closed list of src/errors.ts (e.g. WRONG_MAGIC_BYTE)
 *   aura.error.message    human-readable reason, at most 1000 characters
 *   aura.error.stage      aggregate | vectorize
 *   aura.original.topic / .partition / .offset / .timestamp   where the record was read
 */
export const DLQ_HEADERS = {
  code: 'aura.error.code',
  message: 'aura.error.message',
  stage: 'aura.error.stage',
  topic: 'aura.original.topic',
  partition: 'aura.original.partition',
  offset: 'aura.original.offset',
  timestamp: 'aura.original.timestamp',
} as const;

/** The DLQ copy of a record: original key, value and headers, plus the error headers. */
export function toDeadLetter(record: SourceRecord, error: AuraError, stage: string, dlqTopic: string): OutRecord {
  const headers: Record<string, Buffer | string> = {};
  for (const [k, v] of Object.entries(record.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.code] = error.code;
  headers[DLQ_HEADERS.message] = error.message.slice(0, 1000);
  headers[DLQ_HEADERS.stage] = stage;
  headers[DLQ_HEADERS.topic] = record.topic;
  headers[DLQ_HEADERS.partition] = String(record.partition);
  headers[DLQ_HEADERS.offset] = record.offset;
  headers[DLQ_HEADERS.timestamp] = record.timestamp;
  return { topic: dlqTopic, key: record.key, value: record.value, headers };
}
