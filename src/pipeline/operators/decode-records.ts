import { concatMap, type OperatorFunction } from 'rxjs';
import { classify, type AuraError } from '../../errors.js';
import type { SourceRecord } from '../../ports.js';

/** A consumed record after decoding: its value, or the poison error that sends it to the DLQ. */
export type Decoded<T> = { record: SourceRecord; value: T } | { record: SourceRecord; poison: AuraError };

/**
 * The one decode → validate → classify step of every stage. `decode` turns the record into the
 * stage's domain value (and validates it); whatever it throws is classified once:
 * - action `dead-letter` (bad bytes, unknown schema or type, failed validation) → `{ poison }`;
 * - any other action (retry, reclaim, fail) → rethrown as the classified AuraError, so the caller's
 *   retry/stop policy sees it and the record is not dead-lettered for a fault of the world.
 */
export async function decodeOrPoison<T>(record: SourceRecord, decode: (record: SourceRecord) => Promise<T> | T): Promise<Decoded<T>> {
  try {
    return { record, value: await decode(record) };
  } catch (err) {
    const e = classify(err);
    if (e.action === 'dead-letter') return { record, poison: e };
    throw e;
  }
}

/** `decodeOrPoison` over a run of records, in their order (decoding runs concurrently). */
export function decodeAll<T>(records: readonly SourceRecord[], decode: (record: SourceRecord) => Promise<T> | T): Promise<Array<Decoded<T>>> {
  return Promise.all(records.map((r) => decodeOrPoison(r, decode)));
}

/** `decodeAll` as an operator over runs of records. */
export function decodeRecords<T>(decode: (record: SourceRecord) => Promise<T> | T): OperatorFunction<readonly SourceRecord[], Array<Decoded<T>>> {
  return concatMap((records) => decodeAll(records, decode));
}
