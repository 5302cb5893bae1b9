import type { ContextAggregated } from '../contracts/snapshot.js';
import type { OutRecord } from '../ports.js';
import { toDeadLetter } from './dead-letter.js';
import type { FoldedTransaction } from './fold-transactions.js';

export interface OutTopics {
  stage: string;
  outputTopic: string;
  changelogTopic: string;
  dlqTopic: string;
}

/**
 * The records of one aggregate transaction, in this order: one snapshot per accepted event
 * (key = user id, header trace_id when set) in input order; one changelog record per user whose
 * window changed, written explicitly to the input's partition number (co-partitioned changelog);
 * one DLQ record per poison input record.
 */
export function toOutRecords(t: FoldedTransaction, encodeSnapshot: (s: ContextAggregated) => Buffer, topics: OutTopics): OutRecord[] {
  const records: OutRecord[] = [];
  for (const { snapshot } of t.snapshots) {
    const headers: Record<string, string> = {};
    if (snapshot.trace_id) headers['trace_id'] = snapshot.trace_id;
    records.push({ topic: topics.outputTopic, key: snapshot.user_id, value: encodeSnapshot(snapshot), headers });
  }
  for (const [userId, value] of t.states) records.push({ topic: topics.changelogTopic, key: userId, value, partition: t.partition });
  for (const { record, poison } of t.poison) records.push(toDeadLetter(record, poison, topics.stage, topics.dlqTopic));
  return records;
}
