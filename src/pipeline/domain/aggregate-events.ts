import type { AuraError, ErrorCode } from '../../errors.js';
import type { RestoreReport } from '../state/partition-gate.js';
import type { FoldedTransaction } from './fold-transactions.js';

/** What the aggregate stage did, for metrics, logs and tests. */
export type AggregateEvent =
  | { type: 'assigned'; partitions: number[]; restoring: number[] }
  | ({ type: 'restored' } & RestoreReport)
  | {
      type: 'committed';
      partition: number;
      nextOffset: string;
      consumed: number;
      accepted: number;
      late: number;
      duplicate: number;
      /** UserDeleted records of the transaction. */
      erased: number;
      /** Erasure markers written, by cause (UserDeleted records and retention expiries). */
      erasures: { user_deleted: number; retention: number };
      /** `message` may quote the record (it goes to the DLQ headers, never to a log); `field` names the field at fault. */
      dlq: Array<{ offset: string; code: ErrorCode; message: string; field: string | undefined }>;
      produced: { output: number; changelog: number; dlq: number };
      /** From the start of the transaction's fold to its commit. */
      seconds: number;
      e2eSeconds: number[];
      latenessSeconds: number[];
      lag: number;
      traceIds: string[];
    }
  | { type: 'abandoned'; partition: number; reason: string }
  | { type: 'retrying'; partition: number; error: AuraError };

/** The `committed` event of a transaction that committed at `committedAt` (ms). */
export function committedEvent(t: FoldedTransaction, committedAt: number, highWatermark: string): Extract<AggregateEvent, { type: 'committed' }> {
  const dlq = t.poison.map(({ record, poison }) => ({ offset: record.offset, code: poison.code, message: poison.message, field: poison.field }));
  return {
    type: 'committed',
    partition: t.partition,
    nextOffset: t.nextOffset,
    consumed: t.records.length,
    accepted: t.counters.accepted,
    late: t.counters.late,
    duplicate: t.counters.duplicate,
    erased: t.counters.erased,
    erasures: {
      user_deleted: t.erasures.filter((e) => e.marker.cause === 'user_deleted').length,
      retention: t.erasures.filter((e) => e.marker.cause === 'retention').length,
    },
    dlq,
    produced: { output: t.snapshots.length + t.erasures.length, changelog: t.states.size, dlq: dlq.length },
    seconds: (committedAt - t.startedAt) / 1000,
    e2eSeconds: t.snapshots.map(({ position }) => Math.max(0, (committedAt - position.timestamp) / 1000)),
    latenessSeconds: t.snapshots.map(({ snapshot, occurredAt }) => Math.max(0, (snapshot.window_end - occurredAt) / 1000)),
    lag: Math.max(0, Number(BigInt(highWatermark) - BigInt(t.nextOffset))),
    traceIds: t.snapshots.flatMap(({ snapshot }) => (snapshot.trace_id ? [snapshot.trace_id] : [])),
  };
}
