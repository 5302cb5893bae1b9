import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { ChangelogReader, SourceRecord } from '../../ports.js';
import type { Logger } from '../../logger.js';
import { AuraError } from '../../errors.js';
import { kafkaError } from './errors.js';
import { directFetchOf, type DirectFetch } from './direct-fetch.js';
import { kafkajsInternals, type InternalsCheck } from './internals.js';

const NO_HEADERS: Record<string, Buffer | undefined> = Object.freeze({}) as Record<string, Buffer | undefined>;

/**
 * Replays changelog partitions from a checkpoint to the end, read_committed.
 *
 * "The end" is the partition's read-committed end offset read at the start; the caller has already
 * initialised the partition's transactional producer, which aborts any transaction a previous owner
 * left open, so no undecided transaction lies below it.
 *
 * Records are read by offset with plain fetch requests (see direct-fetch.ts), all partitions at
 * once, each fetch handed to `apply` as it arrives. Without kafkajs' cluster factory the replay
 * falls back to a short-lived consumer group of its own (`<app>-restore-<uuid>`) that seeks each
 * asked partition to its checkpoint and pauses the others, deleted afterwards; its join, sync and
 * offset fetch are a fixed cost the direct read does not pay.
 */
export class KafkaChangelogReader implements ChangelogReader {
  constructor(
    private readonly kafka: Kafka,
    private readonly options: {
      topic: string;
      applicationId: string;
      logger: Logger;
      /** RESTORE_TIMEOUT_MS: a restore not at the end by then fails with RESTORE_TIMEOUT. */
      timeoutMs: number;
      /** RESTORE_FETCH_MAX_BYTES: bytes per changelog partition per fetch. */
      maxBytesPerPartition: number;
      /** RESTORE_FETCH_MAX_WAIT_MS: how long the broker may hold a fetch of the direct read for data. */
      fetchMaxWaitMs: number;
      /** The start-up self-test of the kafkajs internals direct restore relies on (internals.ts); tests hand in a mismatch. */
      internals?: () => InternalsCheck;
    },
  ) {}

  /** The direct read, unless the kafkajs internals it relies on do not look as expected: then undefined and the group replay. */
  private directFetch(): Promise<DirectFetch | undefined> {
    const check = (this.options.internals ?? kafkajsInternals)();
    return check.directRestore.length > 0 ? Promise.resolve(undefined) : directFetchOf(this.kafka, this.options.topic);
  }

  /** A connection opened by `warm` and not yet used by a restore. */
  private warming: Promise<DirectFetch | undefined> | undefined;

  /**
   * Opens the connection of the next restore now (at stage start, while the group is joined and
   * the partitions' producers are claimed), so that the restore does not wait for it. A failed
   * connection is forgotten: the restore connects anew.
   */
  warm(): void {
    if (this.warming) return;
    const connecting = this.directFetch();
    connecting.catch(() => {
      if (this.warming === connecting) this.warming = undefined;
    });
    this.warming = connecting;
  }

  /** Closes a connection `warm` opened that no restore used. */
  async close(): Promise<void> {
    const warm = this.warming;
    this.warming = undefined;
    await (await warm?.catch(() => undefined))?.disconnect().catch(() => undefined);
  }

  async restore(
    partitions: Array<{ partition: number; fromOffset: string }>,
    apply: (partition: number, records: SourceRecord[]) => void,
    heartbeat?: () => Promise<void>,
  ): Promise<Map<number, { records: number; nextOffset: string }>> {
    const started = performance.now();
    let direct: DirectFetch | undefined;
    const warm = this.warming;
    this.warming = undefined;
    try {
      direct = (await warm?.catch(() => undefined)) ?? (await this.directFetch());
    } catch (err) {
      throw kafkaError(err);
    }
    if (!direct) return this.restoreThroughGroup(partitions, apply, heartbeat);
    const reader = direct;
    const connected = performance.now();
    let applyMs = 0;
    const timedApply = (partition: number, records: SourceRecord[]) => {
      const at = performance.now();
      apply(partition, records);
      applyMs += performance.now() - at;
    };
    try {
      const result = await this.withTimeout(this.restoreDirect(reader, partitions, timedApply, heartbeat));
      const ms = (n: number) => Math.round(n * 10) / 10;
      this.options.logger.info(
        { topic: this.options.topic, records: [...result.values()].reduce((n, r) => n + r.records, 0), connectMs: ms(connected - started), readMs: ms(performance.now() - connected - applyMs), applyMs: ms(applyMs) },
        'read changelog by offset',
      );
      return result;
    } catch (err) {
      throw kafkaError(err);
    } finally {
      // Closing the connection is not part of the restore.
      void reader.disconnect().catch(() => undefined);
    }
  }

  private async restoreDirect(
    direct: DirectFetch,
    partitions: Array<{ partition: number; fromOffset: string }>,
    apply: (partition: number, records: SourceRecord[]) => void,
    heartbeat?: () => Promise<void>,
  ): Promise<Map<number, { records: number; nextOffset: string }>> {
    const { topic } = this.options;
    const maxBytes = this.options.maxBytesPerPartition;
    const maxWaitMs = this.options.fetchMaxWaitMs;
    const deadline = Date.now() + this.options.timeoutMs;
    const ends = await direct.endOffsets(topic, partitions.map((p) => p.partition));
    const result = new Map<number, { records: number; nextOffset: string }>();
    const replay = async (partition: number, from: bigint, end: bigint) => {
      const r = result.get(partition)!;
      let position = from;
      while (position < end) {
        // A fetch error (a moved leader, a broker restart) fails the restore; the stage retries it with back-off.
        const fetched = await direct.fetch(topic, partition, position, maxBytes, maxWaitMs);
        // Offsets stay below 2^53 (offsetToNumber refuses larger ones): compared as numbers.
        const last = Number(end);
        const records: SourceRecord[] = [];
        for (const m of fetched.messages) {
          if (Number(m.offset) >= last) break;
          records.push({ topic, partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value ?? null, headers: NO_HEADERS });
        }
        if (records.length > 0) {
          apply(partition, records);
          r.records += records.length;
        }
        if (fetched.next !== undefined) position = fetched.next;
        else if (fetched.stableEnd !== undefined && fetched.stableEnd >= end) {
          // Nothing at or after the position although the broker can serve up to the end: the
          // rest below the end was compacted away (kafkajs' consumer resolves such a fetch to the
          // high watermark too).
          position = end;
        } else if (Date.now() > deadline) {
          // withTimeout has failed the restore by now; this ends the loop behind it.
          return;
        }
        // else: the broker cannot serve up to the end yet (a transaction's markers still being written): fetch again.
        if (heartbeat) await heartbeat();
      }
    };
    const work: Array<Promise<void>> = [];
    for (const { partition, fromOffset } of partitions) {
      const end = ends.get(partition) ?? 0n;
      const from = BigInt(fromOffset);
      result.set(partition, { records: 0, nextOffset: (from > end ? from : end).toString() });
      if (from < end) work.push(replay(partition, from, end));
    }
    await Promise.all(work);
    return result;
  }

  /** `work`, or RESTORE_TIMEOUT once RESTORE_TIMEOUT_MS have passed. */
  private async withTimeout<T>(work: Promise<T>): Promise<T> {
    const { topic } = this.options;
    const timeoutMs = this.options.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    work.catch(() => undefined);
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new AuraError(
                  'RESTORE_TIMEOUT',
                  `changelog restore of ${topic} did not reach the end within ${timeoutMs} ms (RESTORE_TIMEOUT_MS); it is retried — raise RESTORE_TIMEOUT_MS or RESTORE_FETCH_MAX_BYTES if the changelog is large or the brokers slow`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The replay through a throwaway consumer group (kafkajs without its cluster factory, or internals that failed the self-test). */
  private async restoreThroughGroup(
    partitions: Array<{ partition: number; fromOffset: string }>,
    apply: (partition: number, records: SourceRecord[]) => void,
    heartbeat?: () => Promise<void>,
  ): Promise<Map<number, { records: number; nextOffset: string }>> {
    const { topic, logger } = this.options;
    const result = new Map<number, { records: number; nextOffset: string }>();
    const admin = this.kafka.admin();
    /** Set once the admin client is handed to the background clean-up, which disconnects it. */
    let adminInUse = false;
    await admin.connect();
    try {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
      const pending = new Map<number, bigint>();
      for (const { partition, fromOffset } of partitions) {
        const end = ends.get(partition) ?? 0n;
        const from = BigInt(fromOffset);
        result.set(partition, { records: 0, nextOffset: (from > end ? from : end).toString() });
        if (from < end) pending.set(partition, from);
      }
      if (pending.size === 0) return result;

      const groupId = `${this.options.applicationId}-restore-${randomUUID()}`;
      // A short fetch wait: partitions already at their end would otherwise hold each fetch for 5 s.
      const maxBytesPerPartition = this.options.maxBytesPerPartition;
      const consumer = this.kafka.consumer({
        groupId,
        readUncommitted: false,
        allowAutoTopicCreation: false,
        maxBytesPerPartition,
        maxBytes: maxBytesPerPartition * Math.max(1, pending.size),
        maxWaitTimeInMs: 100,
      });
      const done = new Promise<void>((resolve, reject) => {
        const position = new Map(pending);
        const advance = (partition: number, lastOffset: string) => {
          const p = BigInt(lastOffset) + 1n;
          if (p > (position.get(partition) ?? 0n)) position.set(partition, p);
          if ([...pending.keys()].every((q) => (position.get(q) ?? 0n) >= ends.get(q)!)) resolve();
        };
        consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
          if (e.payload.topic === topic && pending.has(e.payload.partition)) advance(e.payload.partition, e.payload.lastOffset);
        });
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        void consumer
          .connect()
          .then(() => consumer.subscribe({ topics: [topic], fromBeginning: true }))
          .then(() =>
            consumer.run({
              autoCommit: false,
              eachBatch: async ({ batch }) => {
                const fromBig = pending.get(batch.partition);
                if (fromBig === undefined) return;
                // Offsets stay below 2^53 (offsetToNumber refuses larger ones): compared as numbers.
                const from = Number(fromBig);
                const end = Number(ends.get(batch.partition)!);
                const records: SourceRecord[] = [];
                for (const m of batch.messages) {
                  const o = Number(m.offset);
                  if (o < from || o >= end) continue;
                  records.push({ topic, partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value ?? null, headers: NO_HEADERS });
                }
                if (records.length > 0) {
                  apply(batch.partition, records);
                  const r = result.get(batch.partition)!;
                  r.records += records.length;
                }
                if (heartbeat) await heartbeat();
              },
            }),
          )
          .then(() => {
            // Start each asked partition at its checkpoint and leave the others alone. A fetch
            // that raced the seek is harmless: records below the checkpoint are skipped above.
            for (const [partition, from] of pending) consumer.seek({ topic, partition, offset: from.toString() });
            const others = [...ends.keys()].filter((p) => !pending.has(p));
            if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
          })
          .catch(reject);
      });
      try {
        await this.withTimeout(done);
      } finally {
        // Leaving and deleting the throwaway group is not part of the restore: done in the background.
        void consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => admin.deleteGroups([groupId]))
          .catch((err: unknown) => logger.debug({ err, groupId }, 'could not delete restore group'))
          .finally(() => admin.disconnect().catch(() => undefined));
        adminInUse = true;
      }
      for (const [partition, end] of ends) {
        if (pending.has(partition)) result.get(partition)!.nextOffset = end.toString();
      }
      return result;
    } catch (err) {
      throw kafkaError(err);
    } finally {
      if (!adminInUse) await admin.disconnect().catch(() => undefined);
    }
  }
}
