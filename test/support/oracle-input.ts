// The oracle's input, derived from an input topic's records exactly as the aggregate stage reads
// them (decode + validate), plus the records the stage must dead-letter. Not a test file.
import { AGGREGATOR_VERSION } from '../../src/config.js';
import { classify, type AuraError } from '../../src/errors.js';
import type { AggregateCodec, SourceRecord } from '../../src/ports.js';
import { validateEvent } from '../../src/pipeline/index.js';
import { aggregateOracle, type OracleRecord, type OracleResult } from '../oracles/aggregate-oracle.js';
import type { SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';

/** The stage's defaults (WINDOW_DAYS, WINDOW_MAX_EVENTS, aggregator version). */
export const DEFAULT_SNAPSHOT_CONFIG: SnapshotConfig = { windowDays: 7, maxEvents: 512, aggregatorVersion: AGGREGATOR_VERSION };

export interface OracleInput {
  /** Decodable, valid records in the order given (partition, then offset). */
  log: OracleRecord[];
  /** Records that fail decoding or validation, with the error the stage must report. */
  poison: Array<{ record: SourceRecord; error: AuraError }>;
}

/** Splits input records into the oracle's log and the poison; a non-poison failure is thrown. */
export async function oracleInput(records: readonly SourceRecord[], codec: Pick<AggregateCodec, 'decodeEvent'>): Promise<OracleInput> {
  const out: OracleInput = { log: [], poison: [] };
  for (const record of records) {
    try {
      const event = await codec.decodeEvent(record.value);
      const key = record.key === null ? null : record.key.toString('utf8');
      validateEvent(event, key, Number(record.timestamp));
      out.log.push({ position: { topic: record.topic, partition: record.partition, offset: record.offset, timestamp: Number(record.timestamp) }, key, event });
    } catch (err) {
      const e = classify(err);
      if (e.action !== 'dead-letter') throw e;
      out.poison.push({ record, error: e });
    }
  }
  return out;
}

/** Oracle input and result in one call. */
export async function oracleOf(records: readonly SourceRecord[], codec: Pick<AggregateCodec, 'decodeEvent'>, config: SnapshotConfig = DEFAULT_SNAPSHOT_CONFIG): Promise<OracleInput & { oracle: OracleResult }> {
  const input = await oracleInput(records, codec);
  return { ...input, oracle: aggregateOracle(input.log, config) };
}
