import { Observable } from 'rxjs';
import type { PartitionBatch, RecordSource } from '../src/ports.js';

/** A batch handed downstream with the callbacks that release the source's next batch. */
export interface BatchEnvelope {
  batch: PartitionBatch;
  /** The batch is done (committed or deliberately abandoned). */
  ack(): void;
  /** The batch failed; the source delivers it again from the last resolved offset. */
  nack(error: Error): void;
}

/**
 * `source$`: the consumer group as an Observable of partition batches. Each emission holds the
 * source's handler open until `ack`/`nack`, so a partition is processed strictly in order while
 * different partitions overlap. Subscribing starts the consumer; a consumer failure errors the stream.
 */
export function batches$(source: RecordSource): Observable<BatchEnvelope> {
  return new Observable<BatchEnvelope>((subscriber) => {
    const failures = source.failure$.subscribe((err) => subscriber.error(err));
    source
      .start(
        (batch) =>
          new Promise<void>((resolve, reject) => {
            if (subscriber.closed) return reject(new Error('stage stopped'));
            subscriber.next({ batch, ack: resolve, nack: reject });
          }),
      )
      .catch((err: unknown) => subscriber.error(err));
    return () => failures.unsubscribe();
  });
}
