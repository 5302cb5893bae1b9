/**
 * Throughput of the `aggregate` stage under exactly_once and at_least_once on one seeded workload,
 * and the speed of a changelog restore.
 *
 *   node --import tsx bench/aggregate.ts        (needs the local stack: `aura-stream stack up`)
 *
 * Environment (all optional): BENCH_EVENTS (default 20000), BENCH_USERS (200), BENCH_SEED (bench),
 * BENCH_PARTITIONS (3), BENCH_ROUNDS (1), KAFKA_BROKERS, SCHEMA_REGISTRY_URL, BENCH_KEEP=1 (keep
 * the topics afterwards).
 *
 * The workload is produced once to a fresh input topic. Each (round, guarantee) then runs the real
 * CLI (`aura-stream run aggregate`, a child process) as a fresh application over that topic: own
 * group, output, changelog and state folder. Processing time runs from the stage being ready
 * (joined and restored: start-up is reported apart) to its group having committed the whole input;
 * events/s counts the input records processed in that time. Batch latency is one transaction's
 * processing + commit (aura_batch_process_seconds), its percentiles interpolated in the histogram's
 * buckets. Each exactly_once run is then stopped, its LMDB folder deleted and the stage restarted:
 * restore records/s = changelog records replayed / wall time of the restore (from its log lines;
 * aura_restore_records_total must agree). Rounds alternate the order of the guarantees, so a change
 * of load on this shared host hits both alike; ratios are against at_least_once of the same run.
 * Results go to bench/results/aggregate-<timestamp>.json.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { hostInfo, intEnv, writeResults } from './support.js';
import { generateEvents, summarize } from '../src/workload/index.js';
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
  round: number;
  guarantee: Guarantee;
  startupSeconds: number;
  processSeconds: number;
  processedEvents: number;
  eventsPerSecond: number;
  transactions: number;
  recordsPerTransaction: number;
  batchLatencyMs: { mean: number; p50: number | null; p90: number | null; p99: number | null };
  outputs: number;
  changelogRecords: number;
}

interface RestoreResult {
  round: number;
  records: number;
  /** Wall time of the restore (the slowest partition: all partitions restore together). */
  seconds: number;
  recordsPerSecond: number;
  metricRecords: number;
  metricSecondsSum: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const events = intEnv('BENCH_EVENTS', 20_000);
  const users = intEnv('BENCH_USERS', 200);
  const partitions = intEnv('BENCH_PARTITIONS', 3);
  const rounds = intEnv('BENCH_ROUNDS', 1);
  const seed = process.env.BENCH_SEED ?? 'bench';
  const started = Date.now();
  const loadBefore = loadavg();

  await requireStack();
  const kafka = testKafka('bench-aggregate');
  const serde = testSerde();
  const input = uniqueNames('bench-input', { partitions });
  await createStageTopics(kafka, input.env);
  const generated = [...generateEvents({ seed, users, events, startMs: Date.now() - 10 * 86_400_000 - 3_600_000 })];
  const summary = summarize(generated);
  const produceStart = Date.now();
  await produceGenerated(kafka, serde, input.inputTopic, generated);
  console.log(`produced ${events} records (${users} users, ${partitions} partitions) in ${((Date.now() - produceStart) / 1000).toFixed(1)} s to ${input.inputTopic}`);

  const probe = new OffsetProbe(kafka);
  const apps: Array<{ names: TestNames; env: Record<string, string> }> = [];
  const runs: RunResult[] = [];
  const restores: RestoreResult[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const order: Guarantee[] = round % 2 === 1 ? ['at_least_once', 'exactly_once'] : ['exactly_once', 'at_least_once'];
      for (const guarantee of order) {
        const app = uniqueNames(`bench-${guarantee === 'exactly_once' ? 'eos' : 'alo'}`, { partitions, guarantee });
        const env = { ...app.env, INPUT_TOPIC: input.inputTopic, DLQ_SUFFIX: `.dlq-${guarantee}-${round}`, LOG_LEVEL: 'info' };
        apps.push({ names: app, env });
        await createStageTopics(kafka, env);
        const spawned = Date.now();
        const stage = await runStage(env, 'aggregate', { label: 'bench', readyTimeoutMs: 120_000 });
        const ready = Date.now();
        const atReady = await probe.committed(app.groupId, input.inputTopic);
        let committed = atReady;
        while (committed < events) {
          if (Date.now() - ready > 600_000) throw new Error(`${guarantee} run did not catch up within 600 s (${committed}/${events}); see ${stage.logFile}`);
          await sleep(100);
          committed = await probe.committed(app.groupId, input.inputTopic);
        }
        const done = Date.now();
        const metrics = await stage.metrics();
        const lat = buckets(metrics, 'aura_batch_process_seconds', { stage: 'aggregate' });
        const latSum = metricValue(metrics, 'aura_batch_process_seconds_sum', { stage: 'aggregate' });
        const latCount = metricValue(metrics, 'aura_batch_process_seconds_count', { stage: 'aggregate' });
        const ms = (s: number | null) => (s === null ? null : Math.round(s * 10_000) / 10);
        const result: RunResult = {
          round,
          guarantee,
          startupSeconds: (ready - spawned) / 1000,
          processSeconds: (done - ready) / 1000,
          processedEvents: events - atReady,
          eventsPerSecond: (events - atReady) / ((done - ready) / 1000),
          transactions: metricValue(metrics, 'aura_transactions_total', { stage: 'aggregate', result: 'committed' }),
          recordsPerTransaction: events / Math.max(latCount, 1),
          batchLatencyMs: { mean: Math.round((latSum / Math.max(latCount, 1)) * 10_000) / 10, p50: ms(quantile(lat, 0.5)), p90: ms(quantile(lat, 0.9)), p99: ms(quantile(lat, 0.99)) },
          outputs: metricValue(metrics, 'aura_records_produced_total', { stage: 'aggregate', kind: 'output' }),
          changelogRecords: metricValue(metrics, 'aura_records_produced_total', { stage: 'aggregate', kind: 'changelog' }),
        };
        runs.push(result);
        console.log(
          `round ${round} ${guarantee.padEnd(13)} ${result.eventsPerSecond.toFixed(0).padStart(6)} events/s  ` +
            `(${result.processedEvents} in ${result.processSeconds.toFixed(2)} s, start-up ${result.startupSeconds.toFixed(1)} s, ` +
            `${result.transactions} batches, p50 ${result.batchLatencyMs.p50} ms, p99 ${result.batchLatencyMs.p99} ms)`,
        );
        if ((await stage.stop()) !== 0) throw new Error(`${guarantee} run did not exit 0; see ${stage.logFile}`);

        if (guarantee === 'exactly_once') {
          removeDir(join(app.stateDir, 'aggregate'));
          const restored = await runStage(env, 'aggregate', { label: 'restore', readyTimeoutMs: 300_000 });
          const lines = restored.logLines().filter((l) => l.msg === 'restored partition from changelog');
          const records = lines.reduce((n, l) => n + Number(l.records), 0);
          const seconds = Math.max(...lines.map((l) => Number(l.seconds)));
          const rm = await restored.metrics();
          const r: RestoreResult = {
            round,
            records,
            seconds,
            recordsPerSecond: records / seconds,
            metricRecords: metricValue(rm, 'aura_restore_records_total', { stage: 'aggregate' }),
            metricSecondsSum: metricValue(rm, 'aura_restore_seconds_sum', { stage: 'aggregate' }),
          };
          restores.push(r);
          console.log(`round ${round} restore       ${r.recordsPerSecond.toFixed(0).padStart(6)} records/s  (${records} changelog records in ${seconds.toFixed(2)} s; metric ${r.metricRecords} records)`);
          if ((await restored.stop()) !== 0) throw new Error(`restore run did not exit 0; see ${restored.logFile}`);
        }
      }
    }
  } finally {
    killAllStages();
    await probe.close();
    if (process.env.BENCH_KEEP !== '1') {
      for (const app of apps) {
        await dropTestResources(kafka, app.env);
        removeDir(app.names.stateDir);
      }
      await dropTestResources(kafka, input.env);
      removeDir(input.stateDir);
    }
  }

  const mean = (g: Guarantee, f: (r: RunResult) => number | null) => {
    const xs = runs.filter((r) => r.guarantee === g).map(f).filter((x): x is number => x !== null);
    return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  };
  const ratio = (f: (r: RunResult) => number | null) => mean('exactly_once', f) / mean('at_least_once', f);
  const ratios = {
    throughput: ratio((r) => r.eventsPerSecond),
    batchLatencyP50: ratio((r) => r.batchLatencyMs.p50),
    batchLatencyP99: ratio((r) => r.batchLatencyMs.p99),
    startup: ratio((r) => r.startupSeconds),
  };
  console.log(
    `exactly_once / at_least_once: throughput ×${ratios.throughput.toFixed(2)}, batch latency p50 ×${ratios.batchLatencyP50.toFixed(2)}, p99 ×${ratios.batchLatencyP99.toFixed(2)}`,
  );

  const file = writeResults('aggregate', new Date(started), {
    bench: 'aggregate',
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    host: hostInfo(loadBefore),
    workload: { events, users, seed, partitions, summary },
    rounds,
    baseline: 'at_least_once',
    runs,
    restores,
    ratios,
  });
  console.log(`wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  killAllStages();
  process.exitCode = 1;
});
