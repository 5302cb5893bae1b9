import { concatMap, type OperatorFunction } from 'rxjs';
import type { PartitionBatch } from '../../ports.js';
import type { PartitionGate } from '../state/partition-gate.js';

/** `whenReady` as an operator: passes the batch on once its partition may be processed. */
export function awaitReady(gate: PartitionGate): OperatorFunction<PartitionBatch, PartitionBatch> {
  return concatMap(async (batch) => {
    await gate.whenReady(batch.partition, batch.heartbeat);
    return batch;
  });
}
