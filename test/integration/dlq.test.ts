import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { ActivityCreated, UserEvent } from '../../src/contracts/events.js';
import type { ErrorCode } from '../../src/errors.js';
import type { SourceRecord } from '../../src/ports.js';
import { DLQ_HEADERS } from '../../src/pipeline/index.js';
import { POISON_ERROR_CODES, POISON_KINDS, generateEvents, type GeneratedRecord, type PoisonKind } from '../../src/workload/index.js';
import { oracleOf } from '../support/oracle-input.js';
import { decodeSnapshots, lastSnapshotPerUser, type SnapshotRecord } from '../support/snapshots.js';
import {
  createStageTopics,
  dropTestResources,
  killAllStages,
  metricValue,
  produceGenerated,
  readTopic,
  removeDir,
  requireStack,
  runStage,
  stageCodec,
  testKafka,
  testSerde,
  uniqueNames,
  waitCaughtUp,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';

/**
 * docs/ARCHITECTURE.md §5 on the real stack: every poison class is put on the input topic between two valid
 * records of one user (same partition), the `aggregate` stage runs as a child process, and the
 * record is found in `<input>.dlq` with its original key, value and headers plus the error headers,
 * while its neighbours produced snapshots.
 */

const DAY = 86_400_000;

interface PoisonCase {
  name: string;
  code: ErrorCode;
  /** What the error message must say. */
  message: RegExp;
  make(template: UserEvent, base: GeneratedRecord, otherUser: string): GeneratedRecord | { tombstone: true; key: string; timestampMs: number };
}

const withEvent = (base: GeneratedRecord, index: number, event: UserEvent, key: string | null = event.user_id): GeneratedRecord => ({
  index,
  class: 'poison',
  key,
  event,
  timestampMs: base.timestampMs,
});
const wire = (base: GeneratedRecord, index: number, poisonKind: PoisonKind): GeneratedRecord => ({ index, class: 'poison', poisonKind, key: base.key, timestampMs: base.timestampMs });
const newId = (n: number) => `00000000-0000-4000-8000-${String(900_000 + n).padStart(12, '0')}`;

/** The classes of docs/ARCHITECTURE.md §5 (in POISON_KINDS order), then two more the stage must also survive. */
const CASES: PoisonCase[] = [
  { name: 'wrong-magic-byte', code: 'WRONG_MAGIC_BYTE', message: /magic byte is 0x7f/, make: (_t, b) => wire(b, 9001, 'wrong-magic-byte') },
  { name: 'unknown-schema-id', code: 'UNKNOWN_SCHEMA_ID', message: /schema id \d+ is not in the registry/, make: (_t, b) => wire(b, 9002, 'unknown-schema-id') },
  { name: 'undecodable', code: 'UNDECODABLE', message: /do not decode as aura360\.events\.MoodCreated/, make: (_t, b) => wire(b, 9003, 'undecodable') },
  { name: 'unknown-record-type', code: 'UNKNOWN_RECORD_TYPE', message: /SleepLogged/, make: (_t, b) => wire(b, 9004, 'unknown-record-type') },
  {
    name: 'blank-user-id',
    code: 'MISSING_USER_ID',
    message: /user_id "\s*" must be a non-blank string/,
    make: (t, b) => withEvent(b, 9005, { ...t, event_id: newId(5), user_id: '  ' }, '  '),
  },
  { name: 'key-mismatch', code: 'KEY_MISMATCH', message: /must equal the body's user_id/, make: (t, b, other) => withEvent(b, 9006, { ...t, event_id: newId(6) }, other) },
  {
    name: 'future-timestamp',
    code: 'FUTURE_TIMESTAMP',
    message: /more than 24 h after the record timestamp/,
    make: (t, b) => withEvent(b, 9007, { ...t, event_id: newId(7), occurred_at: b.timestampMs + 3 * DAY }),
  },
  {
    name: 'out-of-range',
    code: 'OUT_OF_RANGE',
    message: /duration_minutes 100000 must be an integer from 0 to 1440/,
    make: (t, b) => {
      const a: ActivityCreated = {
        type: 'ActivityCreated',
        event_id: newId(8),
        user_id: t.user_id,
        occurred_at: t.occurred_at,
        trace_id: null,
        source: 'app',
        activity_id: 'a-poison',
        activity_type: 'cardio',
        intensity: 'high',
        duration_minutes: 100_000,
        session_date: t.occurred_at - (t.occurred_at % DAY),
        notes: null,
      };
      return withEvent(b, 9008, a);
    },
  },
  { name: 'invalid-field', code: 'INVALID_FIELD', message: /event_id "not-a-uuid" must be a UUID/, make: (t, b) => withEvent(b, 9009, { ...t, event_id: 'not-a-uuid' }) },
  { name: 'tombstone', code: 'UNDECODABLE', message: /empty value/, make: (_t, b) => ({ tombstone: true, key: b.key!, timestampMs: b.timestampMs }) },
];

const BINARY_HEADER = Buffer.from([0xff, 0x00, 0xfe, 0x80]);

describe('poison input goes to <input>.dlq with the original record and error headers (real stack, docs/ARCHITECTURE.md §5)', () => {
  let names: TestNames;
  let kafka: Kafka;
  let stage: StageProcess | undefined;
  let input: SourceRecord[];
  let dlq: SourceRecord[];
  let snapshots: SnapshotRecord[];
  let metricsText: string;
  const neighbours = new Map<string, string[]>();
  const serde = testSerde();

  before(async () => {
    await requireStack();
    names = uniqueNames('dlq', { partitions: 2 });
    kafka = testKafka('dlq-test');
    await createStageTopics(kafka, names.env);

    // Users 1..N each get two valid events, the poison case between them, on one partition.
    const startMs = Date.now() - 10 * DAY - 3_600_000;
    const valid = [...generateEvents({ seed: 'dlq', users: CASES.length + 1, events: 400, startMs, lateFraction: 0, duplicateFraction: 0, poisonFraction: 0 })];
    const sequence: Array<{ record: GeneratedRecord; partition: number; name: string }> = [];
    const tombstones: Array<{ key: string; timestampMs: number; partition: number; name: string }> = [];
    CASES.forEach((c, i) => {
      const user = `user-${String(i + 1).padStart(4, '0')}`;
      const [first, second] = valid.filter((r) => r.key === user);
      assert.ok(first?.event && second?.event, `the generator gave ${user} two events`);
      const partition = i % 2;
      const poison = c.make(first.event, first, `user-${String(CASES.length + 1).padStart(4, '0')}`);
      sequence.push({ record: first, partition, name: `${c.name}:before` });
      if ('tombstone' in poison) tombstones.push({ ...poison, partition, name: c.name });
      else sequence.push({ record: poison, partition, name: c.name });
      sequence.push({ record: second, partition, name: `${c.name}:after` });
      neighbours.set(c.name, [first.event.event_id, second.event.event_id]);
    });

    const caseOf = new Map(sequence.map((s) => [s.record, s]));
    const produce = (records: typeof sequence) =>
      produceGenerated(
        kafka,
        serde,
        names.inputTopic,
        records.map((s) => s.record),
        { headers: (r) => ({ 'x-case': caseOf.get(r)!.name }), partition: (r) => caseOf.get(r)!.partition },
      );
    // The tombstone case: its neighbours first, then a null value through a plain producer, then the rest.
    const tomb = tombstones[0]!;
    const cut = sequence.findIndex((s) => s.name === `${tomb.name}:before`) + 1;
    await produce(sequence.slice(0, cut));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: names.inputTopic,
      acks: -1,
      messages: [{ key: tomb.key, value: null, partition: tomb.partition, timestamp: String(tomb.timestampMs), headers: { 'x-case': tomb.name, 'x-binary': BINARY_HEADER } }],
    });
    await producer.disconnect();
    await produce(sequence.slice(cut));

    stage = await runStage(names.env, 'aggregate');
    await waitCaughtUp(kafka, names);
    metricsText = await stage.metrics();
    assert.equal(await stage.stop(), 0, 'the stage exits 0 on SIGTERM');

    input = await readTopic(kafka, names.inputTopic);
    dlq = await readTopic(kafka, names.dlqTopic);
    snapshots = await decodeSnapshots(serde, await readTopic(kafka, names.aggregatedTopic));
  });

  after(async () => {
    killAllStages();
    if (kafka) await dropTestResources(kafka, names.env);
    if (names) removeDir(names.stateDir);
  });

  test('the docs/ARCHITECTURE.md §5 classes are all covered by a case', () => {
    for (const kind of POISON_KINDS) {
      const c = CASES.find((x) => x.name === kind);
      assert.ok(c, `a case for ${kind}`);
      assert.equal(c.code, POISON_ERROR_CODES[kind], `${kind} expects ${POISON_ERROR_CODES[kind]}`);
    }
  });

  for (const c of CASES) {
    test(`${c.name}: dead-lettered as ${c.code} with its original key, value and headers, while its neighbours produced snapshots`, () => {
      const original = input.find((r) => r.headers['x-case']?.toString() === c.name);
      assert.ok(original, `the ${c.name} record is on the input topic`);
      const found = dlq.filter((r) => r.headers['x-case']?.toString() === c.name);
      assert.equal(found.length, 1, `exactly one DLQ record for ${c.name}`);
      const d = found[0]!;
      const h = (name: string) => d.headers[name]?.toString();
      assert.equal(h(DLQ_HEADERS.code), c.code, 'aura.error.code');
      assert.match(h(DLQ_HEADERS.message) ?? '', c.message, 'aura.error.message says why');
      assert.equal(h(DLQ_HEADERS.stage), 'aggregate', 'aura.error.stage');
      assert.equal(h(DLQ_HEADERS.topic), names.inputTopic, 'aura.original.topic');
      assert.equal(h(DLQ_HEADERS.partition), String(original.partition), 'aura.original.partition');
      assert.equal(h(DLQ_HEADERS.offset), original.offset, 'aura.original.offset');
      assert.equal(h(DLQ_HEADERS.timestamp), original.timestamp, 'aura.original.timestamp');
      assert.deepEqual(d.key, original.key, 'original key bytes');
      assert.deepEqual(d.value, original.value, 'original value bytes (null for a tombstone)');
      assert.ok(Object.keys(original.headers).length >= 2, 'the original carries headers');
      for (const [name, value] of Object.entries(original.headers)) assert.deepEqual(d.headers[name], value, `original header ${name} kept byte for byte`);

      const triggers = new Set(snapshots.map((s) => s.snapshot.trigger_event_id));
      for (const id of neighbours.get(c.name)!) assert.ok(triggers.has(id), `the valid neighbour ${id} of ${c.name} produced a snapshot`);
    });
  }

  test('binary header values survive the DLQ byte for byte', () => {
    const d = dlq.find((r) => r.headers['x-case']?.toString() === 'tombstone');
    assert.deepEqual(d?.headers['x-binary'], BINARY_HEADER, 'x-binary');
  });

  test('nothing else is dead-lettered, every valid record produced exactly one snapshot, and the final snapshots equal the oracle', async () => {
    const expected = await oracleOf(input, await stageCodec(testSerde(), names));
    assert.equal(dlq.length, CASES.length, 'one DLQ record per case, no more');
    assert.equal(expected.poison.length, CASES.length, 'the oracle finds the same poison');
    assert.equal(snapshots.length, 2 * CASES.length, 'two snapshots per case');
    assert.deepEqual(new Set(snapshots.map((s) => s.snapshot.trigger_event_id)), expected.oracle.acceptedEventIds, 'the accepted events');
    assert.deepEqual(lastSnapshotPerUser(snapshots), expected.oracle.finalSnapshot, 'final snapshots');
  });

  test('every dead-lettered record is counted by reason in aura_dlq_records_total', () => {
    const byCode = new Map<string, number>();
    for (const c of CASES) byCode.set(c.code, (byCode.get(c.code) ?? 0) + 1);
    for (const [code, n] of byCode) {
      assert.equal(metricValue(metricsText, 'aura_dlq_records_total', { stage: 'aggregate', reason: code }), n, `aura_dlq_records_total{reason="${code}"}`);
    }
    assert.equal(metricValue(metricsText, 'aura_records_total', { stage: 'aggregate', outcome: 'dlq' }), CASES.length, 'outcome dlq');
    assert.equal(metricValue(metricsText, 'aura_records_total', { stage: 'aggregate', outcome: 'accepted' }), 2 * CASES.length, 'outcome accepted');
  });
});
