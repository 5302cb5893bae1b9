/**
 * The `aggregate` stage against its own Kafka client, in one run on the same input topic:
 *
 *   1. raw read        a bare kafkajs consumer group reading the input topic to its end
 *   2. raw pipe        a bare kafkajs consume → produce pipe: one record out per record in, of the
 *                      stage's mean output bytes per input record (snapshot + changelog share),
 *                      idempotent producer, 250 records per send, offsets committed by the group
 *   3. exactly_once    the real CLI (`aura-stream run aggregate`, a child process)
 *   4. at_least_once   the same
 *   5. restore         the exactly_once run restarted with its LMDB folder deleted
 *   6. heavy           users at the 512-event cap with 200-character notes, exactly_once: must
 *                      complete with every record accounted for (then its restore too)
 *
 *   node --import tsx bench/aggregate.ts        (needs the local stack: `aura-stream stack up`)
 *
 * Environment (all optional): BENCH_EVENTS (default 20000), BENCH_USERS (2000), BENCH_SEED
 * (bench), BENCH_PARTITIONS (3), BENCH_HEAVY_USERS (30), BENCH_HEAVY_EVENTS (24000; 800 per user
 * over 10 days keeps every window at the cap), BENCH_KEEP=1 (keep the topics),
 * BENCH_STAGE_NODE_ARGS (node flags for the stage children, e.g. `--cpu-prof --cpu-prof-dir=bench/results/profiles`),
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL; the stage's own variables (AGGREGATE_TX_MAX_RECORDS…) pass
 * through to the stage children.
 *
 * Stage processing time runs from the stage being ready (joined and restored; start-up is
 * reported apart) to its group having committed the whole input; raw runs are timed from their
 * first fetched batch to their last record. Restore records/s = changelog records replayed / wall
 * time of the restore (from the stage's log lines; aura_restore_records_total must agree): from the
 * partitions' producers being claimed to their windows being in LMDB. The reader's connection is
 * opened at stage start, outside that window; the time the restore still waited for it is reported,
 * and so is spawn-to-ready. The
 * machine is shared: absolute figures are noisy, the ratios are same-run. Results go to
 * bench/results/aggregate-<timestamp>.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { hostInfo, intEnv, writeResults } from './support.js';
import type { Kafka } from 'kafkajs';
import { generateEvents, summarize, type GeneratedRecord } from '../src/workload/index.js';
import {
  OffsetProbe,
  createStageTopics,
  dropTestResources,
  killAllStages,
  metricValue,
  produceGenerated,
  removeDir,
  requireStack,
  runStage,
  testKafka,
  testSerde,
  uniqueNames,
  type TestNames,
} from '../test/support/stack-env.js';

type Guarantee = 'exactly_once' | 'at_least_once';


/** The cumulative buckets of a Prometheus histogram (`<name>_bucket{…le="…"} n` lines), matching `labels`. */
function buckets(text: string, name: string, labels: Record<string, string>): Array<{ le: number; count: number }> {
  const out: Array<{ le: number; count: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const m = /\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const have = new Map([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (!Object.entries(labels).every(([k, v]) => have.get(k) === v)) continue;
    const le = have.get('le')!;
    out.push({ le: le === '+Inf' ? Infinity : Number(le), count: Number(m[2]) });
  }
  return out.sort((a, b) => a.le - b.le);
}

/** Quantile `q` of a histogram, linearly interpolated inside its bucket (Prometheus' histogram_quantile). */
function quantile(b: Array<{ le: number; count: number }>, q: number): number | null {
  const total = b[b.length - 1]?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of b) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((rank - prevCount) / Math.max(count - prevCount, 1e-9));
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

interface RunResult {
  label: string;
  guarantee: Guarantee;
  events: number;
  startupSeconds: number;
  processSeconds: number;
  processedEvents: number;
  eventsPerSecond: number;
  transactions: number;
  recordsPerTransaction: number;
  batchLatencyMs: { mean: number; p50: number | null; p90: number | null; p99: number | null };
  outputs: number;
  changelogRecords: number;
  accounted: { accepted: number; late: number; duplicate: number; dlq: number };
}

interface RestoreResult {
  label: string;
  records: number;
  bytes: number;
  /** Wall time of the restore (the slowest partition: all partitions restore together). */
  seconds: number;
  recordsPerSecond: number;
  metricRecords: number;
  /** Stage spawn to ready (the restore included): what a restarted pod costs in all. */
  startupSeconds: number;
  /** The reader's split: waiting for its connection (opened at start, before the timed restore), fetching and decoding, LMDB writes. */
  phases?: { connectMs: number; readMs: number; applyMs: number };
}

interface RawResult {
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSecond: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** createStageTopics, again after a pause when the new topics' metadata has not reached the broker yet (a loaded host). */
async function createTopics(kafka: Kafka, env: Record<string, string>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createStageTopics(kafka, env);
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(2000);
    }
  }
}

/**
 * Reads `topic` to its end with a bare consumer group; timed from the first batch to the last
 * record. `idleMs`: also done once nothing arrived for that long (transactional topics hold
 * commit markers, so their end offset exceeds their record count).
 */
async function rawRead(kafka: Kafka, topic: string, expected: number, idleMs?: number): Promise<RawResult> {
  const consumer = kafka.consumer({ groupId: `bench-raw-read-${randomUUID()}`, readUncommitted: false, maxBytesPerPartition: 1_048_576 });
  let first = 0;
  let records = 0;
  let bytes = 0;
  let last = Date.now();
  let finished!: (at: number) => void;
  const done = new Promise<number>((r) => (finished = r));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = Date.now();
      for (const m of batch.messages) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
      records += batch.messages.length;
      last = Date.now();
      if (records >= expected) finished(Date.now());
    },
  });
  const idle = async (): Promise<number> => {
    for (;;) {
      await sleep(200);
      if (idleMs !== undefined && records > 0 && Date.now() - last > idleMs) return last;
      if (Date.now() - last > 300_000) throw new Error(`raw read of ${topic} stalled at ${records}/${expected}`);
    }
  };
  const end = await Promise.race([done, idle()]);
  await consumer.disconnect();
  const seconds = (end - first) / 1000;
  return { records, bytes, seconds, recordsPerSecond: records / seconds };
}

/**
 * consume → produce with bare kafkajs: one record of `bytesPerRecord` out per record in (key kept),
 * idempotent producer, 250 per send, offsets resolved per send and committed by the group.
 */
async function rawPipe(kafka: Kafka, input: string, output: string, expected: number, bytesPerRecord: number): Promise<RawResult> {
  const consumer = kafka.consumer({ groupId: `bench-raw-pipe-${randomUUID()}`, readUncommitted: false, maxBytesPerPartition: 1_048_576 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const payload = randomBytes(bytesPerRecord);
  let first = 0;
  let records = 0;
  let finished!: (at: number) => void;
  const done = new Promise<number>((r) => (finished = r));
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (first === 0) first = Date.now();
      for (let i = 0; i < batch.messages.length; i += 250) {
        const chunk = batch.messages.slice(i, i + 250);
        await producer.send({ topic: output, acks: -1, messages: chunk.map((m) => ({ key: m.key, value: payload })) });
        resolveOffset(chunk[chunk.length - 1]!.offset);
        records += chunk.length;
        await heartbeat();
      }
      if (records >= expected) finished(Date.now());
    },
  });
  const end = await Promise.race([done, sleep(300_000).then(() => Promise.reject(new Error(`raw pipe of ${input} stalled at ${records}/${expected}`)))]);
  await consumer.disconnect();
  await producer.disconnect();
  const seconds = (end - first) / 1000;
  return { records, bytes: records * bytesPerRecord, seconds, recordsPerSecond: records / seconds };
}

/** Records and key+value bytes of a whole topic (not timed). */
async function topicBytes(kafka: Kafka, topic: string, probe: OffsetProbe): Promise<{ records: number; bytes: number }> {
  const end = await probe.end(topic);
  if (end === 0) return { records: 0, bytes: 0 };
  const r = await rawRead(kafka, topic, end, 3000);
  return { records: r.records, bytes: r.bytes };
}

async function main(): Promise<void> {
  const events = intEnv('BENCH_EVENTS', 20_000);
  const users = intEnv('BENCH_USERS', 2000);
  const partitions = intEnv('BENCH_PARTITIONS', 3);
  const heavyUsers = intEnv('BENCH_HEAVY_USERS', 30);
  const heavyEvents = intEnv('BENCH_HEAVY_EVENTS', 24_000);
  const seed = process.env.BENCH_SEED ?? 'bench';
  const started = Date.now();
  const loadBefore = loadavg();

  await requireStack();
  const kafka = testKafka('bench-aggregate');
  const serde = testSerde();
  const startMs = Date.now() - 10 * 86_400_000 - 3_600_000;
  const input = uniqueNames('bench-input', { partitions });
  const heavyInput = uniqueNames('bench-heavy', { partitions });
  await createTopics(kafka, input.env);
  await createTopics(kafka, heavyInput.env);
  const generated = [...generateEvents({ seed, users, events, startMs })];
  const heavy = [...generateEvents({ seed: `${seed}-heavy`, users: heavyUsers, events: heavyEvents, startMs, lateFraction: 0.01, duplicateFraction: 0.01, poisonFraction: 0.005 })].map(withLongNote);
  const summary = summarize(generated);
  const heavySummary = summarize(heavy);
  const produceStart = Date.now();
  await produceGenerated(kafka, serde, input.inputTopic, generated);
  await produceGenerated(kafka, serde, heavyInput.inputTopic, heavy);
  console.log(`produced ${events} records (${users} users) and ${heavyEvents} heavy records (${heavyUsers} users), ${partitions} partitions, in ${((Date.now() - produceStart) / 1000).toFixed(1)} s`);

  const probe = new OffsetProbe(kafka);
  const apps: TestNames[] = [];
  const runs: RunResult[] = [];
  const restores: RestoreResult[] = [];
  let read: RawResult | undefined;
  let pipe: RawResult | undefined;
  let outputBytesPerRecord = 0;
  try {
    read = await rawRead(kafka, input.inputTopic, events);
    console.log(`raw read          ${read.recordsPerSecond.toFixed(0).padStart(7)} records/s  (${read.records} in ${read.seconds.toFixed(2)} s, ${(read.bytes / read.records).toFixed(0)} B/record)`);

    const stage = async (label: string, guarantee: Guarantee, source: TestNames, expected: number, withRestore: boolean) => {
      const app = uniqueNames(`bench-${label}`, { partitions, guarantee });
      apps.push(app);
      const env = { ...app.env, INPUT_TOPIC: source.inputTopic, DLQ_SUFFIX: `.dlq-${label}`, LOG_LEVEL: 'info' };
      await createTopics(kafka, env);
      const result = await runOnce(label, guarantee, env, app, source.inputTopic, expected, probe);
      runs.push(result);
      if (withRestore) {
        removeDir(join(app.stateDir, 'aggregate'));
        const r = await restoreOnce(label, env, app, kafka, probe);
        restores.push(r);
      }
      return { app, result };
    };

    const eos = await stage('eos', 'exactly_once', input, events, true);
    const out = await topicBytes(kafka, eos.app.aggregatedTopic, probe);
    const changelog = await topicBytes(kafka, eos.app.changelogTopic, probe);
    outputBytesPerRecord = Math.round((out.bytes + changelog.bytes) / events);
    console.log(`stage output      ${(out.bytes / Math.max(out.records, 1)).toFixed(0)} B/snapshot, ${(changelog.bytes / Math.max(changelog.records, 1)).toFixed(0)} B/changelog record → ${outputBytesPerRecord} B out per record in`);
    await stage('alos', 'at_least_once', input, events, false);

    const pipeOut = uniqueNames('bench-pipe', { partitions });
    apps.push(pipeOut);
    await createTopics(kafka, pipeOut.env);
    pipe = await rawPipe(kafka, input.inputTopic, pipeOut.aggregatedTopic, events, outputBytesPerRecord);
    console.log(`raw pipe          ${pipe.recordsPerSecond.toFixed(0).padStart(7)} records/s  (${pipe.records} in ${pipe.seconds.toFixed(2)} s, ${outputBytesPerRecord} B out per record)`);

    const heavyRun = await stage('heavy', 'exactly_once', heavyInput, heavyEvents, true);
    const h = heavyRun.result.accounted;
    const accounted = h.accepted + h.late + h.duplicate + h.dlq;
    if (accounted !== heavyEvents) throw new Error(`heavy run accounted for ${accounted} of ${heavyEvents} records`);
    if (h.accepted !== heavySummary.valid) throw new Error(`heavy run accepted ${h.accepted}, the workload has ${heavySummary.valid} valid records`);
  } finally {
    killAllStages();
    await probe.close();
    if (process.env.BENCH_KEEP !== '1') {
      for (const app of [...apps, input, heavyInput]) {
        await dropTestResources(kafka, app.env).catch(() => undefined);
        removeDir(app.stateDir);
      }
    }
  }

  const eos = runs.find((r) => r.label === 'eos')!;
  const alos = runs.find((r) => r.label === 'alos')!;
  const restore = restores.find((r) => r.label === 'eos')!;
  const results = {
    ratio_aggregate_eos_over_raw_pipe: eos.eventsPerSecond / pipe!.recordsPerSecond,
    ratio_eos_over_alos: eos.eventsPerSecond / alos.eventsPerSecond,
    ratio_alos_over_raw_pipe: alos.eventsPerSecond / pipe!.recordsPerSecond,
    ratio_raw_pipe_over_raw_read: pipe!.recordsPerSecond / read!.recordsPerSecond,
    restore_records_per_second: restore.recordsPerSecond,
  };
  console.log(
    `exactly_once / raw pipe ×${results.ratio_aggregate_eos_over_raw_pipe.toFixed(2)} (target ≥ 0.5), exactly_once / at_least_once ×${results.ratio_eos_over_alos.toFixed(2)} (target ≥ 0.8), ` +
      `restore ${results.restore_records_per_second.toFixed(0)} records/s (target ≥ 50000)`,
  );

  const file = writeResults('aggregate', new Date(started), {
    bench: 'aggregate',
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    host: hostInfo(loadBefore),
    workload: { events, users, seed, partitions, summary, heavy: { users: heavyUsers, events: heavyEvents, summary: heavySummary } },
    ...results,
    raw: { read, pipe, outputBytesPerRecord },
    runs,
    restores,
  });
  console.log(`wrote ${file}`);
}

/** A 200-character note on every event of the heavy workload (the same note for the same event id, so duplicates stay duplicates). */
function withLongNote(r: GeneratedRecord): GeneratedRecord {
  if (!r.event) return r;
  const base = `Long day, ${r.event.event_id}: walked, worked, slept badly, talked with family, planned the week and wrote this down. `;
  const note = base.repeat(3).slice(0, 200);
  return { ...r, event: r.event.type === 'MoodCreated' ? { ...r.event, note } : { ...r.event, notes: note } };
}

async function runOnce(label: string, guarantee: Guarantee, env: Record<string, string>, app: TestNames, inputTopic: string, events: number, probe: OffsetProbe): Promise<RunResult> {
  const spawned = Date.now();
  const stage = await runStage(env, 'aggregate', { label: `bench-${label}`, readyTimeoutMs: 120_000 });
  const ready = Date.now();
  const atReady = await probe.committed(app.groupId, inputTopic);
  let committed = atReady;
  while (committed < events) {
    if (Date.now() - ready > 600_000) throw new Error(`${label} run did not catch up within 600 s (${committed}/${events}); see ${stage.logFile}`);
    await sleep(100);
    committed = await probe.committed(app.groupId, inputTopic);
  }
  const done = Date.now();
  const metrics = await stage.metrics();
  const lat = buckets(metrics, 'aura_batch_process_seconds', { stage: 'aggregate' });
  const latSum = metricValue(metrics, 'aura_batch_process_seconds_sum', { stage: 'aggregate' });
  const latCount = metricValue(metrics, 'aura_batch_process_seconds_count', { stage: 'aggregate' });
  const ms = (s: number | null) => (s === null ? null : Math.round(s * 10_000) / 10);
  const outcome = (o: string) => metricValue(metrics, 'aura_records_total', { stage: 'aggregate', outcome: o });
  const result: RunResult = {
    label,
    guarantee,
    events,
    startupSeconds: (ready - spawned) / 1000,
    processSeconds: (done - ready) / 1000,
    processedEvents: events - atReady,
    eventsPerSecond: (events - atReady) / ((done - ready) / 1000),
    transactions: metricValue(metrics, 'aura_transactions_total', { stage: 'aggregate', result: 'committed' }),
    recordsPerTransaction: events / Math.max(latCount, 1),
    batchLatencyMs: { mean: Math.round((latSum / Math.max(latCount, 1)) * 10_000) / 10, p50: ms(quantile(lat, 0.5)), p90: ms(quantile(lat, 0.9)), p99: ms(quantile(lat, 0.99)) },
    outputs: metricValue(metrics, 'aura_records_produced_total', { stage: 'aggregate', kind: 'output' }),
    changelogRecords: metricValue(metrics, 'aura_records_produced_total', { stage: 'aggregate', kind: 'changelog' }),
    accounted: { accepted: outcome('accepted'), late: outcome('late'), duplicate: outcome('duplicate'), dlq: outcome('dlq') },
  };
  console.log(
    `${label.padEnd(6)} ${guarantee.padEnd(13)}${result.eventsPerSecond.toFixed(0).padStart(7)} records/s  ` +
      `(${result.processedEvents} in ${result.processSeconds.toFixed(2)} s, start-up ${result.startupSeconds.toFixed(1)} s, ` +
      `${result.transactions} transactions, p50 ${result.batchLatencyMs.p50} ms, p99 ${result.batchLatencyMs.p99} ms)`,
  );
  if ((await stage.stop()) !== 0) throw new Error(`${label} run did not exit 0; see ${stage.logFile}`);
  return result;
}

async function restoreOnce(label: string, env: Record<string, string>, app: TestNames, kafka: Kafka, probe: OffsetProbe): Promise<RestoreResult> {
  const spawned = Date.now();
  const restored = await runStage(env, 'aggregate', { label: `restore-${label}`, readyTimeoutMs: 300_000 });
  const startupSeconds = (Date.now() - spawned) / 1000;
  const lines = restored.logLines().filter((l) => l.msg === 'restored partition from changelog');
  // The reader's own split of the restore (absent when it fell back to a consumer group).
  const read = restored.logLines().find((l) => l.msg === 'read changelog by offset');
  const phases = read ? { connectMs: Number(read.connectMs), readMs: Number(read.readMs), applyMs: Number(read.applyMs) } : undefined;
  const records = lines.reduce((n, l) => n + Number(l.records), 0);
  const seconds = Math.max(...lines.map((l) => Number(l.seconds)));
  const rm = await restored.metrics();
  if ((await restored.stop()) !== 0) throw new Error(`restore run did not exit 0; see ${restored.logFile}`);
  const changelog = await topicBytes(kafka, app.changelogTopic, probe);
  const r: RestoreResult = { label, records, bytes: changelog.bytes, seconds, recordsPerSecond: records / seconds, metricRecords: metricValue(rm, 'aura_restore_records_total', { stage: 'aggregate' }), startupSeconds, ...(phases && { phases }) };
  console.log(
    `${label.padEnd(6)} restore      ${r.recordsPerSecond.toFixed(0).padStart(7)} records/s  (${records} changelog records, ${(changelog.bytes / 1e6).toFixed(1)} MB, in ${seconds.toFixed(2)} s; metric ${r.metricRecords} records; ` +
      `${phases ? `waited ${phases.connectMs} ms for the connection opened at start, read ${phases.readMs} ms, LMDB ${phases.applyMs} ms; ` : ''}spawn to ready ${startupSeconds.toFixed(2)} s)`,
  );
  return r;
}

main()
  // Clients of the shared test support (registry, kafkajs) keep handles open: the results are written, exit.
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(error);
    killAllStages();
    process.exit(1);
  });
