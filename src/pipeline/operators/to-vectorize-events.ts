import { map, type OperatorFunction } from 'rxjs';
import type { VectorizeEvent } from '../domain/vectorize-events.js';
import type { StoredBatch } from './mark-done.js';
import type { CommittableOffset } from '../state/commit-tracker.js';

/** What `commitDone` passes on, as the stage's events: a stored batch, or the offsets just committed. */
export function toVectorizeEvents(): OperatorFunction<StoredBatch | { committed: CommittableOffset[] }, VectorizeEvent> {
  return map((e): VectorizeEvent => ('committed' in e ? { type: 'committed', offsets: e.committed } : { type: 'stored', ...e }));
}
