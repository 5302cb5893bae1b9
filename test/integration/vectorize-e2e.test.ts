import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { LanceDbSink } from '../../src/adapters/lancedb-sink.js';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { STORE_TIMEOUT_MS } from '../support/compiled-options.js';
import { createTransformersEmbedder, type TransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { produceWorkload } from '../../src/workload/index.js';
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
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import {
  MODEL_PATH,
  assertDoubleClean,
  assertPointsEqualOracle,
  assertUnitVectors,
  endsOf,
  maxAbsDiff,
  pointsOracle,
  readSnapshots,
  requireModel,
  vectorizeGroupOf,
  waitCommittedThrough,
  type StoredPoint,
} from '../support/vectorize-env.js';

/**
 * End to end on the real stack with the real model (docs/ARCHITECTURE.md §4): a seeded workload is produced
 * to a fresh input topic, `aura-stream run all` (a child process) aggregates and vectorizes it, and
 * the vector store must then hold exactly the oracle's points: one per (user, UTC day), carrying
 * the last snapshot of that day as read (read_committed) from the aggregated topic.
 * Once with Qdrant (its engine behind the OpenAPI-validating front), once with the embedded LanceDB.
 */

const DAY = 86_400_000;
/** One start for both runs, so the two stores get the same snapshots and texts. */
const START_MS = Date.now() - 10 * DAY;
const WORKLOAD = { seed: 'vectorize-e2e', users: 8, events: 400 };

interface Run {
  names: TestNames;
  points: StoredPoint[];
  oracle: ReturnType<typeof pointsOracle>;
}

describe('vectorize end to end: produced events → points equal to the oracle (real Kafka, registry and model)', { timeout: 400_000 }, () => {
  let kafka: Kafka;
  let double: QdrantEngine;
  let embedder: TransformersEmbedder;
  const children: StageProcess[] = [];
  const toDrop: TestNames[] = [];
  const runs: Partial<Record<'qdrant' | 'lancedb', Run>> = {};

  before(async () => {
    await requireStack();
    requireModel();
    kafka = testKafka('vectorize-e2e');
    double = await startQdrantEngine();
    embedder = await createTransformersEmbedder({ modelPath: MODEL_PATH, threads: 1 });
  });

  after(async () => {
    killAllStages();
    await Promise.all(children.map((c) => c.exited));
    await double?.close();
    await embedder?.close();
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    for (const names of toDrop) {
      await dropTestResources(kafka, names);
      await admin.deleteGroups([vectorizeGroupOf(names)]).catch(() => undefined);
      removeDir(names.stateDir);
    }
    await admin.disconnect().catch(() => undefined);
  });

  /** Produces the workload, runs `run all` until the vectorize group committed every snapshot, stops it, returns the store's points and the oracle. */
  async function runAll(label: string, store: 'qdrant' | 'lancedb'): Promise<Run> {
    const names = uniqueNames(label, { partitions: 3 });
    toDrop.push(names);
    const collection = `c_${label.replace(/[^a-z0-9]/gi, '_')}_${Date.now().toString(36)}`;
    const env = { ...names.env, EMBEDDING_MODEL_PATH: MODEL_PATH, VECTOR_COLLECTION: collection, LOG_LEVEL: 'info', ...(store === 'qdrant' ? { QDRANT_URL: double.url } : { QDRANT_URL: '' }) };
    await createStageTopics(kafka, env);
    const serde = testSerde();
    const sent = await produceWorkload(kafka, serde, { topic: names.inputTopic, ...WORKLOAD, rate: 0, startMs: START_MS, windowDays: 7, maxEvents: 512 });
    assert.equal(sent.total, WORKLOAD.events, 'the whole workload was sent');

    const child = await runStage(env, 'all', { label });
    children.push(child);
    const probe = new OffsetProbe(kafka);
    try {
      await probe.waitCaughtUp(names, 120_000);
    } finally {
      await probe.close();
    }
    // The aggregate group committed every input record, so its transactions are closed: the
    // aggregated topic read now is complete.
    // Commit markers reach the data partitions a moment after the offsets commit: re-read (bounded)
    // until the committed snapshots are all visible, then require exactly one per valid event.
    let snapshots = await readSnapshots(kafka, serde, names.aggregatedTopic);
    for (const deadline = Date.now() + 30_000; snapshots.length < sent.valid && Date.now() < deadline; ) {
      await sleep(1000);
      snapshots = await readSnapshots(kafka, serde, names.aggregatedTopic);
    }
    assert.equal(snapshots.length, sent.valid, 'one snapshot per valid event sent');
    await waitCommittedThrough(kafka, vectorizeGroupOf(names), names.aggregatedTopic, endsOf(snapshots), 150_000, async () => {
      if (child.child.exitCode !== null) throw new Error(`run all exited early (${child.child.exitCode}); log in ${child.logFile}`);
    });
    const retries = await child.metric('aura_retries_total', { stage: 'vectorize' });
    assert.equal(await child.stop(), 0, `run all stopped cleanly (log ${child.logFile})`);

    const sink = store === 'qdrant' ? new QdrantSink({ url: double.url, collection, timeoutMs: STORE_TIMEOUT_MS }) : new LanceDbSink({ dir: join(names.stateDir, 'lancedb'), collection });
    const points = await sink.scroll();
    await sink.close();
    const oracle = pointsOracle(snapshots);
    assert.ok(oracle.size > WORKLOAD.users, `the workload spans several days per user (${oracle.size} points)`);
    assert.equal(retries, 0, 'no transient fault on a healthy stack');
    return { names, points, oracle };
  }

  function assertVectorsAreTheModels(run: Run, where: string, tolerance: number): Promise<void> {
    // A sample of texts re-embedded here: an equal text gets an identical vector (per-text forward pass).
    const sample = run.points.filter((_, i) => i % Math.ceil(run.points.length / 12) === 0);
    return embedder.embed(sample.map((p) => p.payload.text)).then((vectors) => {
      sample.forEach((p, i) => {
        const d = maxAbsDiff(p.vector!, vectors[i]!);
        assert.ok(d <= tolerance, `${where}: point ${p.id}'s vector equals the model's vector of its text (max |Δ| ${d})`);
      });
    });
  }

  test('with Qdrant (its engine, every request validated): the points equal the oracle, unit-norm 384-d vectors, every request valid', { timeout: 180_000 }, async () => {
    const run = await runAll('vec-e2e-qdrant', 'qdrant');
    runs.qdrant = run;
    assertPointsEqualOracle(run.points, run.oracle, 'Qdrant');
    assertUnitVectors(run.points, 'Qdrant');
    for (const p of run.points) assert.equal(p.payload.model_id, embedder.modelId, `point ${p.id} names the model`);
    // Qdrant stores Cosine vectors re-normalised and float32-rounded: equal up to rounding.
    await assertVectorsAreTheModels(run, 'Qdrant', 1e-6);
    assertDoubleClean(double, 'Qdrant');
    const upserts = double.requests.filter((r) => r.operationId === 'upsert_points');
    assert.ok(upserts.length > 0 && upserts.every((r) => r.query['wait'] === 'true'), 'every upsert waited for the write (wait=true)');
  });

  test('with LanceDB (QDRANT_URL unset): the points equal the oracle, unit-norm 384-d vectors', { timeout: 180_000 }, async () => {
    const run = await runAll('vec-e2e-lance', 'lancedb');
    runs.lancedb = run;
    assertPointsEqualOracle(run.points, run.oracle, 'LanceDB');
    assertUnitVectors(run.points, 'LanceDB');
    await assertVectorsAreTheModels(run, 'LanceDB', 0);
  });

  test('an equal text gets an identical vector in both stores', (t) => {
    if (!runs.qdrant || !runs.lancedb) {
      assert.fail('both end-to-end runs must have succeeded first');
    }
    const lanceByText = new Map(runs.lancedb.points.map((p) => [p.payload.text, p.vector!]));
    let compared = 0;
    for (const p of runs.qdrant.points) {
      const other = lanceByText.get(p.payload.text);
      if (!other) continue;
      compared += 1;
      const d = maxAbsDiff(p.vector!, other);
      assert.ok(d <= 1e-6, `text of point ${p.id}: Qdrant and LanceDB vectors equal (max |Δ| ${d})`);
    }
    t.diagnostic(`${compared} texts compared across stores`);
    assert.ok(compared >= runs.qdrant.points.length / 2, `most texts appear in both runs (${compared} of ${runs.qdrant.points.length}): same seed and start`);
  });
});
