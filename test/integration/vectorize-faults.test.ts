import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { STORE_TIMEOUT_MS } from '../support/compiled-options.js';
import { produceWorkload } from '../../src/workload/index.js';
import type { SnapshotRecord } from '../support/snapshots.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import {
  OffsetProbe,
  createStageTopics,
  dropTestResources,
  killAllStages,
  removeDir,
  requireStack,
  runStage,
  sleep,
  testKafka,
  testSerde,
  uniqueNames,
  waitFor,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import {
  MODEL_PATH,
  assertDoubleClean,
  assertPointsEqualOracle,
  assertUnitVectors,
  committedOffsets,
  endsOf,
  pointsOracle,
  readSnapshots,
  requireModel,
  upsertsOf,
  vectorizeGroupOf,
  waitCommittedThrough,
} from '../support/vectorize-env.js';

/**
 * Chaos for the vectorize stage on the real stack with the real model (docs/ARCHITECTURE.md §4). The
 * aggregate stage runs first to completion, so the aggregated topic is fixed; then `run vectorize`
 * (a child process, Qdrant's engine as the store) is either SIGKILLed with upserts written but not
 * committed and restarted, or has its store go away for a while. Either way it must end with the
 * oracle's points: nothing missing, nothing extra (re-delivered ContextVectorized are allowed:
 * at-least-once).
 */

const DAY = 86_400_000;

interface Prepared {
  names: TestNames;
  env: Record<string, string>;
  snapshots: SnapshotRecord[];
  collection: string;
}

describe('vectorize faults: kill -9 between upsert and commit, the store unavailable for a while', { timeout: 400_000 }, () => {
  let kafka: Kafka;
  const doubles: QdrantEngine[] = [];
  const children: StageProcess[] = [];
  const toDrop: TestNames[] = [];

  before(async () => {
    await requireStack();
    requireModel();
    kafka = testKafka('vectorize-faults');
  });

  after(async () => {
    killAllStages();
    await Promise.all(children.map((c) => c.exited));
    for (const d of doubles) await d.close();
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    for (const names of toDrop) {
      await dropTestResources(kafka, names);
      await admin.deleteGroups([vectorizeGroupOf(names)]).catch(() => undefined);
      removeDir(names.stateDir);
    }
    await admin.disconnect().catch(() => undefined);
  });

  /** Fresh topics, a seeded workload aggregated to completion by `run aggregate`, and the snapshots it wrote. */
  async function prepare(label: string, double: QdrantEngine): Promise<Prepared> {
    const names = uniqueNames(label, { partitions: 3 });
    toDrop.push(names);
    const collection = `c_${label.replace(/[^a-z0-9]/gi, '_')}`;
    const env = {
      ...names.env,
      EMBEDDING_MODEL_PATH: MODEL_PATH,
      QDRANT_URL: double.url,
      VECTOR_COLLECTION: collection,
      // Small batches: many upsert/commit rounds to land a fault in.
      BATCH_MAX_SIZE: '16',
      BATCH_MAX_WAIT_MS: '100',
      RETRY_INITIAL_MS: '200',
      RETRY_MAX_MS: '1000',
      STORE_TIMEOUT_MS: '2000',
    };
    await createStageTopics(kafka, env);
    const serde = testSerde();
    const sent = await produceWorkload(kafka, serde, { topic: names.inputTopic, seed: label, users: 10, events: 500, rate: 0, startMs: Date.now() - 10 * DAY, windowDays: 7, maxEvents: 512 });
    const aggregate = await runStage(env, 'aggregate', { label: `${label}-aggregate` });
    children.push(aggregate);
    const probe = new OffsetProbe(kafka);
    try {
      await probe.waitCaughtUp(names, 90_000);
    } finally {
      await probe.close();
    }
    assert.equal(await aggregate.stop(), 0, 'aggregate stopped cleanly');
    const snapshots = await readSnapshots(kafka, serde, names.aggregatedTopic);
    assert.equal(snapshots.length, sent.valid, 'one snapshot per valid event');
    return { names, env, snapshots, collection };
  }

  async function storedPoints(double: QdrantEngine, collection: string) {
    const sink = new QdrantSink({ url: double.url, collection, timeoutMs: STORE_TIMEOUT_MS });
    return sink.scroll();
  }

  test('kill -9 of vectorize with upserts written but not committed, then a restart: the same point set as the oracle, nothing missing', { timeout: 180_000 }, async (t) => {
    const double = await startQdrantEngine();
    doubles.push(double);
    const { names, env, snapshots, collection } = await prepare('vec-kill', double);
    const group = vectorizeGroupOf(names);
    const ends = endsOf(snapshots);
    const total = [...ends.values()].reduce((a, b) => a + b, 0n);
    // Slow upserts: most of the time an upsert is in flight, i.e. applied or about to be, not committed.
    double.setDelayMs(250);

    const first = await runStage(env, 'vectorize', { label: 'vec-kill-1' });
    children.push(first);
    // (the validating front names a request's operation only once its delay is over: an in-flight upsert is matched by method and path)
    await waitFor('a few upserts and an upsert in flight', () => upsertsOf(double) >= 3 && double.requests.some((r) => r.method === 'PUT' && r.path.endsWith('/points') && r.status === undefined), {
      timeoutMs: 60_000,
      intervalMs: 20,
    }).catch((err: unknown) => {
      const ops = double.requests.map((r) => `${r.method} ${r.path} ${r.operationId ?? '-'} ${r.status ?? 'in flight'}`);
      throw new Error(`${(err as Error).message}; requests to Qdrant: ${ops.slice(-8).join(', ')} (${ops.length}); stage log ${first.logFile}`);
    });
    first.kill('SIGKILL');
    const exit = await first.exited;
    assert.equal(exit.signal, 'SIGKILL', 'the stage was killed');
    await sleep(500); // the in-flight upsert reaches the engine after its delay, as a store would apply it
    const committedAt = await committedOffsets(kafka, group, names.aggregatedTopic);
    const committedAtKill = [...committedAt.values()].reduce((a, b) => a + (b > 0n ? b : 0n), 0n);
    const atKill = await storedPoints(double, collection);
    t.diagnostic(`killed with ${committedAtKill}/${total} snapshots committed, ${atKill.length} points stored`);
    assert.ok(committedAtKill < total, 'killed before everything was committed');
    const uncommitted = atKill.filter((p) => BigInt(p.payload.snapshot_offset) >= (committedAt.get(p.payload.snapshot_partition) ?? 0n));
    assert.ok(uncommitted.length > 0, 'the kill landed between upsert and commit: some stored points come from snapshots not committed');

    double.setDelayMs(0);
    const second = await runStage(env, 'vectorize', { label: 'vec-kill-2' });
    children.push(second);
    // The killed member holds its partitions until its session times out (30 s).
    await waitCommittedThrough(kafka, group, names.aggregatedTopic, ends, 120_000);
    assert.equal(await second.stop(), 0, 'the restarted stage stopped cleanly');

    const points = await storedPoints(double, collection);
    const oracle = pointsOracle(snapshots);
    assertPointsEqualOracle(points, oracle, 'after kill -9 and restart');
    assertUnitVectors(points, 'after kill -9 and restart');
    assertDoubleClean(double, 'kill -9');
    const outputs = await readSnapshotsCount(names.vectorizedTopic);
    assert.ok(outputs >= oracle.size, `ContextVectorized for every point at least once (${outputs} records, ${oracle.size} points)`);
  });

  test('the store unavailable for a while: retries, no commit while it is down, no loss, recovery', { timeout: 180_000 }, async (t) => {
    const double = await startQdrantEngine();
    doubles.push(double);
    const { names, env, snapshots, collection } = await prepare('vec-down', double);
    const group = vectorizeGroupOf(names);
    const ends = endsOf(snapshots);
    const total = [...ends.values()].reduce((a, b) => a + b, 0n);
    double.setDelayMs(150);

    const child = await runStage(env, 'vectorize', { label: 'vec-down' });
    children.push(child);
    await waitFor('the first upsert', () => upsertsOf(double) >= 1, { timeoutMs: 60_000, intervalMs: 10 });
    double.setUnavailable(true);
    const downAt = Date.now();
    // A commit already on its way when the store went down may still land: take the baseline after it.
    await sleep(1500);
    const baseline = await committedOffsets(kafka, group, names.aggregatedTopic);
    const baselineSum = [...baseline.values()].reduce((a, b) => a + (b > 0n ? b : 0n), 0n);
    assert.ok(baselineSum < total, `the store went down before everything was committed (${baselineSum}/${total})`);
    const upsertsWhenDown = upsertsOf(double);
    while (Date.now() - downAt < 8000) {
      await sleep(1000);
      const now = await committedOffsets(kafka, group, names.aggregatedTopic);
      assert.deepEqual(now, baseline, `no commit while the store is down (${Math.round((Date.now() - downAt) / 1000)} s)`);
    }
    const retries = await child.metric('aura_retries_total', { stage: 'vectorize' });
    t.diagnostic(`${retries} retries while down; ${baselineSum}/${total} committed`);
    assert.ok(retries >= 3, `the stage retried while the store was down (aura_retries_total{stage="vectorize"} = ${retries})`);
    assert.equal(upsertsOf(double), upsertsWhenDown, 'no upsert was accepted while down');
    assert.equal(child.child.exitCode, null, 'the stage kept running through the outage');
    const warned = child.logLines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('transient fault in upsert'));
    assert.ok(warned.length > 0, 'the retries were logged');

    double.setUnavailable(false);
    double.setDelayMs(0);
    await waitCommittedThrough(kafka, group, names.aggregatedTopic, ends, 90_000);
    assert.equal(await child.stop(), 0, 'the stage stopped cleanly after recovery');
    const points = await storedPoints(double, collection);
    assertPointsEqualOracle(points, pointsOracle(snapshots), 'after the outage');
    assertUnitVectors(points, 'after the outage');
    // Requests cut by the outage have no status: only the answered ones must be valid.
    double.requests.splice(0, double.requests.length, ...double.requests.filter((r) => r.status !== undefined));
    assertDoubleClean(double, 'outage');
  });

  async function readSnapshotsCount(topic: string): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    } finally {
      await admin.disconnect();
    }
  }
});
