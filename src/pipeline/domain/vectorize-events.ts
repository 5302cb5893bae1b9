import type { AuraError, ErrorCode } from '../../errors.js';
import type { StoredBatch } from '../operators/mark-done.js';
import type { CommittableOffset } from '../state/commit-tracker.js';

/** What the vectorize stage did, for metrics, logs and tests. */
export type VectorizeEvent =
  | { type: 'assigned'; partitions: number[] }
  /** `message` may quote the record (DLQ headers only, never a log); `field` names the field at fault. */
  | { type: 'dead-lettered'; partition: number; offset: string; code: ErrorCode; message: string; field: string | undefined }
  | ({ type: 'stored' } & StoredBatch)
  | { type: 'committed'; offsets: CommittableOffset[] }
  | { type: 'retrying'; step: string; attempt: number; delayMs: number; error: AuraError }
  | { type: 'paused' }
  | { type: 'resumed' };
