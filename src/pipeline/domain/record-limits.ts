import type { ContextAggregated } from '../../contracts/snapshot.js';
import type { BatchWriter, OutRecord } from '../../ports.js';
import type { RecordLimits } from './fold-transactions.js';

/**
 * Allowance for a snapshot's encoded size. A snapshot's strings are bounded at validation and in
 * the statistics (ids ≤ 128, three notes cut to 200 code points, five tags ≤ 64, a short text), so
 * it stays within a few KB; 16 KiB is the margin below the smallest limit under which nothing is
 * checked exactly.
 */
export const SNAPSHOT_ALLOWANCE_BYTES = 16_384;

/**
 * The RecordLimits of one input partition's fold, from the writer's knowledge of the broker's
 * limits. Undefined when the writer knows none (tests, fakes): nothing is checked then.
 */
export function recordLimitsFor(
  writer: Pick<BatchWriter, 'oversize' | 'maxRecordBytes'>,
  encode: { snapshot(snapshot: ContextAggregated): Buffer; windowParts(userId: string, end: number, entries: readonly string[]): Buffer },
  topics: { output: string; changelog: string },
  partition: number,
): RecordLimits | undefined {
  const oversize = writer.oversize?.bind(writer);
  const maxRecordBytes = writer.maxRecordBytes?.bind(writer);
  if (!oversize || !maxRecordBytes) return undefined;
  const smallest = Math.min(maxRecordBytes(topics.output), maxRecordBytes(topics.changelog));
  const check = (record: OutRecord) => oversize(record);
  return {
    safeBytes: Math.max(0, smallest - SNAPSHOT_ALLOWANCE_BYTES),
    windowTooLarge: (userId, end, entries) => {
      const why = check({ topic: topics.changelog, key: userId, value: encode.windowParts(userId, end, entries), partition });
      return why === undefined ? undefined : `the window of user ${JSON.stringify(userId.slice(0, 80))} with this event can never be written to the changelog: ${why}`;
    },
    snapshotTooLarge: (snapshot) => {
      const why = check({ topic: topics.output, key: snapshot.user_id, value: encode.snapshot(snapshot) });
      return why === undefined ? undefined : `the snapshot of this event can never be written to the output topic: ${why}`;
    },
  };
}
