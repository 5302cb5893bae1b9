import { map, type OperatorFunction } from 'rxjs';
import type { UserRecord } from '../../contracts/events.js';
import { foldTransactions, type FoldedTransaction, type PartitionFold, type TransactionLimits } from '../domain/fold-transactions.js';
import type { Decoded } from './decode-records.js';

/** `foldTransactions` as an operator: each decoded run becomes a lazy sequence of transactions. */
export function foldWindows(fold: (partition: number) => PartitionFold, limits: TransactionLimits): OperatorFunction<Array<Decoded<UserRecord>>, Iterable<FoldedTransaction>> {
  return map((decoded) => (decoded.length === 0 ? [] : foldTransactions(decoded, fold(decoded[0]!.record.partition), limits)));
}
