import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { AvroSerde } from '../../src/adapters/avro-serde.js';
import { LanceDbSink } from '../../src/adapters/lancedb-sink.js';
import { LmdbWindowStore } from '../../src/adapters/lmdb-window-store.js';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { STORE_TIMEOUT_MS } from '../support/compiled-options.js';
import { CONTEXT_ERASED_FULL_NAME, ERASURE_COMPLETED_FULL_NAME, USER_DELETED_FULL_NAME, type ErasureCompleted } from '../../src/contracts/erasure.js';
import type { SourceRecord } from '../../src/ports.js';
import { produceWorkload } from '../../src/workload/index.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import {
  createStageTopics,
  dropTestResources,
  killAllStages,
  readTopic,
  removeDir,
  requireStack,
  runCli,
  runStage,
  testKafka,
  testSerde,
  uniqueNames,
  waitCaughtUp,
  waitFor,
  within,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import { MODEL_PATH, committedOffsets, requireModel } from '../support/vectorize-env.js';

/**
 * Erasing a user end to end (README "Erasing a user", docs/ARCHITECTURE.md §6), on the real stack
 * with the real model: one `run aggregate` and two `run vectorize` child processes (one on the
 * embedded LanceDB, one on Qdrant's engine behind the validating front, each its own group) over one small
 * workload. `erase --user U --wait` must leave U nowhere: no point in either store (`search`
 * finds nothing), a changelog tombstone as U's last changelog record, no LMDB entry, none after a
 * restore from the changelog alone, and an ErasureCompleted per store naming what was deleted.
 * Then a kill -9 matrix: the stage dies by SIGKILL (AURA_FAILPOINT, src/cli/failpoints.ts) between
 * two steps of another user's erasure, is restarted without the failpoint, and that user still
 * ends fully erased. Other users keep their points throughout.
 */

const DAY = 86_400_000;
const WORKLOAD = { seed: 'erasure-e2e', users: 8, events: 200 };
/** Erased plainly, then one per failpoint; user-0005 and user-0006 are kept. */
const PLAIN = 'user-0001';
const KILLED_AGGREGATE = 'user-0002';
const KILLED_VECTORIZE_DELETE = 'user-0003';
const KILLED_VECTORIZE_SEND = 'user-0004';
const KILLED_AGGREGATE_BEFORE = 'user-0007';
const KILLED_VECTORIZE_BEFORE_DELETE = 'user-0008';
const ERASED = [PLAIN, KILLED_AGGREGATE, KILLED_VECTORIZE_DELETE, KILLED_VECTORIZE_SEND, KILLED_AGGREGATE_BEFORE, KILLED_VECTORIZE_BEFORE_DELETE];
const KEPT = ['user-0005', 'user-0006'];
/** The broker's group.min.session.timeout.ms: a SIGKILLed member leaves its group this soon. */
const SESSION_MS = 6000;
const STORES = ['lancedb', 'qdrant'] as const;
type Store = (typeof STORES)[number];

type Confirmation = ErasureCompleted & { partition: number; offset: string };

describe('erasing a user end to end: both stores, changelog, LMDB, restore, and kill -9 between steps (real Kafka, registry and model)', { timeout: 300_000 }, () => {
  let kafka: Kafka;
  let serde: AvroSerde;
  let double: QdrantEngine;
  let names: TestNames;
  let erasedTopic: string;
  let collection: string;
  const env: Record<Store | 'aggregate', Record<string, string>> = { aggregate: {}, lancedb: {}, qdrant: {} };
  const stages: Partial<Record<Store | 'aggregate', StageProcess>> = {};
  /** Points per store and user counted just before each erasure. */
  const pointsBefore = new Map<string, number>();

  before(async () => {
    await requireStack();
    requireModel();
    kafka = testKafka('erasure-e2e');
    serde = testSerde();
    double = await startQdrantEngine();
    names = uniqueNames('erasure', { partitions: 3 });
    erasedTopic = `${names.applicationId}.erased`;
    collection = `c_erasure_${Date.now().toString(36)}`;
    const common = { ...names.env, ERASED_TOPIC: erasedTopic, EMBEDDING_MODEL_PATH: MODEL_PATH, VECTOR_COLLECTION: collection, KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS), BATCH_MAX_WAIT_MS: '50' };
    for (const which of ['aggregate', ...STORES] as const) mkdirSync(join(names.stateDir, which), { recursive: true });
    env.aggregate = { ...common, STATE_DIR: join(names.stateDir, 'aggregate') };
    env.lancedb = { ...common, STATE_DIR: join(names.stateDir, 'lancedb'), QDRANT_URL: '', VECTORIZE_GROUP_ID: `${names.applicationId}-vectorize-lancedb` };
    env.qdrant = { ...common, STATE_DIR: join(names.stateDir, 'qdrant'), QDRANT_URL: double.url, VECTORIZE_GROUP_ID: `${names.applicationId}-vectorize-qdrant` };
    await createStageTopics(kafka, common);
  });

  after(async () => {
    killAllStages();
    await Promise.all(Object.values(stages).map((s) => s?.exited));
    await double?.close();
    if (!names) return;
    await dropTestResources(kafka, names);
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    if ((await admin.listTopics().catch((): string[] => [])).includes(erasedTopic)) await admin.deleteTopics({ topics: [erasedTopic], timeout: 10_000 }).catch(() => undefined);
    await admin.deleteGroups([env.lancedb.VECTORIZE_GROUP_ID!, env.qdrant.VECTORIZE_GROUP_ID!]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    removeDir(names.stateDir);
  });

  // ── Helpers over the running pipeline ─────────────────────────────────────────────────────────

  async function start(which: Store | 'aggregate', failpoint?: string): Promise<StageProcess> {
    const stage = which === 'aggregate' ? 'aggregate' : 'vectorize';
    const proc = await runStage({ ...env[which], ...(failpoint && { AURA_FAILPOINT: failpoint }) }, stage, { label: `${which}${failpoint ? `-${failpoint.replace(/[^a-z]/gi, '-')}` : ''}-${Date.now().toString(36)}`, readyTimeoutMs: 120_000 });
    stages[which] = proc;
    return proc;
  }

  async function stop(which: Store | 'aggregate'): Promise<void> {
    const proc = stages[which];
    assert.ok(proc, `${which} is running`);
    assert.equal(await proc.stop(), 0, `${which} stops cleanly (log ${proc.logFile})`);
  }

  /** Waits for the SIGKILL the failpoint causes and checks the log names it. */
  async function diesAt(which: Store | 'aggregate', failpoint: string): Promise<void> {
    const proc = stages[which]!;
    const exit = await within(proc.exited, 90_000, 'still running' as const);
    assert.notEqual(exit, 'still running', `${which} reached failpoint ${failpoint} within 90 s (log ${proc.logFile})`);
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL' }, `${which} died by SIGKILL at ${failpoint}`);
    assert.match(readFileSync(proc.logFile, 'utf8'), new RegExp(`failpoint ${failpoint.replace('.', '\\.')}: killing this process`), `${which}'s log names the failpoint`);
  }

  function sink(store: Store): LanceDbSink | QdrantSink {
    return store === 'qdrant' ? new QdrantSink({ url: double.url, collection, timeoutMs: STORE_TIMEOUT_MS }) : new LanceDbSink({ dir: join(env.lancedb.STATE_DIR!, 'lancedb'), collection });
  }

  async function pointsOf(store: Store, user: string): Promise<number> {
    const s = sink(store);
    try {
      return (await s.scroll({ userId: user })).length;
    } finally {
      await s.close();
    }
  }

  /** Both vectorize groups committed every record now on the aggregated topic (snapshots and markers). */
  async function waitVectorized(): Promise<void> {
    await waitCaughtUp(kafka, names, 90_000);
    const records = await waitFor('the aggregated topic to be readable', () => readTopic(kafka, names.aggregatedTopic, { readCommitted: true }).catch((): false => false), { timeoutMs: 30_000 });
    const ends = new Map<number, bigint>();
    for (const r of records) if (BigInt(r.offset) + 1n > (ends.get(r.partition) ?? 0n)) ends.set(r.partition, BigInt(r.offset) + 1n);
    for (const store of STORES) {
      await waitFor(
        `the ${store} vectorize group to commit ${names.aggregatedTopic} through ${JSON.stringify(Object.fromEntries([...ends].map(([p, o]) => [p, String(o)])))}`,
        async () => {
          const committed = await committedOffsets(kafka, env[store].VECTORIZE_GROUP_ID!, names.aggregatedTopic);
          return [...ends].every(([p, end]) => (committed.get(p) ?? -1n) >= end);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    }
  }

  async function confirmationsOf(erasureId: string): Promise<Confirmation[]> {
    const out: Confirmation[] = [];
    // The vectorize stage creates the topic; until then there is nothing to read (and kafkajs would retry for long).
    const admin = kafka.admin();
    await admin.connect();
    const exists = await admin.listTopics().then((t) => t.includes(erasedTopic), () => false).finally(() => admin.disconnect());
    if (!exists) return out;
    for (const r of await readTopic(kafka, erasedTopic).catch(() => [] as SourceRecord[])) {
      const d = await serde.decode(r.value);
      if (d.fullName === ERASURE_COMPLETED_FULL_NAME && d.value['erasure_id'] === erasureId) out.push({ ...(d.value as unknown as ErasureCompleted), partition: r.partition, offset: r.offset });
    }
    return out;
  }

  /** The confirmations of `erasureId` once every store has sent at least one. */
  async function waitConfirmed(erasureId: string): Promise<Confirmation[]> {
    return waitFor(
      `an ErasureCompleted of ${erasureId} from both stores on ${erasedTopic}`,
      async () => {
        const all = await confirmationsOf(erasureId);
        return STORES.every((s) => all.some((c) => c.store === s)) && all;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  }

  /** `erase --user` through the CLI; its erasure id and where the UserDeleted went. */
  async function eraseCli(user: string, wait = false): Promise<{ erasureId: string; partition: number; offset: string; stdout: string }> {
    const run = await runCli(['erase', '--user', user, '--reason', 'TEST-1', ...(wait ? ['--wait', '--timeout-ms', '120000'] : [])], env.aggregate, 150_000);
    assert.equal(run.code, 0, `erase --user ${user} exits 0 (stdout: ${run.stdout} stderr: ${run.stderr})`);
    const m = /^erasure ([0-9a-f-]{36}) of user \S+: UserDeleted at \S+ partition (\d+) offset (\d+)$/m.exec(run.stdout);
    assert.ok(m, `erase prints the request (${run.stdout})`);
    return { erasureId: m[1]!, partition: Number(m[2]), offset: m[3]!, stdout: run.stdout };
  }

  async function countBefore(user: string): Promise<void> {
    for (const store of STORES) {
      const n = await pointsOf(store, user);
      assert.ok(n > 0, `${store} holds points of ${user} before the erasure (${n})`);
      pointsBefore.set(`${store}/${user}`, n);
    }
  }

  async function assertNoPoints(user: string): Promise<void> {
    for (const store of STORES) assert.equal(await pointsOf(store, user), 0, `${store} holds no point of ${user}`);
  }

  async function searchCount(store: Store, user: string): Promise<number> {
    const run = await runCli(['search', 'how is the mood', '--user', user, '--limit', '5'], env[store], 120_000);
    assert.equal(run.code, 0, `search --user ${user} in ${store} exits 0 (stderr: ${run.stderr})`);
    const m = /: (\d+) result\(s\)/.exec(run.stdout);
    assert.ok(m, `search prints how many results (${run.stdout})`);
    assert.match(run.stdout, new RegExp(`^${store} `, 'm'), `search read ${store}`);
    return Number(m[1]);
  }

  // ── The tests, in order over one pipeline ─────────────────────────────────────────────────────

  test('the pipeline runs: every user of the workload has points in both stores', { timeout: 240_000 }, async () => {
    const sent = await produceWorkload(kafka, serde, { topic: names.inputTopic, ...WORKLOAD, rate: 0, startMs: Date.now() - 10 * DAY, windowDays: 7, maxEvents: 512 });
    assert.equal(sent.total, WORKLOAD.events, 'the whole workload was sent');
    await Promise.all([start('aggregate'), start('lancedb'), start('qdrant')]);
    await waitVectorized();
    for (const user of [...ERASED, ...KEPT]) {
      for (const store of STORES) assert.ok((await pointsOf(store, user)) > 0, `${store} holds points of ${user}`);
    }
  });

  test('erase --user U --wait: both stores confirm what they deleted, and search finds nothing of U but still finds the others', { timeout: 240_000 }, async () => {
    await countBefore(PLAIN);
    const beforeMs = Date.now();
    const erased = await eraseCli(PLAIN, true);
    assert.match(erased.stdout, /confirmed by the vectorize stage: store (lancedb|qdrant) \(collection \S+\), \d+ point\(s\) deleted, \d+ embedding-cache entr(y|ies) deleted/, 'erase --wait prints the first confirmation');
    const confirmations = await waitConfirmed(erased.erasureId);

    const input = (await readTopic(kafka, names.inputTopic)).find((r) => r.partition === erased.partition && r.offset === erased.offset);
    assert.ok(input, 'the UserDeleted is where erase said');
    const request = await serde.decode(input.value);
    assert.equal(request.fullName, USER_DELETED_FULL_NAME);
    const aggregated = await readTopic(kafka, names.aggregatedTopic, { readCommitted: true });
    for (const store of STORES) {
      const c = confirmations.find((x) => x.store === store)!;
      assert.deepEqual(
        { user_id: c.user_id, cause: c.cause, before: c.before, collection: c.collection, requested_at: c.requested_at, snapshot_topic: c.snapshot_topic, points_deleted: c.points_deleted },
        { user_id: PLAIN, cause: 'user_deleted', before: null, collection, requested_at: request.value['requested_at'], snapshot_topic: names.aggregatedTopic, points_deleted: pointsBefore.get(`${store}/${PLAIN}`) },
        `${store}'s ErasureCompleted names the user, the cause, the request and every point it had`,
      );
      assert.ok(c.cache_entries_deleted > 0, `${store} deleted the user's embedding-cache entries (${c.cache_entries_deleted})`);
      assert.ok(c.completed_at >= c.requested_at && c.completed_at >= beforeMs, `${store} completed after the request`);
      assert.equal(c.snapshot_partition, erased.partition, 'the marker is in the user\'s partition (same key, same partition count)');
      const marker = aggregated.find((r) => r.partition === c.snapshot_partition && r.offset === String(c.snapshot_offset));
      assert.ok(marker, `${store}'s confirmation points at a committed record of the aggregated topic`);
      const decoded = await serde.decode(marker.value);
      assert.deepEqual([decoded.fullName, decoded.value['erasure_id'], marker.key?.toString('utf8')], [CONTEXT_ERASED_FULL_NAME, erased.erasureId, PLAIN], 'that record is the ContextErased marker of this erasure, keyed by the user');
    }
    await assertNoPoints(PLAIN);
    const [lanceU, qdrantU, lanceKept, qdrantKept] = await Promise.all([searchCount('lancedb', PLAIN), searchCount('qdrant', PLAIN), searchCount('lancedb', KEPT[0]!), searchCount('qdrant', KEPT[0]!)]);
    assert.deepEqual([lanceU, qdrantU], [0, 0], `search --user ${PLAIN} returns nothing in either store`);
    assert.ok(lanceKept > 0 && qdrantKept > 0, `search --user ${KEPT[0]} still returns results (${lanceKept}, ${qdrantKept})`);
  });

  for (const [user, failpoint, what] of [
    [KILLED_AGGREGATE_BEFORE, 'aggregate.write:before', 'before the transaction commits'],
    [KILLED_AGGREGATE, 'aggregate.write:after', 'after the transaction committed, before the LMDB apply'],
  ] as const) {
    test(`kill -9 in aggregate ${what}: after a restart the user is fully erased`, { timeout: 180_000 }, async () => {
      await countBefore(user);
      await waitVectorized();
      await stop('aggregate');
      await start('aggregate', failpoint);
      const erased = await eraseCli(user);
      await diesAt('aggregate', failpoint);
      await start('aggregate');
      const confirmations = await waitConfirmed(erased.erasureId);
      for (const store of STORES) {
        const c = confirmations.find((x) => x.store === store)!;
        assert.equal(c.points_deleted, pointsBefore.get(`${store}/${user}`), `${store} deleted every point of ${user} once`);
      }
      await assertNoPoints(user);
    });
  }

  for (const [user, failpoint, what] of [
    [KILLED_VECTORIZE_BEFORE_DELETE, 'vectorize.delete:before', 'after the cache entries were removed, before the store deleted the points'],
    [KILLED_VECTORIZE_DELETE, 'vectorize.delete:after', 'after the store deleted the points, before the confirmation was sent'],
    [KILLED_VECTORIZE_SEND, 'vectorize.send:after', 'after the confirmation was sent, before the offsets were committed'],
  ] as const) {
    test(`kill -9 in vectorize ${what}: after a restart the user is fully erased in both stores`, { timeout: 180_000 }, async () => {
      await countBefore(user);
      await waitVectorized();
      await Promise.all(STORES.map((s) => stop(s)));
      await Promise.all(STORES.map((s) => start(s, failpoint)));
      const erased = await eraseCli(user);
      await Promise.all(STORES.map((s) => diesAt(s, failpoint)));
      if (failpoint === 'vectorize.delete:before') {
        // Killed before the delete: the points are all still there until the restart replays the marker.
        for (const store of STORES) assert.equal(await pointsOf(store, user), pointsBefore.get(`${store}/${user}`), `${store} still holds every point of ${user} after a kill before the delete`);
      } else {
        // Killed after the delete: nothing of the user may come back before or after the restart.
        await assertNoPoints(user);
      }
      await Promise.all(STORES.map((s) => start(s)));
      await waitConfirmed(erased.erasureId);
      // Committed through the marker: every confirmation of this erasure (a replay's too) is on the topic.
      await waitVectorized();
      const confirmations = await confirmationsOf(erased.erasureId);
      for (const store of STORES) {
        const mine = confirmations.filter((c) => c.store === store);
        assert.ok(mine.every((c) => c.user_id === user && c.cause === 'user_deleted'), `${store}'s confirmations name ${user}`);
        // delete:before: the first try deleted nothing; the replay deletes every point.
        // delete:after: the first try deleted and died unconfirmed; the replay finds nothing left (0).
        // send:after: the first try confirmed every point; the replay confirms again with 0.
        const all = pointsBefore.get(`${store}/${user}`);
        const want = failpoint === 'vectorize.send:after' ? [all, 0] : failpoint === 'vectorize.delete:before' ? [all] : [0];
        assert.deepEqual(mine.map((c) => c.points_deleted), want, `${store}'s confirmations of ${user}, in order, count the points each try deleted`);
      }
      await assertNoPoints(user);
    });
  }

  test('after all of it: the changelog ends in a tombstone per erased user, LMDB has no entry, nor does a restore from the changelog alone; kept users keep theirs', { timeout: 180_000 }, async () => {
    await waitVectorized();
    await Promise.all((['aggregate', ...STORES] as const).map((s) => stop(s)));
    for (const user of KEPT) for (const store of STORES) assert.ok((await pointsOf(store, user)) > 0, `${store} still holds points of kept ${user}`);
    for (const user of ERASED) await assertNoPoints(user);

    const changelog = await readTopic(kafka, names.changelogTopic, { readCommitted: true });
    for (const user of ERASED) {
      const mine = changelog.filter((r) => r.key?.toString('utf8') === user);
      assert.ok(mine.length > 0, `the changelog has records of ${user}`);
      assert.equal(mine.at(-1)!.value, null, `the last changelog record of ${user} is a tombstone`);
    }
    for (const user of KEPT) assert.notEqual(changelog.filter((r) => r.key?.toString('utf8') === user).at(-1)?.value ?? null, null, `kept ${user}'s last changelog record is a window`);

    const lmdbHas = async (dir: string) => {
      const store = new LmdbWindowStore(join(dir, 'aggregate'));
      try {
        return Object.fromEntries([...ERASED, ...KEPT].map((u) => [u, store.get(u) !== undefined]));
      } finally {
        await store.close();
      }
    };
    const expected = Object.fromEntries([...ERASED.map((u) => [u, false]), ...KEPT.map((u) => [u, true])]);
    assert.deepEqual(await lmdbHas(env.aggregate.STATE_DIR!), expected, 'LMDB of the aggregate stage holds no window of an erased user (and still the kept ones)');

    // A new state folder: the stage restores every partition from the changelog alone, then stops.
    const restoreDir = join(names.stateDir, 'restore');
    mkdirSync(restoreDir, { recursive: true });
    const restored = await runStage({ ...env.aggregate, STATE_DIR: restoreDir }, 'aggregate', { label: 'restore', readyTimeoutMs: 120_000 });
    stages.aggregate = restored;
    const restoredLines = restored.logLines().filter((l) => l.msg === 'restored partition from changelog');
    assert.equal(restoredLines.length, 3, 'every partition was restored from the changelog');
    assert.equal(await restored.stop(), 0, 'the restoring stage stops cleanly');
    assert.deepEqual(await lmdbHas(restoreDir), expected, 'a restore from the changelog alone brings no erased window back');
  });
});
