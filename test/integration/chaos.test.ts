import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka, Message } from 'kafkajs';
import { createKafka } from '../../src/adapters/kafka/client.js';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { STORE_TIMEOUT_MS } from '../support/compiled-options.js';
import { createLogger } from '../../src/logger.js';
import { DLQ_HEADERS } from '../../src/pipeline/index.js';
import { generateEvents, recordEncoder, summarize, type GeneratedRecord } from '../../src/workload/index.js';
import { oracleOf } from '../support/oracle-input.js';
import { startOwnBroker, type OwnBroker } from '../support/own-broker.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import { lastSnapshotPerUser } from '../support/snapshots.js';
import {
  OffsetProbe,
  STACK,
  createStageTopics,
  dropTestResources,
  killAllStages,
  readTopic,
  removeDir,
  requireStack,
  runStage,
  sleep,
  stageCodec,
  testSerde,
  uniqueNames,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import { MODEL_PATH, assertDoubleClean, assertPointsEqualOracle, endsOf, pointsOracle, readSnapshots, requireModel, vectorizeGroupOf, waitCommittedThrough } from '../support/vectorize-env.js';

/**
 * Multi-pod chaos (issue 10): 3 `aggregate` and 2 `vectorize` processes (children of the real CLI,
 * each with its own STATE_DIR, as pods) on 6 partitions, under a steady produce, on a broker of
 * this test's own (the shared stack is never restarted). A seeded schedule SIGKILLs and restarts
 * processes, restarts the broker, and scales one aggregate down gracefully; a process that exits
 * on its own is restarted, as an orchestrator would, and reported. End state: the read_committed
 * output holds exactly one snapshot per accepted event, the final snapshots equal the oracle, the
 * vector points equal the point oracle, and the DLQs hold exactly the poison (none on vectorize).
 * Rebalance pauses are measured on the outputs: from each disruption until every partition of the
 * stage's output topic has a record written after it.
 */

const DAY = 86_400_000;
const SEED = 'chaos-10';
/** Upper bound of the workload; the produce runs until the chaos schedule is over, then stops. */
const EVENTS = 1000;
const USERS = 24;
/** Records per second of the steady produce. */
const RATE = 4;
const PARTITIONS = 6;
/** A SIGKILLed member keeps its partitions this long (KAFKA_SESSION_TIMEOUT_MS). */
const SESSION_MS = 10_000;

/** Deterministic choices from a seed (mulberry32). */
function seededRandom(seed: string): () => number {
  let a = [...seed].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pod {
  name: string;
  stage: 'aggregate' | 'vectorize';
  env: Record<string, string>;
  proc?: StageProcess;
  starting?: Promise<void>;
  runs: number;
  /** Exits the harness did not cause (then restarted). */
  unexpectedExits: Array<{ code: number | null; signal: string | null }>;
  retired: boolean;
  expectExit: boolean;
}

interface Action {
  what: string;
  at: number;
  stage?: 'aggregate' | 'vectorize' | 'both';
}

describe('multi-pod chaos: 3 aggregate + 2 vectorize on 6 partitions, kills, a broker restart and a scale-down', { timeout: 900_000 }, () => {
  let broker: OwnBroker;
  let kafka: Kafka;
  let double: QdrantEngine;
  let names: TestNames;
  const pods: Pod[] = [];

  before(async () => {
    await requireStack(); // the registry and the model come from the shared stack; Kafka is our own
    requireModel();
    broker = await startOwnBroker({ extra: { 'group.min.session.timeout.ms': '3000' } });
    kafka = createKafka({ brokers: [broker.internal], clientId: 'chaos-harness', logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'error') });
    double = await startQdrantEngine();
    names = uniqueNames('chaos', { partitions: PARTITIONS });
  });

  after(async () => {
    for (const p of pods) p.retired = true;
    killAllStages();
    await Promise.all(pods.map((p) => p.proc?.exited ?? Promise.resolve()));
    await double?.close();
    if (names) await dropTestResources(kafka, { ...names.env, KAFKA_BROKERS: broker?.internal ?? '' });
    await broker?.close();
    if (names && !process.env.KEEP_TEST_STATE) removeDir(names.stateDir);
  });

  test('end state equals the oracle: one snapshot per accepted event, final snapshots, points, DLQ = poison', async (t) => {
    const began = Date.now();
    const env = {
      ...names.env,
      KAFKA_BROKERS: broker.internal,
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS),
      EMBEDDING_MODEL_PATH: MODEL_PATH,
      QDRANT_URL: double.url,
      VECTOR_COLLECTION: 'chaos',
      SHUTDOWN_TIMEOUT_MS: '30000',
    };
    await createStageTopics(kafka, env);
    const records = [...generateEvents({ seed: SEED, users: USERS, events: EVENTS, startMs: Date.now() - 10 * DAY - 3_600_000 })];
    const random = seededRandom(SEED);
    const actions: Action[] = [];
    const log = (line: string) => t.diagnostic(`+${((Date.now() - began) / 1000).toFixed(1)}s ${line}`);

    // ── pods ──
    /** Starts a pod's next run; a run that dies before it is ready is retried (at most 4 times). */
    const start = (pod: Pod): Promise<void> => {
      pod.expectExit = false;
      pod.starting = (async () => {
        for (let attempt = 1; ; attempt++) {
          pod.runs += 1;
          try {
            const proc = await runStage(pod.env, pod.stage, { label: `${pod.name}-run${pod.runs}`, readyTimeoutMs: 300_000 });
            pod.proc = proc;
            void proc.exited.then((e) => {
              if (pod.retired || pod.expectExit || pod.proc !== proc) return;
              pod.unexpectedExits.push({ code: e.code, signal: e.signal });
              log(`${pod.name} exited on its own (${e.code ?? e.signal}, log ${proc.logFile}); restarting it, as an orchestrator would`);
              void start(pod);
            });
            return;
          } catch (err) {
            pod.unexpectedExits.push({ code: null, signal: `not ready: ${(err as Error).message.split('\n')[0]}` });
            log(`${pod.name} run ${pod.runs} did not get ready (${(err as Error).message.split('\n')[0]})`);
            if (attempt >= 4) throw err;
          }
        }
      })();
      return pod.starting;
    };
    for (const [stage, count] of [['aggregate', 3], ['vectorize', 2]] as const) {
      for (let i = 0; i < count; i++) {
        const name = `${stage}-${i}`;
        const stateDir = join(names.stateDir, name);
        mkdirSync(stateDir, { recursive: true });
        pods.push({ name, stage, env: { ...env, STATE_DIR: stateDir }, runs: 0, unexpectedExits: [], retired: false, expectExit: false });
      }
    }
    await Promise.all(pods.map(start));
    log('all 5 pods ready');

    // ── steady produce (survives the broker restart: a failed send is retried; a duplicate it may
    // cause is just another record of the input log, which the oracle reads as it is) ──
    const encode = await recordEncoder(testSerde(), names.inputTopic);
    let produced = 0;
    let stopProducing = false;
    let produceFailure: Error | undefined;
    const producing = (async () => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      let sent = Date.now();
      const chunk = 3;
      try {
        for (let i = 0; i < records.length && !stopProducing; i += chunk) {
          const messages: Message[] = records.slice(i, i + chunk).map((r: GeneratedRecord) => encode(r));
          for (let attempt = 0; ; attempt++) {
            try {
              await producer.send({ topic: names.inputTopic, acks: -1, messages });
              break;
            } catch (err) {
              if (attempt >= 60) throw err;
              await sleep(1000);
            }
          }
          produced = i + messages.length;
          // paced from the last send, so records held back by the broker restart are not sent in a burst after it
          const wait = sent + (messages.length / RATE) * 1000 - Date.now();
          if (wait > 0) await sleep(wait);
          sent = Date.now();
        }
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    })().catch((err: unknown) => {
      produceFailure = err as Error;
      throw err;
    });
    producing.catch(() => undefined); // awaited below; a failure also ends the schedule

    // ── the seeded chaos schedule ──
    const alive = (stage?: Pod['stage']) => pods.filter((p) => !p.retired && (!stage || p.stage === stage));
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
    const killAndRestart = async (pod: Pod) => {
      await pod.starting;
      pod.expectExit = true;
      actions.push({ what: `SIGKILL ${pod.name}`, at: Date.now(), stage: pod.stage });
      pod.proc!.kill('SIGKILL');
      await pod.proc!.exited;
      log(`SIGKILLed ${pod.name}`);
      await sleep(1000 + random() * 2000);
      // the next disruption waits until this pod is back (joined and restored), so pauses do not overlap
      await start(pod);
      log(`${pod.name} ready again`);
    };
    /** The steady produce runs on between disruptions (and a disruption always happens under input). */
    const between = async () => {
      const until = Date.now() + 8000 + random() * 4000;
      while (Date.now() < until) {
        if (produceFailure) throw produceFailure;
        await sleep(500);
      }
    };
    await between();
    await killAndRestart(pick(alive('aggregate')));
    await between();
    await killAndRestart(pick(alive('vectorize')));
    await between();
    actions.push({ what: 'broker restart', at: Date.now(), stage: 'both' });
    const stopping = Date.now();
    await broker.stop('SIGTERM');
    const stoppedAfter = Date.now() - stopping;
    await sleep(2000);
    const restarting = Date.now();
    await broker.start();
    log(`broker restart: controlled shutdown ${(stoppedAfter / 1000).toFixed(1)} s, start until it answered ${((Date.now() - restarting) / 1000).toFixed(1)} s`);
    await sleep(3000); // let pods that died with the broker be noticed and restarted
    await Promise.all(alive().map((p) => p.starting ?? Promise.resolve()));
    log('every pod ready after the broker restart');
    await between();
    await killAndRestart(pick(alive()));
    await between();
    const leaving = pick(alive('aggregate'));
    await leaving.starting;
    leaving.retired = true;
    actions.push({ what: `graceful scale-down of ${leaving.name}`, at: Date.now(), stage: 'aggregate' });
    const code = await leaving.proc!.stop(60_000);
    log(`${leaving.name} stopped on SIGTERM (exit ${code})`);
    assert.equal(code, 0, `${leaving.name} exits 0 on SIGTERM (log ${leaving.proc!.logFile})`);
    await between();
    stopProducing = true;
    await producing;
    log(`produced ${produced} records`);

    // ── drain: every input record consumed, every snapshot vectorized ──
    await Promise.all(alive().map((p) => p.starting ?? Promise.resolve()));
    const probe = new OffsetProbe(kafka);
    try {
      await probe.waitCaughtUp(names, 300_000);
    } finally {
      await probe.close();
    }
    const serde = testSerde();
    const input = await readTopic(kafka, names.inputTopic);
    const expected = await oracleOf(input, await stageCodec(serde, names));
    let snapshots = await readSnapshots(kafka, serde, names.aggregatedTopic);
    for (const deadline = Date.now() + 30_000; snapshots.length < expected.oracle.accepted && Date.now() < deadline; ) {
      await sleep(1000);
      snapshots = await readSnapshots(kafka, serde, names.aggregatedTopic);
    }
    await waitCommittedThrough(kafka, vectorizeGroupOf(names), names.aggregatedTopic, endsOf(snapshots), 400_000);
    log('both groups caught up');

    // ── rebalance pauses, measured on the outputs ──
    const outputs = {
      aggregate: await readTopic(kafka, names.aggregatedTopic, { readCommitted: true }),
      vectorize: await readTopic(kafka, names.vectorizedTopic),
    };
    const pauses: string[] = [];
    for (const action of actions) {
      for (const stage of action.stage === 'both' ? (['aggregate', 'vectorize'] as const) : [action.stage!]) {
        const resumed = Array.from({ length: PARTITIONS }, (_, p) => {
          const after = outputs[stage].filter((r) => r.partition === p && Number(r.timestamp) > action.at).map((r) => Number(r.timestamp));
          return after.length > 0 ? Math.min(...after) : undefined;
        });
        const flowing = resumed.filter((x): x is number => x !== undefined);
        const pause = (Math.max(...flowing) - action.at) / 1000;
        pauses.push(
          flowing.length === PARTITIONS
            ? `${action.what} → ${stage}: every partition flowing again after ${pause.toFixed(1)} s`
            : `${action.what} → ${stage}: ${flowing.length}/${PARTITIONS} partitions had output after it${flowing.length ? ` (the last after ${pause.toFixed(1)} s)` : ''}; the others got no more input`,
        );
      }
    }
    for (const p of pauses) t.diagnostic(`rebalance pause: ${p}`);
    const joins = pods.map((p) => `${p.name}: ${p.runs} run(s), ${p.unexpectedExits.length} unexpected exit(s)${p.unexpectedExits.length ? ` ${JSON.stringify(p.unexpectedExits)}` : ''}`);
    t.diagnostic(`pods: ${joins.join('; ')}`);

    // ── end state ──
    const summary = summarize(records.slice(0, produced));
    const triggers = snapshots.map((s) => s.snapshot.trigger_event_id);
    t.diagnostic(`input ${input.length} (generated ${records.length}: valid ${summary.valid}), accepted ${expected.oracle.accepted}, poison ${expected.poison.length}, snapshots ${snapshots.length}, total ${((Date.now() - began) / 1000).toFixed(0)} s`);
    assert.ok(input.length >= produced, 'every produced record reached the input topic');
    assert.equal(new Set(triggers).size, triggers.length, 'no accepted event has two committed snapshots');
    assert.equal(snapshots.length, expected.oracle.accepted, 'one committed snapshot per accepted event');
    assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'the snapshots are triggered by exactly the accepted events');
    const last = lastSnapshotPerUser(snapshots);
    assert.equal(last.size, expected.oracle.finalSnapshot.size, 'a final snapshot per user');
    for (const [user, snapshot] of expected.oracle.finalSnapshot) assert.deepEqual(last.get(user), snapshot, `final snapshot of ${user} equals the oracle`);

    const dlq = await readTopic(kafka, names.dlqTopic, { readCommitted: true });
    const dlqPositions = dlq.map((d) => `${d.headers[DLQ_HEADERS.partition]?.toString()}/${d.headers[DLQ_HEADERS.offset]?.toString()}`);
    const poison = new Set(expected.poison.map((p) => `${p.record.partition}/${p.record.offset}`));
    assert.deepEqual(dlqPositions.filter((p) => !poison.has(p)), [], 'nothing in the DLQ that was not poison');
    assert.deepEqual(new Set(dlqPositions), poison, 'every poison record was dead-lettered');
    assert.equal(new Set(dlqPositions).size, dlqPositions.length, 'no poison record dead-lettered twice');
    const vectorizeDlq = await readTopic(kafka, `${names.aggregatedTopic}.dlq`);
    assert.equal(vectorizeDlq.length, 0, 'vectorize dead-lettered nothing (its input holds no poison)');

    const sink = new QdrantSink({ url: double.url, collection: 'chaos', timeoutMs: STORE_TIMEOUT_MS });
    const points = await sink.scroll();
    await sink.close();
    assertPointsEqualOracle(points, pointsOracle(snapshots), 'Qdrant after chaos');
    assertDoubleClean(double, 'Qdrant after chaos');
    assert.equal(STACK.brokers === broker.internal, false, 'the shared broker was never used');

    // Final SIGTERM of the remaining pods: reported, not asserted (clean shutdown has its own tests).
    const exits: string[] = [];
    for (const pod of alive()) {
      await pod.starting;
      pod.retired = true;
      const stopping = Date.now();
      const exit = await pod.proc!.stop(60_000);
      exits.push(`${pod.name} ${exit === null ? 'needed SIGKILL' : `exit ${exit}`} after ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
    }
    t.diagnostic(`final SIGTERM: ${exits.join('; ')}`);
  });
});
