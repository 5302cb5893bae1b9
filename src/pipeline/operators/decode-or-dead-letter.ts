import { concatMap, defer, filter, type OperatorFunction } from 'rxjs';
import type { AuraError } from '../../errors.js';
import type { RecordWriter, SourceRecord } from '../../ports.js';
import type { RetryStep } from '../domain/batch-work.js';
import { toDeadLetter } from '../domain/dead-letter.js';
import { decodeOrPoison } from './decode-records.js';

/**
 * decodeOrPoison as an operator, one record at a time in order: a decoded record goes on as
 * `{ record, value }`; a poison record is written to `dlqTopic` (original bytes and headers plus
 * the reason), then `onDeadLettered` runs (mark it done, count it, commit) and nothing goes on.
 * Faults of the world (registry or broker down) go through `retry`; other errors stop the stage.
 */
export function decodeOrDeadLetter<T>(deps: {
  decode: (record: SourceRecord) => Promise<T> | T;
  writer: Pick<RecordWriter, 'send'>;
  stage: string;
  dlqTopic: string;
  /** Retries the step (named `decode` in `retrying` events). */
  retry: RetryStep;
  onDeadLettered: (record: SourceRecord, error: AuraError) => Promise<void>;
}): OperatorFunction<SourceRecord, { record: SourceRecord; value: T }> {
  return (records) =>
    records.pipe(
      concatMap((record) =>
        defer(async () => {
          const decoded = await decodeOrPoison(record, deps.decode);
          if ('value' in decoded) return decoded;
          await deps.writer.send([toDeadLetter(record, decoded.poison, deps.stage, deps.dlqTopic)]);
          await deps.onDeadLettered(record, decoded.poison);
          return null;
        }).pipe(deps.retry<{ record: SourceRecord; value: T } | null>('decode')),
      ),
      filter((d): d is { record: SourceRecord; value: T } => d !== null),
    );
}
