import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AvroSerde } from '../adapters/avro-serde.js';
import { createAggregateCodec } from '../adapters/codecs.js';
import { AtLeastOnceBatchWriter, TransactionalBatchWriter } from '../adapters/kafka/batch-writer.js';
import { KafkaChangelogReader } from '../adapters/kafka/changelog-reader.js';
import { kafkajsInternals, type InternalsCheck } from '../adapters/kafka/internals.js';
import { KafkaGroupSource } from '../adapters/kafka/group-source.js';
import { kafkaError } from '../adapters/kafka/errors.js';
import { LagMonitor } from '../adapters/kafka/lag-monitor.js';
import { ProduceLimits, readMaxMessageBytes } from '../adapters/kafka/produce-limits.js';
import { ensureTopics } from '../adapters/kafka/topics.js';
import { LmdbWindowStore } from '../adapters/lmdb-window-store.js';
import { AGGREGATE_STAGE, aggregateTopology, type AggregateEvent } from '../../topology/aggregate.js';
import { aggregatePhases } from '../../topology/lifecycle.js';
import { withFailpoints } from './failpoints.js';
import { compileAggregateOptions, compileAggregateSourceOptions, compileChangelogReaderOptions, compileTransactionalWriterOptions } from './options.js';
import { logIllegalMove, runEvents, type StageHandle } from './stage-runtime.js';

/** Topics of both stages, created when missing; the changelog copies the input's partition count. */
export async function prepareTopics(kafka: Kafka, config: Config, stage: 'aggregate' | 'vectorize' | 'all' = 'all'): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const n = config.topicPartitions;
    // Each stage checks (and creates) only the topics it reads or writes: with one principal per
    // stage, a topic it has no ACL on is not even listed to it (docs/security.md).
    const aggregate = [
      { topic: config.inputTopic, partitions: n },
      { topic: config.aggregatedTopic, partitions: n },
      { topic: config.inputDlqTopic, partitions: n },
      { topic: config.changelogTopic, copyOf: config.inputTopic, compacted: true },
    ];
    const vectorize = [
      { topic: config.aggregatedTopic, partitions: n },
      { topic: config.vectorizedTopic, partitions: n },
      { topic: config.erasedTopic, partitions: n },
      { topic: config.aggregatedDlqTopic, partitions: n },
    ];
    const plans = stage === 'aggregate' ? aggregate : stage === 'vectorize' ? vectorize : [...aggregate, ...vectorize.slice(1)];
    await ensureTopics(admin, plans, { create: config.createTopics, replicationFactor: config.topicReplicationFactor });
  } finally {
    await admin.disconnect();
  }
}

/** The input topic alone, created when missing (what `produce` needs; it writes nothing else). */
export async function prepareInputTopic(kafka: Kafka, config: Config): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic: config.inputTopic, partitions: config.topicPartitions }], { create: config.createTopics, replicationFactor: config.topicReplicationFactor });
  } finally {
    await admin.disconnect();
  }
}

/** The broker limits of the aggregate stage's output, changelog and DLQ topics, read once at start. */
async function produceLimits(kafka: Kafka, config: Config): Promise<ProduceLimits> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new ProduceLimits({
      maxMessageBytes: await readMaxMessageBytes(admin, [config.aggregatedTopic, config.changelogTopic, config.inputDlqTopic]),
      maxRequestBytes: config.produceRequestMaxBytes,
      compressed: new Set(config.changelogCompression === 'gzip' ? [config.changelogTopic] : []),
      deadLetterTopics: new Set([config.inputDlqTopic]),
    });
  } catch (err) {
    throw kafkaError(err);
  } finally {
    await admin.disconnect();
  }
}

/** Composes the aggregate stage from its adapters and starts it. */
export async function startAggregate(deps: { kafka: Kafka; serde: AvroSerde; config: Config; logger: Logger; metrics: Metrics }): Promise<StageHandle> {
  const { kafka, serde, config, metrics } = deps;
  const logger = deps.logger.child({ stage: AGGREGATE_STAGE });
  const codec = await createAggregateCodec(serde, { input: config.inputTopic, output: config.aggregatedTopic });
  const stateDir = join(config.stateDir, 'aggregate');
  const store = withFailpoints(new LmdbWindowStore(stateDir), AGGREGATE_STAGE, ['apply']);
  const onCommit = (seconds: number) => metrics.commitSeconds.observe({ stage: AGGREGATE_STAGE }, seconds);
  const source = new KafkaGroupSource(kafka, {
    ...compileAggregateSourceOptions(config),
    logger,
    onCommit,
    // Both guarantees resolve a batch's records only after their offsets are committed.
    confirmedBy: 'resolve',
  });
  const exactlyOnce = config.processingGuarantee === 'exactly_once';
  const limits = await produceLimits(kafka, config);
  const writer = withFailpoints(
    exactlyOnce
      ? new TransactionalBatchWriter(kafka, { ...compileTransactionalWriterOptions(config), logger, limits, onCommit })
      : new AtLeastOnceBatchWriter(kafka, source, limits),
    AGGREGATE_STAGE,
    ['write'],
  );
  const changelog = new KafkaChangelogReader(kafka, { ...compileChangelogReaderOptions(config), logger });
  reportKafkajsInternals(kafkajsInternals(), logger, metrics);
  changelog.warm();
  logger.info({ guarantee: config.processingGuarantee, stateDir, input: config.inputTopic, output: config.aggregatedTopic, changelog: config.changelogTopic }, 'starting aggregate');

  const stage = { stage: AGGREGATE_STAGE };
  metrics.initStage(AGGREGATE_STAGE);
  metrics.watchUnconfirmed(AGGREGATE_STAGE, () => source.unconfirmed.oldest());
  let owned: number[] = [];
  const lag = LagMonitor.forKafka(kafka, {
    groupId: config.aggregateGroupId,
    topic: config.inputTopic,
    intervalMs: config.lagRefreshMs,
    owned: () => owned,
    oldestUnconfirmed: (p) => source.unconfirmed.oldest(p),
    consumedThrough: (p) => source.unconfirmed.consumedThrough(p),
    onLag: (rows) => metrics.setLag(AGGREGATE_STAGE, config.inputTopic, rows),
    onError: (err) => {
      metrics.lagRefreshFailures.inc(stage);
      logger.debug({ err }, 'lag refresh failed');
    },
  });
  const onEvent = (e: AggregateEvent) => {
    switch (e.type) {
      case 'assigned':
        metrics.assign(AGGREGATE_STAGE, config.inputTopic, e.partitions);
        owned = e.partitions;
        lag.start();
        break;
      case 'restored':
        metrics.restoreRecords.inc(stage, e.records);
        metrics.restoreSeconds.observe(stage, e.seconds);
        logger.info({ partition: e.partition, records: e.records, nextOffset: e.nextOffset, seconds: e.seconds }, 'restored partition from changelog');
        break;
      case 'committed':
        metrics.recordsConsumed.inc(stage, e.consumed);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'accepted' }, e.accepted);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'late' }, e.late);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'duplicate' }, e.duplicate);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'dlq' }, e.dlq.length);
        metrics.recordsOutcome.inc({ ...stage, outcome: 'erased' }, e.erased);
        metrics.erasures.inc({ ...stage, cause: 'user_deleted' }, e.erasures.user_deleted);
        metrics.erasures.inc({ ...stage, cause: 'retention' }, e.erasures.retention);
        for (const d of e.dlq) {
          metrics.dlq.inc({ ...stage, reason: d.code });
          // Code, field and position only: the message quotes the record (notes, user ids), which logs must never hold.
          logger.warn({ topic: config.inputTopic, partition: e.partition, offset: d.offset, code: d.code, field: d.field }, 'dead-lettered');
        }
        metrics.recordsProduced.inc({ ...stage, kind: 'output' }, e.produced.output);
        metrics.recordsProduced.inc({ ...stage, kind: 'changelog' }, e.produced.changelog);
        metrics.recordsProduced.inc({ ...stage, kind: 'dlq' }, e.produced.dlq);
        metrics.transactions.inc({ ...stage, result: 'committed' });
        metrics.processLatency.observe(stage, e.seconds);
        for (const s of e.e2eSeconds) metrics.e2eLatency.observe(stage, s);
        for (const s of e.latenessSeconds) metrics.lateness.observe(stage, s);
        logger.debug({ partition: e.partition, nextOffset: e.nextOffset, consumed: e.consumed, accepted: e.accepted, late: e.late, duplicate: e.duplicate, erased: e.erased, expired: e.erasures.retention, trace_ids: e.traceIds.slice(0, 5) }, 'committed');
        break;
      case 'abandoned':
        logger.info({ partition: e.partition, reason: e.reason }, 'abandoned batch uncommitted');
        break;
      case 'retrying':
        metrics.retries.inc({ ...stage, code: e.error.code });
        metrics.transactions.inc({ ...stage, result: 'aborted' });
        logger.warn({ partition: e.partition, code: e.error.code, err: e.error }, `transient fault, the uncommitted rest of the batch is retried: ${e.error.message}`);
        break;
    }
  };

  const events$ = aggregateTopology({ source, writer, store, changelog, codec }, compileAggregateOptions(config));

  const { lifecycle, signals, subscription } = runEvents(events$, aggregatePhases, onEvent, logIllegalMove(logger));

  return {
    name: AGGREGATE_STAGE,
    lifecycle,
    signals,
    subscription,
    details: () => ({ guarantee: config.processingGuarantee, stateDir, windowStore: 'lmdb' }),
    stop: async () => {
      await lag.stop();
      await source.stop();
      subscription.unsubscribe();
      await writer.close();
      await changelog.close();
      await store.close();
    },
  };
}

/**
 * The start-up self-test of the kafkajs internals (src/adapters/kafka/internals.ts) as a metric
 * per part, and a warning naming what did not look as expected and what falls back.
 */
export function reportKafkajsInternals(check: InternalsCheck, logger: Pick<Logger, 'warn'>, metrics: Pick<Metrics, 'kafkajsInternals'>): void {
  metrics.kafkajsInternals.set({ part: 'direct_restore' }, check.directRestore.length === 0 ? 1 : 0);
  metrics.kafkajsInternals.set({ part: 'gzip_codec' }, check.gzipCodec.length === 0 ? 1 : 0);
  if (check.directRestore.length > 0) {
    logger.warn(
      { kafkajsVersion: check.version, problems: check.directRestore },
      `kafkajs ${check.version} does not look as direct restore expects (${check.directRestore.join('; ')}): changelogs are replayed through a consumer group instead (slower, same result). Fix: install the kafkajs version package.json pins`,
    );
  }
  if (check.gzipCodec.length > 0) {
    logger.warn({ kafkajsVersion: check.version, problems: check.gzipCodec }, `kafkajs ${check.version}: the GZIP codec table does not look as expected (${check.gzipCodec.join('; ')}): kafkajs' own GZIP codec is used`);
  }
}
