import { Observable, catchError, concatMap, defer, from, map, mergeMap, of, tap } from 'rxjs';
import type { UserEvent } from '../src/contracts/events.js';
import { AuraError, classify, type ErrorCode } from '../src/errors.js';
import type { AggregateCodec, BatchWriter, ChangelogReader, OutRecord, RecordSource, SourceRecord, WindowStore } from '../src/ports.js';
import { PartitionGate, aggregateBatch, decodeOrPoison, foldWithinLimits, toDeadLetter, type Decoded as DecodedOf, validateEvent, type AggregateInput, type RestoreReport } from '../src/stages/index.js';
import { batches$, chunksOf, type BatchEnvelope } from './sources.js';

export const AGGREGATE_STAGE = 'aggregate';

export interface AggregateTopologyConfig {
  inputTopic: string;
  outputTopic: string;
  changelogTopic: string;
  dlqTopic: string;
  windowDays: number;
  maxEvents: number;
  aggregatorVersion: string;
  /** Input records per transaction (a fetched batch is cut into runs of this size). Default 250. */
  maxRecordsPerTransaction?: number;
}

export interface AggregatePorts {
  source: RecordSource;
  writer: BatchWriter;
  store: WindowStore;
  changelog: ChangelogReader;
  codec: AggregateCodec;
  now?: () => number;
}

/** What the stage did, for metrics, logs and tests. */
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
      dlq: Array<{ offset: string; code: ErrorCode; message: string }>;
      produced: { output: number; changelog: number; dlq: number };
      seconds: number;
      e2eSeconds: number[];
      latenessSeconds: number[];
      lag: number;
      traceIds: string[];
    }
  | { type: 'abandoned'; partition: number; reason: string }
  | { type: 'retrying'; partition: number; error: AuraError };

type Decoded = DecodedOf<UserEvent>;

/**
 * Stage `aggregate`, top to bottom:
 *
 *   source$ (consumer group, read_committed)
 *     → whenReady(partition)        claim the transactional writer, restore the changelog to its end
 *     → chunk                       runs of maxRecordsPerTransaction records
 *     → decode + validate           Avro via the registry; poison → DLQ record
 *     → rollWindow(store)           pure fold over the partition's windows (late / duplicate / accepted)
 *     → toRecords                   snapshots → output, final window per user → changelog[partition];
 *                                   an event whose snapshot or window can never fit its topic → DLQ (RECORD_TOO_LARGE)
 *     → produce                     one transaction: records (cut into requests by bytes) + consumed offset
 *     → store.apply                 LMDB states + changelog checkpoint, after the commit
 */
export function aggregateTopology(ports: AggregatePorts, config: AggregateTopologyConfig): Observable<AggregateEvent> {
  const now = ports.now ?? Date.now;
  const perTx = config.maxRecordsPerTransaction ?? 250;
  const snapshotConfig = { windowDays: config.windowDays, maxEvents: config.maxEvents, aggregatorVersion: config.aggregatorVersion };

  return new Observable<AggregateEvent>((subscriber) => {
    const gate = new PartitionGate(ports, config.inputTopic, (r) => subscriber.next({ type: 'restored', ...r }), now);
    const assignments = ports.source.assignment$.subscribe((assigned) => {
      const restoring = gate.assign(assigned);
      subscriber.next({ type: 'assigned', partitions: assigned.map((a) => a.partition), restoring });
    });
    const work = batches$(ports.source)
      .pipe(mergeMap((envelope) => processBatch(envelope, gate)))
      .subscribe(subscriber);
    return () => {
      assignments.unsubscribe();
      work.unsubscribe();
    };
  });

  function processBatch({ batch, ack, nack }: BatchEnvelope, gate: PartitionGate): Observable<AggregateEvent> {
    const { partition } = batch;
    return defer(() => gate.whenReady(partition, batch.heartbeat)).pipe(
      mergeMap(() => from(chunksOf(batch.records, perTx))),
      concatMap((chunk) => {
        if (batch.isStale()) return of<AggregateEvent>({ type: 'abandoned', partition, reason: 'partition revoked or stage stopping' });
        const started = now();
        return defer(() => decodeAll(chunk)).pipe(
          map((decoded) => toRecords(decoded)),
          mergeMap(async ({ decoded, fold, records }) => {
            const last = chunk[chunk.length - 1]!;
            const nextOffset = (BigInt(last.offset) + 1n).toString();
            if (batch.isStale()) return { type: 'abandoned', partition, reason: 'partition revoked before commit' } as const;
            const written = await ports.writer.write({ topic: batch.topic, partition, nextOffset }, records);
            const changelog = written.find((w) => w.topic === config.changelogTopic && w.partition === partition);
            if (changelog) ports.store.apply(partition, fold.states, (BigInt(changelog.lastOffset) + 1n).toString());
            batch.resolve(last.offset);
            // A fetched batch of heavy users takes many chunks: keep the group membership alive between them.
            await batch.heartbeat().catch(() => undefined);
            const committedAt = now();
            return committedEvent(partition, nextOffset, chunk, decoded, fold, (committedAt - started) / 1000, committedAt, batch.highWatermark);
          }),
        );
      }),
      tap({
        complete: () => ack(),
        error: (err: unknown) => {
          const e = classify(err);
          if (e.action === 'reclaim' || e.action === 'retry') gate.invalidate(partition, e);
          nack(e);
        },
      }),
      catchError((err: unknown) => {
        const e = classify(err);
        // Transient faults and fencing are retried by redelivery; anything else stops the stage.
        if (e.action === 'retry' || e.action === 'reclaim') return of<AggregateEvent>({ type: 'retrying', partition, error: e });
        throw e;
      }),
    );
  }

  function decodeAll(chunk: SourceRecord[]): Promise<Decoded[]> {
    return Promise.all(
      chunk.map((record) =>
        decodeOrPoison(record, async (r) => {
          const event = await ports.codec.decodeEvent(r.value);
          validateEvent(event, r.key === null ? null : r.key.toString('utf8'), Number(r.timestamp));
          return event;
        }),
      ),
    );
  }

  function toRecords(decoded: Decoded[]) {
    const inputs: AggregateInput[] = decoded.flatMap((d) =>
      'value' in d
        ? [{ position: { topic: d.record.topic, partition: d.record.partition, offset: d.record.offset, timestamp: Number(d.record.timestamp) }, key: d.record.key?.toString('utf8') ?? null, event: d.value }]
        : [],
    );
    const partition = decoded[0]!.record.partition;
    const fitted = foldWithinLimits(
      inputs,
      (kept) => aggregateBatch(kept, (userId) => ports.store.get(userId), snapshotConfig),
      {
        snapshot: (snapshot) => ({ topic: config.outputTopic, key: snapshot.user_id, value: ports.codec.encodeSnapshot(snapshot), headers: snapshot.trace_id ? { trace_id: snapshot.trace_id } : ({} as Record<string, string>) }),
        window: (userId, window) => ({ topic: config.changelogTopic, key: userId, value: ports.codec.encodeWindow(window), partition }),
      },
      (record) => ports.writer.oversize?.(record),
    );
    // An input whose outputs can never fit the broker's limits is dead-lettered like poison.
    const tooLarge = new Map(fitted.tooLarge.map((t) => [t.position.offset, t.error]));
    const final: Decoded[] = tooLarge.size === 0 ? decoded : decoded.map((d) => (tooLarge.has(d.record.offset) ? { record: d.record, poison: tooLarge.get(d.record.offset)! } : d));
    const records: OutRecord[] = [...fitted.snapshotRecords, ...fitted.changelogRecords];
    for (const d of final) if ('poison' in d) records.push(toDeadLetter(d.record, d.poison, AGGREGATE_STAGE, config.dlqTopic));
    return { decoded: final, fold: fitted.fold, records };
  }

  function committedEvent(
    partition: number,
    nextOffset: string,
    chunk: SourceRecord[],
    decoded: Decoded[],
    fold: ReturnType<typeof aggregateBatch>,
    seconds: number,
    committedAt: number,
    highWatermark: string,
  ): AggregateEvent {
    const occurredAt = new Map(decoded.flatMap((d) => ('value' in d ? [[d.record.offset, d.value.occurred_at] as const] : [])));
    const dlq = decoded.flatMap((d) => ('poison' in d ? [{ offset: d.record.offset, code: d.poison.code, message: d.poison.message }] : []));
    return {
      type: 'committed',
      partition,
      nextOffset,
      consumed: chunk.length,
      accepted: fold.counters.accepted,
      late: fold.counters.late,
      duplicate: fold.counters.duplicate,
      dlq,
      produced: {
        output: fold.snapshots.length,
        changelog: fold.states.size,
        dlq: dlq.length,
      },
      seconds,
      e2eSeconds: fold.snapshots.map(({ position }) => Math.max(0, (committedAt - position.timestamp) / 1000)),
      latenessSeconds: fold.snapshots.map(({ snapshot, position }) => Math.max(0, (snapshot.window_end - (occurredAt.get(position.offset) ?? snapshot.window_end)) / 1000)),
      lag: Math.max(0, Number(BigInt(highWatermark) - BigInt(nextOffset))),
      traceIds: fold.snapshots.flatMap(({ snapshot }) => (snapshot.trace_id ? [snapshot.trace_id] : [])),
    };
  }
}

