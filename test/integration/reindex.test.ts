import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { AvroSerde } from '../../src/adapters/avro-serde.js';
import { createTransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { ERASURE_COMPLETED_FULL_NAME } from '../../src/contracts/erasure.js';
import { versionCollection } from '../../src/contracts/index-version.js';
import { createVectorStore, indexVersionOf, resolveAliasTarget, type VectorStore } from '../../src/cli/index-versions.js';
import { checkpointPath, type ReindexCheckpoint } from '../../src/cli/reindex.js';
import { startServe } from '../../src/cli/serve.js';
import { createLogger } from '../../src/logger.js';
import { renderInputOf, rerenderText, snapshotFacts } from '../../src/pipeline/index.js';
import type { Embedder, SourceRecord } from '../../src/ports.js';
import { produceWorkload } from '../../src/workload/index.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import {
  ROOT,
  configOf,
  createStageTopics,
  dropTestResources,
  killAllStages,
  readTopic,
  removeDir,
  requireStack,
  runCli,
  runStage,
  sleep,
  testKafka,
  testSerde,
  uniqueNames,
  waitCaughtUp,
  waitFor,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import { MODEL_PATH, assertDoubleClean, committedOffsets, pointsOracle, readSnapshots, requireModel } from '../support/vectorize-env.js';

/**
 * Changing the model of a live index (docs/reindex.md) on the real stack, on both stores at once
 * (LanceDB, and Qdrant's engine behind the OpenAPI-validating front): one aggregate and two vectorize
 * processes on MiniLM build the first version; while a second workload keeps flowing, `aura-stream
 * reindex` builds the bge-small version, is killed by SIGKILL after its first checkpoint and
 * restarted (it resumes after the checkpoint), a user is erased with `erase --wait` in the middle,
 * and `index promote` swaps the alias while searches run without pause. At the end the new version
 * holds exactly one point per (user, day) with the latest snapshot, re-rendered and embedded by the
 * new model, the erased user is in neither version, and every search answered from exactly one
 * version.
 */

const DAY = 86_400_000;
const NEW_MODEL_PATH = join(dirname(MODEL_PATH), 'bge-small-en-v1.5-q');
const STORES = ['lancedb', 'qdrant'] as const;
type Store = (typeof STORES)[number];
/** Only in the first workload (the second one has users 1..4): erased in the middle of the reindex. */
const ERASED = 'user-0007';
const SERVE_TOKEN = 'reindex-serve-token-0123456789';

describe('reindex from MiniLM to bge-small while events flow, with an erase, a kill -9 and a promote under searches (real Kafka, registry and models)', { timeout: 600_000 }, () => {
  let kafka: Kafka;
  let serde: AvroSerde;
  let double: QdrantEngine;
  let names: TestNames;
  let collection: string;
  const env = {} as Record<Store | 'aggregate', Record<string, string>>;
  const stages: StageProcess[] = [];
  const newEnv = (store: Store) => ({ ...env[store], EMBEDDING_MODEL_PATH: NEW_MODEL_PATH });

  before(async () => {
    await requireStack();
    requireModel();
    assert.ok(existsSync(join(NEW_MODEL_PATH, 'onnx', 'model_quantized.onnx')), `the new model is laid out in ${NEW_MODEL_PATH} (aura-stream stack up)`);
    kafka = testKafka('reindex');
    serde = testSerde();
    double = await startQdrantEngine();
    names = uniqueNames('reindex', { partitions: 3 });
    collection = `c_reindex_${Date.now().toString(36)}`;
    const common = { ...names.env, EMBEDDING_MODEL_PATH: MODEL_PATH, VECTOR_COLLECTION: collection, KAFKA_SESSION_TIMEOUT_MS: '6000', BATCH_MAX_WAIT_MS: '50' };
    for (const which of ['aggregate', ...STORES]) mkdirSync(join(names.stateDir, which), { recursive: true });
    env.aggregate = { ...common, STATE_DIR: join(names.stateDir, 'aggregate') };
    env.lancedb = { ...common, STATE_DIR: join(names.stateDir, 'lancedb'), QDRANT_URL: '', VECTORIZE_GROUP_ID: `${names.applicationId}-vectorize-lancedb` };
    env.qdrant = { ...common, STATE_DIR: join(names.stateDir, 'qdrant'), QDRANT_URL: double.url, VECTORIZE_GROUP_ID: `${names.applicationId}-vectorize-qdrant` };
    await createStageTopics(kafka, common);
  });

  after(async () => {
    killAllStages();
    for (const f of followers) if (f.exitCode === null && f.signalCode === null) f.kill('SIGKILL');
    await Promise.all(stages.map((s) => s.exited));
    await double?.close();
    if (!names) return;
    await dropTestResources(kafka, names);
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    const groups = STORES.flatMap((s) => [env[s].VECTORIZE_GROUP_ID!, `${env[s].VECTORIZE_GROUP_ID!}.reindex.${nextCollection()}`]);
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    removeDir(names.stateDir);
  });

  let embedders: { old: Embedder; next: Embedder } | undefined;
  const nextCollection = () => (embedders ? versionCollection(collection, indexVersionOf(embedders.next)) : '');
  const store = (s: Store): VectorStore => createVectorStore(configOf(env[s]));

  /** Every vectorize group has committed every record now on the aggregated topic. */
  async function waitVectorized(): Promise<void> {
    await waitCaughtUp(kafka, names, 90_000);
    const ends = new Map<number, bigint>();
    for (const r of await readTopic(kafka, names.aggregatedTopic, { readCommitted: true })) if (BigInt(r.offset) + 1n > (ends.get(r.partition) ?? 0n)) ends.set(r.partition, BigInt(r.offset) + 1n);
    for (const s of STORES) {
      await waitFor(`the ${s} vectorize group to commit everything`, async () => {
        const c = await committedOffsets(kafka, env[s].VECTORIZE_GROUP_ID!, names.aggregatedTopic);
        return [...ends].every(([p, end]) => (c.get(p) ?? -1n) >= end);
      }, { timeoutMs: 120_000, intervalMs: 500 });
    }
  }

  async function userPoints(s: Store, physical: string, user: string): Promise<number> {
    const sink = store(s).open(physical);
    try {
      return (await sink.scroll({ userId: user })).length;
    } finally {
      await sink.close();
    }
  }

  /** `aura-stream reindex` without --until-caught-up: it keeps the new version fresh until SIGTERM. */
  function followReindex(childEnv: Record<string, string>, label: string): { child: ReturnType<typeof spawn>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; logFile: string } {
    const logFile = join(names.stateDir, `reindex-follow-${label}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'aura-stream.js'), 'reindex'], { cwd: ROOT, env: { ...process.env, ...childEnv, METRICS_PORT: '0', AURA_FROM_SOURCE: '1' }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
    followers.push(child);
    return { child, exited, logFile };
  }
  const followers: Array<ReturnType<typeof spawn>> = [];

  test('the first version is built by the MiniLM vectorize stages, behind the alias', async () => {
    const sent = await produceWorkload(kafka, serde, { topic: names.inputTopic, seed: 'reindex-1', users: 8, events: 160, rate: 0, startMs: Date.now() - 10 * DAY, windowDays: 7, maxEvents: 512, lateFraction: 0, duplicateFraction: 0, poisonFraction: 0 });
    assert.equal(sent.total, 160);
    const started = await Promise.all([runStage(env.aggregate, 'aggregate', { label: 'aggregate' }), ...STORES.map((s) => runStage(env[s], 'vectorize', { label: `vectorize-${s}`, readyTimeoutMs: 120_000 }))]);
    stages.push(...started);
    await waitVectorized();
    const [old, next] = await Promise.all([MODEL_PATH, NEW_MODEL_PATH].map((modelPath) => createTransformersEmbedder({ modelPath, threads: 1 })));
    embedders = { old: old!, next: next! };
    for (const s of STORES) {
      const target = await resolveAliasTarget(store(s));
      assert.ok(target && !target.legacy, `${s}: the alias exists`);
      assert.equal(target.version?.model_id, embedders.old.modelId, `${s}: the alias names the MiniLM version`);
      assert.ok((await userPoints(s, target.collection, ERASED)) > 0, `${s}: ${ERASED} has points before the reindex`);
    }
  });

  test('reindex survives kill -9 after its first checkpoint, continues after it while events flow, and an erase in the middle reaches both versions', async () => {
    assert.ok(embedders, 'the first test ran');
    const flowing = produceWorkload(kafka, serde, { topic: names.inputTopic, seed: 'reindex-2', users: 4, events: 120, rate: 20, startMs: Date.now() - 10 * DAY, windowDays: 7, maxEvents: 512, lateFraction: 0, duplicateFraction: 0, poisonFraction: 0 });
    // 1. Killed by SIGKILL right after the first chunk's checkpoint (4 points copied).
    for (const s of STORES) {
      const killed = await runCli(['reindex', '--chunk', '4'], { ...newEnv(s), AURA_FAILPOINT: 'reindex.checkpoint:after', LOG_LEVEL: 'info' }, 120_000);
      assert.equal(killed.code, null, `${s}: the reindex died by a signal (stderr: ${killed.stderr.slice(-600)})`);
      assert.match(killed.stdout + killed.stderr, /failpoint reindex\.checkpoint:after: killing this process/, `${s}: the failpoint fired`);
      const cp = JSON.parse(readFileSync(checkpointPath(configOf(newEnv(s)), nextCollection()), 'utf8')) as ReindexCheckpoint;
      assert.equal(cp.copyDone, false, `${s}: the copy is unfinished`);
      assert.ok(cp.copied === 4 && cp.copiedThrough !== null, `${s}: the kill came right after the first chunk's checkpoint (copied ${cp.copied})`);
    }
    // 2. Restarted until caught up, with an erase while it runs.
    // --max-lag 0: the aggregated topic is written in transactions (exactly_once), so its end lies past the
    // last record by commit markers; the reindex must count the position it reached, not end − committed.
    const restarted = STORES.map((s) => runCli(['reindex', '--chunk', '4', '--until-caught-up', '--max-lag', '0'], { ...newEnv(s), LOG_LEVEL: 'info' }, 180_000));
    await sleep(1500);
    const erase = await runCli(['erase', '--user', ERASED, '--reason', 'TEST-REINDEX', '--wait', '--timeout-ms', '120000'], env.aggregate, 150_000);
    assert.equal(erase.code, 0, `erase --wait exits 0 (${erase.stdout} ${erase.stderr})`);
    const erasureId = /^erasure ([0-9a-f-]{36})/m.exec(erase.stdout)?.[1];
    assert.ok(erasureId, `erase prints the erasure id (${erase.stdout})`);
    await waitFor(`an ErasureCompleted of ${erasureId} from both stores`, async () => {
      const stores = new Set<string>();
      for (const r of await readTopic(kafka, names.erasedTopic).catch(() => [] as SourceRecord[])) {
        const d = await serde.decode(r.value);
        if (d.fullName === ERASURE_COMPLETED_FULL_NAME && d.value['erasure_id'] === erasureId) stores.add(String(d.value['store']));
      }
      return STORES.every((s) => stores.has(s));
    }, { timeoutMs: 120_000, intervalMs: 500 });
    for (const s of STORES) {
      for (const physical of [(await resolveAliasTarget(store(s)))!.collection, nextCollection()]) {
        assert.equal(await userPoints(s, physical, ERASED), 0, `${s}: once the erasure is confirmed, ${physical} holds no point of ${ERASED}`);
      }
    }
    for (const [i, run] of restarted.entries()) {
      const r = await run;
      assert.equal(r.code, 0, `${STORES[i]}: the restarted reindex exits 0 once caught up (stderr: ${r.stderr.slice(-800)} stdout: ${r.stdout.slice(-800)})`);
      assert.match(r.stdout + r.stderr, /resuming the copy after 4 points/, `${STORES[i]}: it resumed after the checkpoint instead of starting over`);
      assert.match(r.stdout + r.stderr, /caught up/, `${STORES[i]}: it says it caught up`);
    }
    await flowing;
    for (const s of STORES) assert.equal(await userPoints(s, nextCollection(), ERASED), 0, `${s}: the reindex did not write ${ERASED} back`);
  });

  test('promote swaps the alias while searches run, directly and through serve: each answers from exactly one version, none fails or comes back empty, and serve answers from the new model without a restart', async () => {
    assert.ok(embedders, 'the first test ran');
    await waitVectorized();
    // The reindex keeps the new version fresh (no --until-caught-up) until it has every record the live groups have.
    const ends = new Map<number, bigint>();
    for (const r of await readTopic(kafka, names.aggregatedTopic, { readCommitted: true })) if (BigInt(r.offset) + 1n > (ends.get(r.partition) ?? 0n)) ends.set(r.partition, BigInt(r.offset) + 1n);
    const admin = kafka.admin();
    await admin.connect();
    const highs = await admin.fetchTopicOffsets(names.aggregatedTopic);
    await admin.disconnect();
    assert.ok(
      highs.some((h) => BigInt(h.high) > (ends.get(h.partition) ?? 0n)),
      `the aggregate stage wrote the topic in transactions: commit markers lie past the last record (ends ${JSON.stringify(highs)} vs records ${JSON.stringify([...ends].map(([p, e]) => [p, String(e)]))})`,
    );
    const following = STORES.map((s) => followReindex(newEnv(s), s));
    for (const f of following) await waitFor(`the following reindex to be catching up (${f.logFile})`, () => /catching up from the aggregated topic/.test(readFileSync(f.logFile, 'utf8')), { timeoutMs: 60_000, intervalMs: 200 });
    for (const s of STORES) {
      await waitFor(`the ${s} reindex group to commit everything`, async () => {
        const c = await committedOffsets(kafka, `${env[s].VECTORIZE_GROUP_ID!}.reindex.${nextCollection()}`, names.aggregatedTopic);
        return [...ends].every(([p, end]) => (c.get(p) ?? -1n) >= end);
      }, { timeoutMs: 120_000, intervalMs: 500 });
    }
    for (const f of following) assert.equal(f.child.exitCode, null, `the following reindex is still running (${readFileSync(f.logFile, 'utf8').slice(-1500)})`);
    for (const f of following) assert.doesNotMatch(readFileSync(f.logFile, 'utf8'), /copy starts|resuming the copy/, `a finished copy is not redone (${f.logFile})`);
    const question = 'mood getting worse';
    const [oldQuery] = await embedders.old.embed([question]);
    const [newQuery] = await embedders.next.embed([question]);
    for (const s of STORES) {
      const seen = new Map<string, number>();
      let stop = false;
      let failure: unknown;
      const reader = store(s);
      const oldCollection = (await resolveAliasTarget(reader))!.collection;
      // serve as the CLI starts it, on the MiniLM settings of the live stage; the bge model only in EMBEDDING_MODELS_DIR.
      const served = await startServe({
        config: configOf({ ...env[s], EMBEDDING_MODELS_DIR: dirname(MODEL_PATH), SEARCH_TOKENS: `${SERVE_TOKEN}:*`, SERVE_HOST: '127.0.0.1', SERVE_PORT: '0', LOG_LEVEL: 'warn' }),
        logger: createLogger('warn'),
      });
      const servedBy = new Map<string, number>();
      // As written (interpret: false): the test compares serve's ranking with the new model's query vector; an
      // interpreted question would run as filters and an order (docs/search.md "Query interpretation").
      const ask = async () => {
        const res = await fetch(`http://127.0.0.1:${served.port}/v1/search`, { method: 'POST', headers: { authorization: `Bearer ${SERVE_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: question, limit: 20, interpret: false }) });
        return { status: res.status, body: (await res.json()) as { answered_by: Record<string, string>; hits: Array<{ id: string; payload: { model_id: string } }> } & Record<string, unknown> };
      };
      const before = await ask();
      assert.equal(before.status, 200, `${s}: serve answers a text query before the promote (${JSON.stringify(before.body)})`);
      assert.deepEqual([before.body.answered_by['collection'], before.body.answered_by['model_id']], [oldCollection, embedders.old.modelId], `${s}: serve answers from the MiniLM version before the promote`);
      let serveFailure: unknown;
      // Three clients at once, so that several requests arrive while serve loads the new model.
      const serving = Array.from({ length: 3 }, async () => {
        while (!stop) {
          try {
            const r = await ask();
            assert.equal(r.status, 200, `${s}: a serve search during the promote answered 200 (${JSON.stringify(r.body).slice(0, 400)})`);
            assert.ok(r.body.hits.length > 0, `${s}: a serve search during the promote returned results`);
            const models = new Set(r.body.hits.map((h) => h.payload.model_id));
            assert.deepEqual([...models], [r.body.answered_by['model_id']], `${s}: one serve answer, one version (${[...models].join(', ')})`);
            const c = r.body.answered_by['collection']!;
            assert.equal(r.body.answered_by['model_id'], c === nextCollection() ? embedders!.next.modelId : embedders!.old.modelId, `${s}: serve names the model of the collection that answered (${c})`);
            servedBy.set(c, (servedBy.get(c) ?? 0) + 1);
          } catch (err) {
            serveFailure ??= err;
            stop = true;
          }
        }
      });
      const loop = (async () => {
        while (!stop) {
          try {
            const target = (await resolveAliasTarget(reader))!;
            const sink = reader.open(target.collection);
            const query = target.version?.model_id === embedders!.next.modelId ? newQuery! : oldQuery!;
            const hits = await sink.search(query, { limit: 20 });
            await sink.close();
            assert.ok(hits.length > 0, `${s}: a search during the promote returned results`);
            const models = new Set(hits.map((h) => h.payload.model_id));
            assert.deepEqual([...models], [target.version?.model_id], `${s}: one search, one version (${[...models].join(', ')})`);
            seen.set(target.collection, (seen.get(target.collection) ?? 0) + 1);
          } catch (err) {
            failure = err;
            stop = true;
          }
        }
      })();
      await sleep(300);
      // --max-lag 0: caught up means caught up, although commit markers follow the last records.
      const promote = await runCli(['index', 'promote', '--max-lag', '0'], newEnv(s), 150_000);
      assert.equal(promote.code, 0, `${s}: index promote exits 0 (${promote.stdout} ${promote.stderr})`);
      assert.match(promote.stdout, new RegExp(`alias now → ${nextCollection()} \\(.*\\), lag 0;`), `${s}: it names the new target, with lag 0`);
      await waitFor(`${s}: serve to answer from ${nextCollection()}`, () => (servedBy.get(nextCollection()) ?? 0) >= 3 || serveFailure !== undefined, { timeoutMs: 60_000, intervalMs: 100 });
      await sleep(300);
      stop = true;
      await loop;
      await Promise.all(serving);
      try {
        assert.equal(failure, undefined, `${s}: no search failed: ${String(failure)}`);
        assert.equal(seen.size, 2, `${s}: searches answered from the old version, then the new one (${JSON.stringify([...seen])})`);
        assert.equal(serveFailure, undefined, `${s}: no serve search failed or mixed versions: ${String(serveFailure)}`);
        assert.deepEqual([...servedBy.keys()].sort(), [oldCollection, nextCollection()].sort(), `${s}: serve answered from the old version, then the new one, without a restart (${JSON.stringify([...servedBy])})`);
        // The new version's answer is bge-small's ranking of the question as a query (its prefix), not MiniLM's.
        const after = await ask();
        assert.equal(after.status, 200);
        assert.deepEqual(after.body.answered_by, { store: s, alias: collection, collection: nextCollection(), model_id: embedders.next.modelId, model_version: embedders.next.modelVersion, text_version: after.body.answered_by['text_version'] }, `${s}: serve reports the version that answered`);
        const [asQuery] = await embedders.next.embedQueries([question]);
        const sink = reader.open(nextCollection());
        const expected = await sink.search(asQuery!, { limit: 20 });
        await sink.close();
        assert.deepEqual(after.body.hits.map((h) => h.id), expected.map((h) => h.id), `${s}: serve ranks by the new model's query vector`);
        const ready = (await (await fetch(`http://127.0.0.1:${served.port}/readyz`)).json()) as Record<string, unknown>;
        assert.deepEqual([ready['collection'], ready['model_id'], ready['model_loaded'], ready['text_queries']], [nextCollection(), embedders.next.modelId, true, true], `${s}: /readyz names the new version and its loaded model`);
      } finally {
        await served.close();
        await reader.close();
      }
    }
    for (const f of following) {
      f.child.kill('SIGTERM');
      assert.deepEqual(await f.exited, { code: 0, signal: null }, `the following reindex stops cleanly on SIGTERM (${f.logFile}):\n${readFileSync(f.logFile, 'utf8').split('\n').slice(-8).join('\n')}`);
    }
  });

  test('the new version holds every user\'s latest context exactly once, re-rendered and embedded by the new model; the erased user is in neither', async () => {
    assert.ok(embedders, 'the first test ran');
    const snapshots = await readSnapshots(kafka, serde, names.aggregatedTopic);
    const oracle = pointsOracle(snapshots.filter((r) => r.snapshot.user_id !== ERASED));
    for (const s of STORES) {
      const st = store(s);
      const status = await runCli(['index', 'status', '--json'], newEnv(s), 150_000);
      assert.equal(status.code, 0, `${s}: index status exits 0 (${status.stderr})`);
      const parsed = JSON.parse(status.stdout) as { target: string; versions: Array<{ collection: string; points: number; current: boolean; lag: number | null }> };
      assert.equal(parsed.target, nextCollection(), `${s}: status names the new alias target`);
      assert.equal(parsed.versions.length, 2, `${s}: both versions are listed until the old one is dropped`);
      const next = st.open(nextCollection());
      const points = await next.scroll();
      await next.close();
      assert.deepEqual(points.map((p) => p.id).sort(), [...oracle.keys()].sort(), `${s}: exactly the oracle's (user, day) points, each once`);
      for (const p of points) {
        const want = oracle.get(p.id)!;
        assert.equal(p.payload.snapshot_id, want.snapshot.snapshot_id, `${s}: point ${p.id} carries the latest snapshot of its day`);
        assert.equal(p.payload.model_id, embedders.next.modelId, `${s}: point ${p.id} was embedded by the new model`);
        assert.equal(p.payload.text, rerenderText(p.payload), `${s}: point ${p.id}'s text is this renderer's`);
        assert.deepEqual(p.payload.themes, snapshotFacts(renderInputOf(p.payload)).themes, `${s}: point ${p.id}'s themes are this lexicon's, as its text`);
      }
      assert.equal(parsed.versions.find((v) => v.current)?.points, points.length, `${s}: status counts the new version's points`);
      assert.equal(parsed.versions.find((v) => v.current)?.lag, 0, `${s}: status shows the current version's lag as 0 once its group has consumed everything (markers are not lag)`);
      const oldCollection = parsed.versions.find((v) => !v.current)!.collection;
      assert.equal(await userPoints(s, oldCollection, ERASED), 0, `${s}: the erased user is not in the old version`);
      const drop = await runCli(['index', 'drop', oldCollection], newEnv(s), 150_000);
      assert.equal(drop.code, 0, `${s}: index drop exits 0 (${drop.stderr})`);
      const cacheEntries = Number(/(\d+) embedding-cache entries/.exec(drop.stdout)?.[1]);
      assert.ok(cacheEntries > 0, `${s}: index drop removed the old model's embedding-cache entries (${drop.stdout})`);
      assert.deepEqual((await st.collections()).map((c) => c.collection), [nextCollection()], `${s}: only the new version is left`);
      const refused = await runCli(['index', 'drop', nextCollection()], newEnv(s), 150_000);
      assert.equal(refused.code, 2, `${s}: dropping the alias target is refused as a CONFIG error`);
      await st.close();
    }
    assertDoubleClean(double, 'reindex');
    await Promise.all(Object.values(embedders).map((e) => e.close()));
  });
});
