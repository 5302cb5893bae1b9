import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { open } from 'lmdb';
import { topicRecordSubject, type AvroSerde } from '../../src/adapters/avro-serde.js';
import { CONTEXT_AGGREGATED } from '../../src/adapters/codecs.js';
import { LanceDbSink } from '../../src/adapters/lancedb-sink.js';
import { embeddingCacheUserPrefix } from '../../src/adapters/lmdb-embedding-cache.js';
import { CONTEXT_ERASED_FULL_NAME, type ContextErased, type ErasureCompleted } from '../../src/contracts/erasure.js';
import { pointId } from '../../src/contracts/ids.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import { fixtureSnapshot } from '../support/snapshot-fixture.js';
import {
  createStageTopics,
  dropTestResources,
  killAllStages,
  readTopic,
  removeDir,
  requireStack,
  runStage,
  testKafka,
  testSerde,
  uniqueNames,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import { MODEL_PATH, committedOffsets, requireModel, vectorizeGroupOf, waitCommittedThrough } from '../support/vectorize-env.js';

/**
 * Erasure on the real stack with the real model (docs/ARCHITECTURE.md §6), vectorize half:
 * ContextAggregated snapshots and then ContextErased markers are written straight to a fresh
 * aggregated topic (TopicRecordNameStrategy subjects, registered here as the aggregate stage does),
 * and `aura-stream run vectorize` (a child process, embedded LanceDB) must delete the erased points
 * and cache entries, keep everyone else's, and confirm each erasure on ERASED_TOPIC.
 */

const DAY = 86_400_000;
const T = Date.UTC(2026, 0, 10, 18);

describe('vectorize erasure end to end (real Kafka, registry and model; LanceDB)', { timeout: 300_000 }, () => {
  let kafka: Kafka;
  let serde: AvroSerde;
  let names: TestNames;
  let child: StageProcess | undefined;

  before(async () => {
    await requireStack();
    requireModel();
    kafka = testKafka('vectorize-erasure');
    serde = testSerde();
    names = uniqueNames('erasure', { partitions: 2 });
  });

  after(async () => {
    killAllStages();
    await child?.exited;
    await dropTestResources(kafka, names);
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    await admin.deleteGroups([vectorizeGroupOf(names)]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    removeDir(names.stateDir);
  });

  test('a full erasure deletes every point and cache entry of the user, a retention erasure the points before its instant; others stay; each is confirmed', async () => {
    const collection = `c_erasure_${Date.now().toString(36)}`;
    const env = { ...names.env, EMBEDDING_MODEL_PATH: MODEL_PATH, VECTOR_COLLECTION: collection, QDRANT_URL: '', BATCH_MAX_WAIT_MS: '100' };
    await createStageTopics(kafka, env);
    const topic = names.aggregatedTopic;
    const snapshotSubject = topicRecordSubject(topic, CONTEXT_AGGREGATED);
    const erasedSubject = topicRecordSubject(topic, CONTEXT_ERASED_FULL_NAME);
    await serde.register(snapshotSubject, CONTEXT_AGGREGATED);
    await serde.register(erasedSubject, CONTEXT_ERASED_FULL_NAME);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sendSnapshots = (snapshots: ContextAggregated[]) =>
      producer.send({ topic, acks: -1, messages: snapshots.map((s) => ({ key: s.user_id, value: serde.encode(snapshotSubject, CONTEXT_AGGREGATED, s) })) });

    // Three days of three users (the erased one has a quote in its id).
    const erased = "user-o'neil";
    const retained = 'user-retained';
    const kept = 'user-kept';
    const days = [T - 2 * DAY, T - DAY, T];
    const users = [erased, retained, kept];
    const first = users.flatMap((u, i) => days.map((end, d) => fixtureSnapshot(u, end, i * 10 + d)));
    try {
      await sendSnapshots(first);
      child = await runStage(env, 'vectorize', { label: 'erasure' });
      const group = vectorizeGroupOf(names);
      const ends = async () => {
        const records = await readTopic(kafka, topic, { readCommitted: true });
        const out = new Map<number, bigint>();
        for (const r of records) out.set(r.partition, BigInt(r.offset) + 1n);
        return out;
      };
      const alive = async () => {
        if (child!.child.exitCode !== null) throw new Error(`run vectorize exited early (${child!.child.exitCode}); log in ${child!.logFile}`);
      };
      await waitCommittedThrough(kafka, group, topic, await ends(), 120_000, alive);
      const store = new LanceDbSink({ dir: join(names.stateDir, 'lancedb'), collection });
      try {
        assert.equal((await store.scroll()).length, 9, 'three points per user before the erasures');
      } finally {
        await store.close();
      }

      // The markers, in order after the users' snapshots (same key → same partition), then a
      // snapshot of the erased user written after its marker: it must survive.
      const retentionBefore = days[2]!;
      const marker = (user: string, n: number, before: number | null): ContextErased => ({
        erasure_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
        user_id: user,
        cause: before === null ? 'user_deleted' : 'retention',
        requested_at: T + DAY,
        before,
        trace_id: before === null ? 'trace-erase' : null,
        event_partition: 0,
        event_offset: n,
        aggregator_version: '1.0.0',
        requester: before === null ? 'ops@example' : 'system:retention',
        reason: before === null ? 'TICKET-1' : 'retention',
      });
      await producer.send({
        topic,
        acks: -1,
        messages: [
          { key: erased, value: serde.encode(erasedSubject, CONTEXT_ERASED_FULL_NAME, marker(erased, 1, null)), headers: { trace_id: 'trace-erase' } },
          { key: retained, value: serde.encode(erasedSubject, CONTEXT_ERASED_FULL_NAME, marker(retained, 2, retentionBefore)) },
        ],
      });
      const afterwards = fixtureSnapshot(erased, T + DAY, 99);
      await sendSnapshots([afterwards]);
      await waitCommittedThrough(kafka, group, topic, await ends(), 120_000, alive);
      const erasures = await child.metric('aura_erasures_total', { stage: 'vectorize' });
      const erasedPoints = await child.metric('aura_erased_points_total', { store: 'lancedb' });
      assert.equal(await child.stop(), 0, `run vectorize stopped cleanly (log ${child.logFile})`);

      const reader = new LanceDbSink({ dir: join(names.stateDir, 'lancedb'), collection });
      try {
        const points = await reader.scroll();
        const ids = (user: string) => points.filter((p) => p.payload.user_id === user).map((p) => p.id).sort();
        assert.deepEqual(ids(erased), [pointId(erased, afterwards.window_end)], 'of the erased user only the point written after the marker is left');
        assert.deepEqual(ids(retained), [pointId(retained, days[2]!)], 'retention deleted the points ending before its instant and kept the one at it');
        assert.deepEqual(ids(kept), days.map((d) => pointId(kept, d)).sort(), 'the other user keeps every point');
      } finally {
        await reader.close();
      }

      const confirmations: Array<{ key: string; value: ErasureCompleted }> = [];
      for (const r of await readTopic(kafka, names.erasedTopic, { readCommitted: true })) {
        const decoded = await serde.decode(r.value);
        assert.equal(decoded.fullName, 'aura360.context.ErasureCompleted', 'the erased topic carries ErasureCompleted records');
        confirmations.push({ key: r.key!.toString(), value: JSON.parse(JSON.stringify(decoded.value)) as ErasureCompleted });
      }
      confirmations.sort((a, b) => a.value.erasure_id.localeCompare(b.value.erasure_id));
      const committed = await committedOffsets(kafka, group, topic);
      assert.equal(confirmations.length, 2, 'one confirmation per marker');
      const [full, retention] = confirmations.map((c) => c.value) as [ErasureCompleted, ErasureCompleted];
      assert.deepEqual(confirmations.map((c) => c.key), [erased, retained], 'keyed by user');
      assert.deepEqual(
        [full.user_id, full.cause, full.before, full.points_deleted, full.store, full.collection, full.trace_id, full.snapshot_topic],
        [erased, 'user_deleted', null, 3, 'lancedb', collection, 'trace-erase', topic],
        'the full erasure: 3 points deleted, named store and marker',
      );
      assert.equal(full.cache_entries_deleted, 3, 'the three cached texts of the erased user');
      assert.deepEqual([retention.user_id, retention.cause, retention.before, retention.points_deleted], [retained, 'retention', retentionBefore, 2]);
      assert.ok(full.completed_at >= full.requested_at - 2 * DAY && Number.isInteger(full.completed_at), 'completed_at is an epoch-ms instant');
      assert.ok(committed.get(full.snapshot_partition)! > BigInt(full.snapshot_offset), 'the marker is committed');
      assert.equal(erasures, 2, 'aura_erasures_total{stage="vectorize"} counts both');
      assert.equal(erasedPoints, 5, 'aura_erased_points_total counts the points deleted');

      // The embedding cache: the erased user has only the entry of the snapshot after the marker.
      const env_ = open({ path: join(names.stateDir, 'embedding-cache'), maxDbs: 4, readOnly: true });
      try {
        const vectors = env_.openDB<Buffer, Buffer>({ name: 'vectors', encoding: 'binary', keyEncoding: 'binary' });
        const entriesOf = (user: string) => {
          const prefix = embeddingCacheUserPrefix(user);
          return [...vectors.getKeys({ start: prefix })].filter((k) => prefix.compare(k, 0, 32) === 0).length;
        };
        assert.equal(entriesOf(erased), 1, 'the erased user\'s earlier entries are gone (one new entry after the marker)');
        assert.equal(entriesOf(kept), 3, 'the other user keeps its entries');
      } finally {
        await env_.close();
      }
    } finally {
      await producer.disconnect();
    }
  });
});
