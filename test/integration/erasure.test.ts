import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka, Message } from 'kafkajs';
import { topicRecordSubject, type AvroSerde } from '../../src/adapters/avro-serde.js';
import { decodeWindow } from '../../src/adapters/codecs.js';
import { KafkaChangelogReader } from '../../src/adapters/kafka/changelog-reader.js';
import { compileChangelogReaderOptions } from '../../src/cli/options.js';
import { LmdbWindowStore } from '../../src/adapters/lmdb-window-store.js';
import { USER_DELETED_FULL_NAME, retentionErasureId, type ContextErased, type UserDeleted } from '../../src/contracts/erasure.js';
import { EVENT_FULL_NAMES, type UserRecord } from '../../src/contracts/events.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import { createLogger } from '../../src/logger.js';
import type { SourceRecord } from '../../src/ports.js';
import { PartitionGate } from '../../src/pipeline/state/partition-gate.js';
import { mood, uuid } from '../support/aggregate-fixtures.js';
import { signed } from '../support/erasure-records.js';
import {
  configOf,
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
  waitCaughtUp,
  type TestNames,
} from '../support/stack-env.js';

/**
 * Erasure end to end on the aggregate stage (docs/ARCHITECTURE.md §6): UserDeleted records among
 * user events; the stage (a child process of the CLI) must put a ContextErased marker on the
 * aggregated topic after the user's snapshots, end the user's changelog with a tombstone, hold no
 * LMDB entry for the user, and a store restored from the changelog alone must not bring the window
 * back. Retention: with STATE_RETENTION_DAYS, record timestamps drive the stream time that expires
 * an idle user.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;

type Output = { partition: number; offset: bigint; key: string; fullName: string; value: ContextAggregated | ContextErased };

async function decodeOutput(serde: AvroSerde, records: readonly SourceRecord[]): Promise<Output[]> {
  const out: Output[] = [];
  for (const r of records) {
    const d = await serde.decode(r.value);
    out.push({ partition: r.partition, offset: BigInt(r.offset), key: r.key!.toString(), fullName: d.fullName, value: JSON.parse(JSON.stringify(d.value)) as Output['value'] });
  }
  return out.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset));
}

/** What a user's output records are, in offset order: `s<event_count>` per snapshot, `erased` per marker. */
function shape(out: readonly Output[], user: string): string[] {
  return out.filter((o) => o.key === user).map((o) => (o.fullName.endsWith('ContextErased') ? 'erased' : `s${(o.value as ContextAggregated).event_count}`));
}

/** The last changelog record per key (partition order, offset order: one partition per key). */
function lastPerKey(records: readonly SourceRecord[]): Map<string, SourceRecord> {
  const last = new Map<string, SourceRecord>();
  for (const r of records) last.set(r.key!.toString(), r);
  return last;
}

/** Encodes user records as the producers do (TopicRecordNameStrategy subjects on `topic`). */
async function encoder(serde: AvroSerde, topic: string): Promise<(r: UserRecord, timestamp?: number) => Message> {
  const names = [...Object.values(EVENT_FULL_NAMES), USER_DELETED_FULL_NAME];
  for (const fullName of names) await serde.register(topicRecordSubject(topic, fullName), fullName);
  return (r, timestamp) => {
    const fullName = r.type === 'UserDeleted' ? USER_DELETED_FULL_NAME : EVENT_FULL_NAMES[r.type];
    const { type: _type, ...body } = r;
    return { key: r.user_id, value: serde.encode(topicRecordSubject(topic, fullName), fullName, body), ...(timestamp !== undefined && { timestamp: String(timestamp) }) };
  };
}

async function send(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** A store filled from the changelog alone, through the stage's own restore path (PartitionGate + KafkaChangelogReader). */
async function restoredStore(kafka: Kafka, names: TestNames, partitions: number): Promise<LmdbWindowStore> {
  const store = new LmdbWindowStore(mkdtempSync(join(tmpdir(), 'aura-erasure-restore-')));
  const writer = { claim: async () => undefined, release: async () => undefined, write: async () => [], close: async () => undefined };
  const changelog = new KafkaChangelogReader(kafka, { ...compileChangelogReaderOptions(configOf(names.env)), applicationId: `${names.applicationId}-check`, logger: createLogger('silent') });
  const gate = new PartitionGate({ writer, changelog, store }, names.inputTopic, () => undefined);
  const all = Array.from({ length: partitions }, (_, p) => ({ topic: names.inputTopic, partition: p }));
  gate.assign(all);
  for (const { partition } of all) await gate.whenReady(partition, async () => undefined);
  return store;
}

const deleted = (n: number, user: string): UserDeleted => signed({ type: 'UserDeleted', event_id: uuid(900_000 + n), user_id: user, requested_at: Date.now(), reason: 'ticket-7', trace_id: `trace-del-${n}`, requester: 'ops@example' });

describe('erasure: UserDeleted drops the window end to end on the real stack', () => {
  let kafka: Kafka;
  let names: TestNames;
  let output: Output[];
  let changelog: SourceRecord[];
  let inputs: SourceRecord[];
  let lmdb: { x?: Buffer; y?: Buffer; ghost?: Buffer; z?: Buffer; yIndexed: boolean };
  let restored: { x?: Buffer; y?: Buffer; ghost?: Buffer; z?: Buffer };
  let metrics: { erasedRecords: number; erasures: number };
  const serde = testSerde();

  before(
    async () => {
      await requireStack();
      kafka = testKafka('erasure-test');
      names = uniqueNames('erasure');
      await createStageTopics(kafka, names.env);
      const encode = await encoder(serde, names.inputTopic);
      const t = Date.now() - 2 * DAY;
      const records: UserRecord[] = [
        mood(1, t, { user_id: 'y', tags: ['old'] }),
        mood(2, t, { user_id: 'x', tags: ['old'] }),
        mood(3, t + HOUR, { user_id: 'y' }),
        mood(4, t + HOUR, { user_id: 'z' }),
        mood(5, t + 2 * HOUR, { user_id: 'x' }),
        mood(6, t + 2 * HOUR, { user_id: 'y' }),
        deleted(1, 'x'),
        mood(7, t + 3 * HOUR, { user_id: 'x', tags: ['new'] }),
        mood(8, t + HOUR, { user_id: 'x', tags: ['new'] }),
        deleted(2, 'y'),
        deleted(3, 'ghost'),
        mood(9, t + 3 * HOUR, { user_id: 'z' }),
      ];
      // The windows are committed (changelog and LMDB) before the erasures arrive, so that the
      // tombstones have something to delete in the store and in a restore.
      const stage = await runStage(names.env, 'aggregate', { label: 'erasure' });
      await send(kafka, names.inputTopic, records.slice(0, 6).map((r) => encode(r)));
      await waitCaughtUp(kafka, names);
      await send(kafka, names.inputTopic, records.slice(6).map((r) => encode(r)));
      await waitCaughtUp(kafka, names);
      metrics = {
        erasedRecords: await stage.metric('aura_records_total', { stage: 'aggregate', outcome: 'erased' }),
        erasures: await stage.metric('aura_erasures_total', { stage: 'aggregate', cause: 'user_deleted' }),
      };
      assert.equal(await stage.stop(), 0, 'the stage exits 0 on SIGTERM');

      inputs = await readTopic(kafka, names.inputTopic);
      output = await decodeOutput(serde, await readTopic(kafka, names.aggregatedTopic, { readCommitted: true }));
      changelog = await readTopic(kafka, names.changelogTopic, { readCommitted: true });
      const store = new LmdbWindowStore(join(names.stateDir, 'aggregate'));
      lmdb = { x: store.get('x'), y: store.get('y'), ghost: store.get('ghost'), z: store.get('z'), yIndexed: [0, 1, 2].some((p) => [...store.expiring(p, Number.MAX_SAFE_INTEGER)].some((e) => e.userId === 'y')) };
      await store.close();
      const fresh = await restoredStore(kafka, names, 3);
      restored = { x: fresh.get('x'), y: fresh.get('y'), ghost: fresh.get('ghost'), z: fresh.get('z') };
      await fresh.close();
    },
    { timeout: 180_000 },
  );

  after(async () => {
    killAllStages();
    if (names) {
      await dropTestResources(kafka, names.env);
      removeDir(names.stateDir);
    }
  });

  test('the aggregated topic carries the marker after the user\'s snapshots, and a fresh window after it', () => {
    assert.deepEqual(shape(output, 'y'), ['s1', 's2', 's3', 'erased'], 'y: three snapshots, then the marker');
    assert.deepEqual(shape(output, 'x'), ['s1', 's2', 'erased', 's1', 's2'], 'x: the window after the erasure starts from nothing');
    assert.deepEqual(shape(output, 'ghost'), ['erased'], 'a user without a window still gets a marker');
    assert.deepEqual(shape(output, 'z'), ['s1', 's2'], 'another user is untouched');
    const afterErasure = output.filter((o) => o.key === 'x' && !o.fullName.endsWith('ContextErased')).slice(2).map((o) => (o.value as ContextAggregated).mood.top_tags);
    assert.deepEqual(afterErasure.at(-1), [{ tag: 'new', count: 2 }], 'no tag of the erased window survives');
  });

  test('the marker names the UserDeleted: erasure id, cause, request time, trace, input position, requester and reason', () => {
    const input = inputs.filter((r) => r.key!.toString() === 'y').at(-1)!; // the UserDeleted: y's last input record
    const marker = output.find((o) => o.key === 'y' && o.fullName.endsWith('ContextErased'))!;
    const expected = deleted(2, 'y');
    assert.equal(marker.fullName, 'aura360.context.ContextErased');
    const m = marker.value as ContextErased;
    assert.deepEqual(
      { ...m, requested_at: 0 },
      { erasure_id: expected.event_id, user_id: 'y', cause: 'user_deleted', requested_at: 0, before: null, trace_id: 'trace-del-2', event_partition: input.partition, event_offset: Number(input.offset), aggregator_version: m.aggregator_version, requester: 'ops@example', reason: 'ticket-7' },
      'marker fields, who asked and why included',
    );
    assert.equal(marker.partition, output.find((o) => o.key === 'y')!.partition, 'same partition as the user\'s snapshots (keyed by user)');
  });

  test('the changelog ends each erased user with a tombstone; a user written to after its erasure ends with the fresh window', () => {
    assert.ok(changelog.filter((r) => r.key!.toString() === 'y').length >= 2, 'y had a window on the changelog before its tombstone');
    const last = lastPerKey(changelog);
    assert.equal(last.get('y')?.value, null, 'y: tombstone');
    assert.equal(last.get('ghost')?.value, null, 'ghost: tombstone');
    assert.deepEqual(decodeWindow(last.get('x')!.value!).entries.map((e) => e.event_id), [uuid(8), uuid(7)], 'x: only the events after the erasure');
  });

  test('LMDB holds no entry (nor index entry) for an erased user, and the fresh window of a returning one', () => {
    assert.equal(lmdb.y, undefined, 'y gone');
    assert.equal(lmdb.ghost, undefined, 'ghost never stored');
    assert.equal(lmdb.yIndexed, false, 'y not in the retention index');
    assert.deepEqual(decodeWindow(lmdb.x!).entries.map((e) => e.event_id), [uuid(8), uuid(7)]);
    assert.ok(lmdb.z, 'z kept');
  });

  test('a store restored from the changelog alone has the same windows: the tombstones were applied as deletes', () => {
    assert.equal(restored.y, undefined, 'y not brought back by its earlier changelog records');
    assert.equal(restored.ghost, undefined);
    assert.deepEqual(restored.x, lmdb.x, 'x: the fresh window, byte for byte');
    assert.deepEqual(restored.z, lmdb.z, 'z: byte for byte');
  });

  test('erasures are counted: aura_records_total{outcome="erased"} and aura_erasures_total{cause="user_deleted"}', () => {
    assert.equal(metrics.erasedRecords, 3, 'three UserDeleted records');
    assert.equal(metrics.erasures, 3, 'three erasures');
  });
});

describe('retention: record timestamps drive the stream time that expires an idle user', () => {
  let kafka: Kafka;
  let names: TestNames;
  let output: Output[];
  let changelog: SourceRecord[];
  let firstOfPhase2: SourceRecord;
  let now: number;
  let lmdb: { a?: Buffer; b?: Buffer; streamTime: ReturnType<LmdbWindowStore['streamTime']> };
  let expired: number;
  const serde = testSerde();

  before(
    async () => {
      await requireStack();
      kafka = testKafka('retention-test');
      names = uniqueNames('retention', { partitions: 1 });
      const env = { ...names.env, STATE_RETENTION_DAYS: '1' };
      await createStageTopics(kafka, env);
      const encode = await encoder(serde, names.inputTopic);
      now = Date.now();
      const old = now - 5 * DAY;

      const stage = await runStage(env, 'aggregate', { label: 'retention' });
      // Phase 1: user a, 5 days ago by its record timestamps (stream time then = 5 days ago: nothing expires).
      await send(kafka, names.inputTopic, [encode(mood(1, old - HOUR, { user_id: 'a' }), old), encode(mood(2, old - HOUR / 2, { user_id: 'a' }), old)]);
      await waitCaughtUp(kafka, names);
      // Phase 2: user b now; stream time jumps to now, so a (last active 5 days ago) is past the 1-day retention.
      await send(kafka, names.inputTopic, [encode(mood(3, now - HOUR, { user_id: 'b' }), now), encode(mood(4, now - HOUR, { user_id: 'b2' }), now)]);
      await waitCaughtUp(kafka, names);
      expired = await stage.metric('aura_erasures_total', { stage: 'aggregate', cause: 'retention' });
      assert.equal(await stage.stop(), 0, 'the stage exits 0 on SIGTERM');

      firstOfPhase2 = (await readTopic(kafka, names.inputTopic))[2]!;
      output = await decodeOutput(serde, await readTopic(kafka, names.aggregatedTopic, { readCommitted: true }));
      changelog = await readTopic(kafka, names.changelogTopic, { readCommitted: true });
      const store = new LmdbWindowStore(join(names.stateDir, 'aggregate'));
      lmdb = { a: store.get('a'), b: store.get('b'), streamTime: store.streamTime(0) };
      await store.close();
    },
    { timeout: 180_000 },
  );

  after(async () => {
    killAllStages();
    if (names) {
      await dropTestResources(kafka, names.env);
      removeDir(names.stateDir);
    }
  });

  test('the idle user is expired: a retention marker after its snapshots, before = stream time − 1 day', () => {
    assert.deepEqual(shape(output, 'a'), ['s1', 's2', 'erased']);
    assert.deepEqual(shape(output, 'b'), ['s1'], 'the active user is kept');
    const m = output.find((o) => o.key === 'a' && o.fullName.endsWith('ContextErased'))!.value as ContextErased;
    const before = now - DAY;
    assert.deepEqual(m, {
      erasure_id: retentionErasureId('a', before),
      user_id: 'a',
      cause: 'retention',
      requested_at: now,
      before,
      trace_id: null,
      event_partition: 0,
      event_offset: Number(firstOfPhase2.offset),
      aggregator_version: m.aggregator_version,
      requester: 'system:retention',
      reason: `retention: no accepted event since ${new Date(before).toISOString()} of stream time (STATE_RETENTION_DAYS)`,
    }, 'named by the record that moved the stream time; the system asked, by the retention rule');
    assert.equal(expired, 1, 'aura_erasures_total{cause="retention"}');
  });

  test('the expired user\'s changelog ends with a tombstone and LMDB forgot it; the stream time is kept for a restart', () => {
    assert.equal(lastPerKey(changelog).get('a')?.value, null, 'tombstone');
    assert.equal(lmdb.a, undefined, 'no LMDB entry');
    assert.ok(lmdb.b, 'the active user is stored');
    assert.deepEqual(lmdb.streamTime, { time: now, offset: firstOfPhase2.offset }, 'stream time persisted with the last commit');
  });
});
