import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig, type Config } from '../config.js';
import { utcDay } from '../contracts/ids.js';
import { createLogger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { AvroSerde, createRegistryClient, registryAuth } from '../adapters/avro-serde.js';
import { createKafka, kafkaConnection } from '../adapters/kafka/client.js';
import { createInterpreter, searchContext } from '../query/index.js';
import { stackUp } from '../stack/index.js';
import { formatSummary, type GenerationSummary } from '../workload/index.js';
import { prepareTopics, startAggregate } from './run-aggregate.js';
import { createEmbedder, startVectorize, createVectorSink } from './run-vectorize.js';
import { produceWorkload } from '../workload/index.js';
import { interpretationLine } from './search.js';
import { stopStage, trackState, type StageHandle } from './stage-runtime.js';

export interface DemoOptions {
  users: number;
  events: number;
  seed: string;
  timeoutMs: number;
  query: string;
}

/** Sum of a counter's values matching `labels` (from the in-process registry). */
async function counter(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/**
 * The one-command demo: starts the local stack, runs both stages in this process on fresh topics,
 * feeds a seeded workload, waits until every snapshot is vectorized, prints a summary and a search.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  console.log('Starting the local stack (first run fetches Kafka, Apicurio Registry and the model with Maven)…');
  const info = await stackUp();
  const run = `demo-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(2).toString('hex')}`;
  const env = { ...process.env };
  env['KAFKA_BROKERS'] ??= info.kafkaBrokers;
  env['SCHEMA_REGISTRY_URL'] ??= info.schemaRegistryUrl;
  // The stack's models folder, not its default model's path: EMBEDDING_MODEL still picks the model
  // (a fixed EMBEDDING_MODEL_PATH here made `EMBEDDING_MODEL=all-MiniLM-L6-v2-q npm run demo` run bge).
  env['EMBEDDING_MODELS_DIR'] ??= dirname(info.modelPath);
  env['APPLICATION_ID'] = `aura-${run}`;
  env['INPUT_TOPIC'] = `${run}.aura360.user.events`;
  env['AGGREGATED_TOPIC'] = `${run}.aura360.context.aggregated`;
  env['VECTORIZED_TOPIC'] = `${run}.aura360.context.vectorized`;
  env['ERASED_TOPIC'] = `${run}.aura360.context.erased`;
  env['STATE_DIR'] = join(process.env['STATE_DIR'] ?? '.aura-state', run);
  env['LOG_LEVEL'] ??= 'error';
  env['METRICS_PORT'] ??= '-1';
  const config: Config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  const metrics = createMetrics();
  const kafka = createKafka({ ...kafkaConnection(config), clientId: config.applicationId, logger });
  const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)));
  console.log(`Run ${run}: topics ${config.inputTopic} → ${config.aggregatedTopic} → ${config.vectorizedTopic}; state in ${resolve(config.stateDir)}`);
  await prepareTopics(kafka, config);

  const stages: StageHandle[] = [await startAggregate({ kafka, serde, config, logger, metrics })];
  stages.push(await startVectorize({ kafka, serde, config, logger, metrics }));
  for (const s of stages) trackState(s, metrics);
  const details = stages[1]!.details();
  console.log(`Vector store: ${String(details['store'])} at ${String(details['location'])} (collection ${String(details['collection'])}); model ${String(details['model'])}`);

  const started = Date.now();
  let sent: GenerationSummary | undefined;
  try {
    const bar = new SingleBar({ format: '{phase} |{bar}| {value}/{total} {unit}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
    bar.start(options.events, 0, { phase: 'produce   ', unit: 'events' });
    sent = await produceWorkload(kafka, serde, {
      topic: config.inputTopic,
      seed: options.seed,
      users: options.users,
      events: options.events,
      rate: 0,
      startMs: Date.now() - 10 * 86_400_000,
      windowDays: config.windowDays,
      maxEvents: config.windowMaxEvents,
      onProgress: (n) => bar.update(n),
    });
    bar.stop();

    const accepted = sent.valid;
    const vbar = new SingleBar({ format: '{phase} |{bar}| {value}/{total} {unit}', hideCursor: true }, Presets.shades_classic);
    vbar.start(accepted, 0, { phase: 'vectorize ', unit: 'snapshots' });
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      // Done when aggregate has read every record sent and vectorize every snapshot written (the
      // counters of this process; committed offsets trail by the transaction markers).
      const read = await counter(metrics, 'aura_records_consumed_total', { stage: 'aggregate' });
      const snapshotsOut = await counter(metrics, 'aura_records_produced_total', { stage: 'aggregate', kind: 'output' });
      const consumed = await counter(metrics, 'aura_records_consumed_total', { stage: 'vectorize' });
      vbar.update(Math.min(consumed, accepted));
      const failed = stages.find((s) => s.lifecycle.state === 'failed');
      if (failed) throw failed.lifecycle.failure ?? new Error(`stage ${failed.name} failed`);
      if (read >= sent.total && consumed >= snapshotsOut) break;
      if (Date.now() > deadline) throw new Error(`not everything was vectorized within ${options.timeoutMs / 1000}s (vectorize consumed ${consumed} of ${accepted})`);
      await new Promise((r) => setTimeout(r, 500));
    }
    vbar.stop();
    const seconds = (Date.now() - started) / 1000;

    const sink = createVectorSink(config);
    const points = await sink.count();
    const hits = await counter(metrics, 'aura_embedding_cache_total', { result: 'hit' });
    const misses = await counter(metrics, 'aura_embedding_cache_total', { result: 'miss' });
    const snapshots = await counter(metrics, 'aura_records_produced_total', { stage: 'aggregate', kind: 'output' });
    const late = await counter(metrics, 'aura_records_total', { stage: 'aggregate', outcome: 'late' });
    const dups = await counter(metrics, 'aura_records_total', { stage: 'aggregate', outcome: 'duplicate' });
    const dlq = await counter(metrics, 'aura_dlq_records_total', { stage: 'aggregate' });
    const superseded = await counter(metrics, 'aura_records_total', { stage: 'vectorize', outcome: 'superseded' });

    console.log('\nSent:');
    console.log(formatSummary(sent));
    console.log('\nProcessed:');
    const rows: Array<[string, string]> = [
      ['events in', String(sent.total)],
      ['snapshots (accepted events)', `${snapshots}${snapshots === sent.valid ? ' = valid sent' : ` ≠ valid sent ${sent.valid}`}`],
      ['late (counted, dropped)', `${late}${late === sent.late ? ' = late sent' : ` ≠ ${sent.late}`}`],
      ['duplicates (counted, dropped)', `${dups}${dups === sent.duplicate ? ' = duplicates sent' : ` ≠ ${sent.duplicate}`}`],
      ['dead-lettered', `${dlq}${dlq === sent.poison ? ' = poison sent' : ` ≠ ${sent.poison}`}`],
      ['vector points (user × day)', `${points} in ${String(details['store'])}`],
      ['coalesced in micro-batches', String(superseded)],
      ['embedding cache hit rate', `${hits + misses === 0 ? '-' : ((100 * hits) / (hits + misses)).toFixed(1)}% (${hits} hits, ${misses} misses)`],
      ['end-to-end time', `${seconds.toFixed(1)} s (${(sent.total / seconds).toFixed(0)} events/s, ${(snapshots / seconds).toFixed(0)} snapshots/s)`],
    ];
    for (const [k, v] of rows) console.log(`  ${k.padEnd(30)} ${v}`);

    const embedder = await createEmbedder(config, logger);
    // The readers' query path, as `aura-stream search` runs it: the question interpreted, then ranked.
    const answer = await searchContext({ reader: sink, embedder, interpreter: createInterpreter(embedder), mode: config.retrievalMode }, { text: options.query, limit: 3 });
    console.log(`\nSearch "${options.query}":`);
    if (answer.interpreted_as) console.log(`  ${interpretationLine(answer.interpreted_as, answer.hits.length)}`);
    for (const r of answer.hits) console.log(`  ${(r.score ?? 0).toFixed(3)}${r.filled ? '+' : ' '} ${r.payload.user_id} ${r.payload.day}  ${r.payload.text}`);
    console.log(`\nSearch this run yourself (the latest demo run is found without settings):`);
    console.log(`  node bin/aura-stream.js search "mood getting worse" [--json] [--user user-0001] [--since ${utcDay(Date.now() - 3 * 86_400_000)}]`);
    console.log(`  STATE_DIR=${config.stateDir} node bin/aura-stream.js search "…"   # this run, once a newer one exists`);
    await embedder.close();
    await sink.close();
    const balanced = snapshots === sent.valid && late === sent.late && dups === sent.duplicate && dlq === sent.poison;
    console.log(balanced ? '\nEvery record is accounted for.' : '\nACCOUNTING MISMATCH: see the rows marked ≠ above.');
    console.log(`The stack keeps running; stop it with: aura-stream stack down`);
    return balanced ? 0 : 1;
  } finally {
    for (const s of stages) await stopStage(s);
  }
}
