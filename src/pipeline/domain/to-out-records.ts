import type { ContextErased } from '../../contracts/erasure.js';
import type { ContextAggregated } from '../../contracts/snapshot.js';
import type { OutRecord } from '../../ports.js';
import { toDeadLetter } from './dead-letter.js';
import type { FoldedTransaction } from './fold-transactions.js';

export interface OutTopics {
  stage: string;
  outputTopic: string;
  changelogTopic: string;
  dlqTopic: string;
}

/**
 * The records of one aggregate transaction, in this order: on the output topic, one snapshot per
 * accepted event and one ContextErased marker per erasure (key = user id, header trace_id when
 * set), in input order (a user's marker after the user's earlier snapshots, before those of the
 * fresh window after it); one changelog record per user whose window changed, written explicitly to
 * the input's partition number (co-partitioned changelog), a tombstone (null value) for a user
 * erased last; one DLQ record per poison input record.
 */
export function toOutRecords(t: FoldedTransaction, encode: { snapshot: (s: ContextAggregated) => Buffer; erased: (m: ContextErased) => Buffer }, topics: OutTopics): OutRecord[] {
  const records: OutRecord[] = [];
  let e = 0;
  const markersUpTo = (at: number) => {
    for (; e < t.erasures.length && t.erasures[e]!.at <= at; e++) {
      const { marker } = t.erasures[e]!;
      records.push({ topic: topics.outputTopic, key: marker.user_id, value: encode.erased(marker), headers: marker.trace_id ? { trace_id: marker.trace_id } : {} });
    }
  };
  for (const [i, { snapshot }] of t.snapshots.entries()) {
    markersUpTo(i);
    const headers: Record<string, string> = {};
    if (snapshot.trace_id) headers['trace_id'] = snapshot.trace_id;
    records.push({ topic: topics.outputTopic, key: snapshot.user_id, value: encode.snapshot(snapshot), headers });
  }
  markersUpTo(t.snapshots.length);
  for (const [userId, value] of t.states) records.push({ topic: topics.changelogTopic, key: userId, value, partition: t.partition });
  for (const { record, poison } of t.poison) records.push(toDeadLetter(record, poison, topics.stage, topics.dlqTopic));
  return records;
}
