import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Kafka, Message } from 'kafkajs';
import { topicRecordSubject } from '../../src/adapters/avro-serde.js';
import { USER_DELETED_FULL_NAME, type UserDeleted } from '../../src/contracts/erasure.js';
import { type ActivityCreated, type MoodCreated, type UserEvent } from '../../src/contracts/events.js';
import { DLQ_DROPPED_HEADER } from '../../src/adapters/kafka/produce-limits.js';
import { DLQ_HEADERS, NOTE_MAX_LENGTH } from '../../src/pipeline/index.js';
import { recordEncoder } from '../../src/workload/index.js';
import { Prng } from '../../src/workload/prng.js';
import { decodeMarkers, decodeSnapshots } from '../support/snapshots.js';
import { signed } from '../support/erasure-records.js';
import {
  OffsetProbe,
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
  type TestNames,
} from '../support/stack-env.js';

/**
 * Fuzzing `aggregate` on the real stack with a bounded, seeded set of hostile records: random
 * bytes, framed garbage behind the topic's real schema ids, truncated bodies, empty and null
 * values, huge and exotic strings (a MoodCreated with a 600 000-character note on an input topic
 * whose max.message.bytes is 2 MB; one of 1.5 MB, too large even for the DLQ), out-of-range numbers
 * and times, null and mismatched keys, UserDeleted records good and bad (and garbage behind their
 * schema id), and one user whose valid events grow a window too large for a changelog topic capped
 * at 64 KB. Normal events are mixed in. The stage must keep running, and every input record must be
 * accounted for: a snapshot, late, duplicate, an erasure marker, or a dead letter with the expected
 * reason.
 */

const DAY = 86_400_000;
const SEED = 'fuzz-1';
const INPUT_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;
const CHANGELOG_MAX_MESSAGE_BYTES = 64 * 1024;

/** One fuzz record: what is sent and which DLQ codes may answer it ('none' = it must not be dead-lettered). */
interface Case {
  kind: string;
  message: Message;
  /** 'erased': a valid UserDeleted, answered by an erasure marker (neither a snapshot nor a dead letter). */
  expect: string[] | 'none' | 'any-poison' | 'erased';
}

const POISON_CODES = ['ERASURE_UNAUTHORIZED', 'ERASURE_REPLAYED', 'WRONG_MAGIC_BYTE', 'UNKNOWN_SCHEMA_ID', 'UNDECODABLE', 'UNKNOWN_RECORD_TYPE', 'MISSING_USER_ID', 'KEY_MISMATCH', 'FUTURE_TIMESTAMP', 'OUT_OF_RANGE', 'INVALID_FIELD', 'FIELD_TOO_LONG', 'RECORD_TOO_LARGE'];

function randomBytes(rng: Prng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
  return b;
}

/** A string of `n` random characters from exotic ranges: emoji, RTL, CJK, combining marks, NUL and control characters. */
function exotic(rng: Prng, n: number): string {
  const ranges: Array<[number, number]> = [[0x1f300, 0x1f6ff], [0x0590, 0x05ff], [0x4e00, 0x9fff], [0x0300, 0x036f], [0x0000, 0x001f], [0x200b, 0x200f]];
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = rng.pick(ranges);
    s += String.fromCodePoint(rng.int(lo, hi));
  }
  return s;
}

/** High-entropy text that GZIP cannot shrink much: random characters of U+0800..U+D7FF (3 bytes each). */
function incompressible(rng: Prng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.int(0x0800, 0xd7ff));
  return s;
}

/** Avro's encoding of a long: zigzag, then base-128 varint, low group first. */
function zigzagVarint(v: bigint): Buffer {
  let z = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  const out: number[] = [];
  do {
    let byte = Number(z & 0x7fn);
    z >>= 7n;
    if (z > 0n) byte |= 0x80;
    out.push(byte);
  } while (z > 0n);
  return Buffer.from(out);
}

describe('fuzzing aggregate on the real stack: every hostile record accounted for, the stage keeps running', { timeout: 600_000 }, () => {
  let kafka: Kafka;
  let names: TestNames;

  before(async () => {
    await requireStack();
    kafka = testKafka('fuzz-test');
  });

  after(async () => {
    killAllStages();
    if (names) {
      await dropTestResources(kafka, names.env);
      removeDir(names.stateDir);
    }
  });

  test('random, framed, truncated, empty, huge, exotic, out-of-range and mis-keyed records; a window outgrowing its changelog topic', { timeout: 540_000 }, async (t) => {
    names = uniqueNames('fuzz', { partitions: 2 });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: names.inputTopic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(INPUT_MAX_MESSAGE_BYTES) }] },
          { topic: names.changelogTopic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'max.message.bytes', value: String(CHANGELOG_MAX_MESSAGE_BYTES) }] },
        ],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    await createStageTopics(kafka, names.env);

    const serde = testSerde();
    const encode = await recordEncoder(serde, names.inputTopic);
    const rng = new Prng(SEED);
    const now = Date.now();
    const start = now - 2 * DAY;
    let n = 0;
    const uuid = () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`;
    // What the log must never hold (issue 17): every user id and note text of the corpus.
    const personal = new Set<string>();
    const remember = <E extends UserEvent>(e: E): E => {
      personal.add(e.user_id);
      const text = e.type === 'MoodCreated' ? e.note : e.notes;
      if (text) personal.add(text);
      return e;
    };
    const mood = (user: string, at: number, fields: Partial<MoodCreated> = {}): MoodCreated => remember({
      type: 'MoodCreated', event_id: uuid(), user_id: user, occurred_at: at, trace_id: null, source: 'app', mood_id: `m-${n}`, level: 'good', recorded_at: at, note: 'fine', tags: ['work'], ...fields,
    });
    const activity = (user: string, at: number, fields: Partial<ActivityCreated> = {}): ActivityCreated => remember({
      type: 'ActivityCreated', event_id: uuid(), user_id: user, occurred_at: at, trace_id: null, source: 'app', activity_id: `a-${n}`, activity_type: 'cardio', intensity: 'moderate', duration_minutes: 30, session_date: at, notes: null, ...fields,
    });
    const event = (e: UserEvent, key: string | null = e.user_id, timestampMs = Math.max(e.occurred_at, start) + 1000): Message =>
      encode({ index: n, class: 'valid', key, event: e, timestampMs });
    const moodSchemaId = (event(mood('x', start)).value as Buffer).subarray(1, 5);
    const activitySchemaId = (event(activity('x', start)).value as Buffer).subarray(1, 5);
    // The encoder is only used for its bytes; give the records their own keys and timestamps.
    const raw = (key: string | null, value: Buffer | null): Message => ({ key, value, timestamp: String(now - DAY) });
    const deletedSubject = topicRecordSubject(names.inputTopic, USER_DELETED_FULL_NAME);
    await serde.register(deletedSubject, USER_DELETED_FULL_NAME);
    const userDeleted = (user: string, fields: Partial<UserDeleted> = {}, key: string | null = user): Message => {
      const { type: _type, ...body }: UserDeleted = { ...signed({ type: 'UserDeleted', event_id: uuid(), user_id: user, requested_at: now, reason: 'fuzz', trace_id: null, requester: 'fuzz-ops' }), ...fields };
      personal.add(user);
      return raw(key, serde.encode(deletedSubject, USER_DELETED_FULL_NAME, body));
    };
    const deletedSchemaId = (userDeleted('x').value as Buffer).subarray(1, 5);

    const cases: Case[] = [];
    const add = (kind: string, message: Message, expect: Case['expect']) => cases.push({ kind, message, expect });
    let clock = start;
    const tick = () => (clock += 60_000);

    for (let i = 0; i < 40; i++) {
      // Normal traffic of ten users, so the stage has windows to fold into.
      const user = `normal-${i % 10}`;
      add('normal', event(i % 2 === 0 ? mood(user, tick()) : activity(user, tick(), { notes: 'ran' })), 'none');
      add('random bytes', raw(`r-${i}`, randomBytes(rng, rng.int(1, 300))), ['WRONG_MAGIC_BYTE', 'UNKNOWN_SCHEMA_ID', 'UNDECODABLE']);
      add('framed garbage', raw(`user-${i}`, Buffer.concat([Buffer.from([0]), i % 2 === 0 ? moodSchemaId : activitySchemaId, randomBytes(rng, rng.int(0, 200))])), 'any-poison');
      const whole = event(mood(`trunc-${i}`, tick(), { note: exotic(rng, 30) })).value as Buffer;
      add('truncated body', raw(`trunc-${i}`, whole.subarray(0, rng.int(5, whole.length - 1))), 'any-poison');
    }
    add('empty value', raw('user-e', Buffer.alloc(0)), ['UNDECODABLE', 'WRONG_MAGIC_BYTE']);
    add('null value', raw('user-n', null), ['UNDECODABLE', 'WRONG_MAGIC_BYTE']);
    add('magic byte only', raw('user-m', Buffer.from([0])), ['UNDECODABLE', 'UNKNOWN_SCHEMA_ID']);
    add('header only', raw('user-h', Buffer.concat([Buffer.from([0]), moodSchemaId])), ['UNDECODABLE']);

    // Huge and exotic strings.
    add('600 000-character note', event(mood('huge-1', tick(), { note: 'n'.repeat(600_000) })), ['FIELD_TOO_LONG']);
    add('1.5 MB note (too large for the DLQ too)', event(mood('huge-2', tick(), { note: 'N'.repeat(1_500_000) })), ['FIELD_TOO_LONG']);
    add('note one character over the bound', event(mood('huge-3', tick(), { note: '\u{1F642}'.repeat(NOTE_MAX_LENGTH + 1) })), ['FIELD_TOO_LONG']);
    add('note at the bound, exotic', event(mood('exotic-1', tick(), { note: exotic(rng, NOTE_MAX_LENGTH) })), 'none');
    add('activity notes at the bound, exotic', event(activity('exotic-1', tick(), { notes: exotic(rng, NOTE_MAX_LENGTH) })), 'none');
    add('33 tags', event(mood('tags-1', tick(), { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) })), ['FIELD_TOO_LONG']);
    add('a 65-character tag', event(mood('tags-2', tick(), { tags: ['x'.repeat(65)] })), ['FIELD_TOO_LONG']);
    add('32 exotic tags at the bound', event(mood('tags-3', tick(), { tags: Array.from({ length: 32 }, () => exotic(rng, 64)) })), 'none');
    add('exotic user id', event(mood('\u05D0\u{1F600}\u0000-user', tick())), 'none');
    add('129-character user id', event(mood('u'.repeat(129), tick())), ['FIELD_TOO_LONG']);
    add('blank user id', event(mood('   ', tick())), ['MISSING_USER_ID']);
    add('lone surrogate note (becomes U+FFFD in UTF-8)', event(mood('exotic-2', tick(), { note: 'a\uD800b' })), 'none');

    // Out-of-range numbers and times.
    add('duration -1', event(activity('range-1', tick(), { duration_minutes: -1 })), ['OUT_OF_RANGE']);
    add('duration 1441', event(activity('range-1', tick(), { duration_minutes: 1441 })), ['OUT_OF_RANGE']);
    add('duration 2^31-1', event(activity('range-1', tick(), { duration_minutes: 2 ** 31 - 1 })), ['OUT_OF_RANGE']);
    add('occurred_at 0', event(mood('range-2', 0), 'range-2', now - DAY), ['OUT_OF_RANGE']);
    add('occurred_at negative', event(mood('range-2', -86_400_000), 'range-2', now - DAY), ['OUT_OF_RANGE']);
    add('occurred_at year 275760', event(mood('range-2', 8.64e15), 'range-2', now - DAY), ['FUTURE_TIMESTAMP']);
    add('occurred_at 2^52', event(mood('range-2', 2 ** 52), 'range-2', now - DAY), ['FUTURE_TIMESTAMP']);
    // A long no JS number holds exactly (2^62), as another language's producer may send: the
    // occurred_at varint of a valid record swapped for a 9-byte one.
    const sentinel = 1_234_567_890_123;
    const plain = event(mood('range-5', sentinel), 'range-5', now - DAY).value as Buffer;
    const at = plain.indexOf(zigzagVarint(BigInt(sentinel)));
    assert.ok(at > 5, 'the occurred_at varint is found in the record');
    add('occurred_at 2^62 (beyond 2^53)', raw('range-5', Buffer.concat([plain.subarray(0, at), zigzagVarint(2n ** 62n), plain.subarray(at + zigzagVarint(BigInt(sentinel)).length)])), 'any-poison');
    add('occurred_at 3 days after its timestamp', event(mood('range-3', now), 'range-3', now - 3 * DAY), ['FUTURE_TIMESTAMP']);
    add('recorded_at negative (not checked against time: accepted)', event(mood('range-4', tick(), { recorded_at: -5 })), 'none');

    // Null and mismatched keys.
    add('null key', event(mood('keys-1', tick()), null), ['KEY_MISMATCH']);
    add('empty key', event(mood('keys-1', tick()), ''), ['KEY_MISMATCH']);
    add('another user\'s key', event(mood('keys-1', tick()), 'keys-2'), ['KEY_MISMATCH']);
    add('key differing only in case', event(mood('Keys-3', tick()), 'keys-3'), ['KEY_MISMATCH']);

    // Erasures: valid ones are answered by a marker; bad ones and garbage behind their schema id are poison.
    add('UserDeleted of a user with a window', userDeleted('normal-3'), 'erased');
    add('UserDeleted of a user never seen', userDeleted('ghost-1'), 'erased');
    add('UserDeleted again', userDeleted('ghost-1'), 'erased');
    // Only a holder of the signing key may erase (issue 17).
    const resigned = (user: string, fields: Partial<UserDeleted>, key?: string) => {
      const { type: _type, ...body } = signed({ type: 'UserDeleted', event_id: uuid(), user_id: user, requested_at: now, reason: 'fuzz', trace_id: null, requester: 'fuzz-ops', ...fields }, key);
      return raw(user, serde.encode(deletedSubject, USER_DELETED_FULL_NAME, body));
    };
    add('UserDeleted without a signature', userDeleted('normal-4', { signature: null }), ['ERASURE_UNAUTHORIZED']);
    add('UserDeleted signed with another key', resigned('normal-5', {}, 'another-key-0123456789abcdef0123456789'), ['ERASURE_UNAUTHORIZED']);
    add('UserDeleted whose signed fields were altered', userDeleted('normal-6', { requester: 'someone-else' }), ['ERASURE_UNAUTHORIZED']);
    const once = userDeleted('ghost-2');
    add('UserDeleted, valid', once, 'erased');
    add('the same UserDeleted produced again (a replay)', { ...once, headers: {} }, ['ERASURE_REPLAYED']);
    add('UserDeleted signed, but requested 3 days ago', resigned('normal-7', { requested_at: now - 3 * DAY }), ['ERASURE_REPLAYED']);
    add('UserDeleted with an event_id not a UUID', userDeleted('del-2', { event_id: 'del-2' }), ['INVALID_FIELD']);
    add('UserDeleted under another user\'s key', userDeleted('del-3', {}, 'del-4'), ['KEY_MISMATCH']);
    add('UserDeleted without a key', userDeleted('del-3', {}, null), ['KEY_MISMATCH']);
    add('UserDeleted with a blank user id', userDeleted('  '), ['MISSING_USER_ID']);
    add('UserDeleted with a reason over the bound', userDeleted('del-5', { reason: 'r'.repeat(NOTE_MAX_LENGTH + 1) }), ['FIELD_TOO_LONG']);
    const wholeDelete = userDeleted('del-6').value as Buffer;
    for (let i = 0; i < 10; i++) {
      add('framed garbage behind the UserDeleted schema id', raw(`del-g-${i}`, Buffer.concat([Buffer.from([0]), deletedSchemaId, randomBytes(rng, rng.int(0, 120))])), 'any-poison');
      add('truncated UserDeleted', raw('del-6', wholeDelete.subarray(0, rng.int(5, wholeDelete.length - 1))), 'any-poison');
    }

    // Valid events of one user whose window outgrows the 64 KB changelog limit even compressed.
    for (let i = 0; i < 60; i++) add('window too large for the changelog', event(mood('window-heavy', tick(), { note: incompressible(rng, NOTE_MAX_LENGTH) })), ['RECORD_TOO_LARGE', 'none']);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (const [i, c] of cases.entries()) {
        c.message.headers = { ...(c.message.headers ?? {}), 'fuzz.case': String(i) };
        await producer.send({ topic: names.inputTopic, acks: -1, messages: [c.message] });
      }
    } finally {
      await producer.disconnect();
    }

    // At debug, so every log line the stage (and kafkajs through it) can write is in the capture.
    const stage = await runStage({ ...names.env, LOG_LEVEL: 'debug' }, 'aggregate', { readyTimeoutMs: 120_000 });
    const probe = new OffsetProbe(kafka);
    const counted: Record<string, number> = {};
    try {
      await probe.waitCaughtUp(names, 300_000);
      for (const outcome of ['accepted', 'late', 'duplicate', 'dlq', 'erased']) counted[outcome] = await stage.metric('aura_records_total', { stage: 'aggregate', outcome });
      // Still running and ready after all of it.
      const ready = await fetch(`http://127.0.0.1:${stage.port}/readyz`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(ready.status, 200, 'the stage is still ready after the fuzz');
    } finally {
      await probe.close();
    }
    assert.equal(await stage.stop(), 0, 'and stops cleanly');
    assert.deepEqual(stage.logLines().filter((l) => l.level >= 60).map((l) => l.msg), [], 'nothing fatal');

    const input = await readTopic(kafka, names.inputTopic);
    const dlq = await readTopic(kafka, names.dlqTopic, { readCommitted: true });
    const aggregated = await readTopic(kafka, names.aggregatedTopic, { readCommitted: true });
    const snapshots = await decodeSnapshots(serde, aggregated);
    const markers = await decodeMarkers(serde, aggregated);
    const caseOf = (headers: Record<string, Buffer | undefined>) => Number(headers['fuzz.case']?.toString());
    const inputByOffset = new Map(input.map((r) => [`${r.partition}:${r.offset}`, caseOf(r.headers)]));
    // A dead letter names its input by the original partition and offset (its own headers may be gone).
    const dlqCase = (r: { headers: Record<string, Buffer | undefined> }) => inputByOffset.get(`${r.headers[DLQ_HEADERS.partition]?.toString()}:${r.headers[DLQ_HEADERS.offset]?.toString()}`)!;
    const codeByCase = new Map(dlq.map((r) => [dlqCase(r), r.headers[DLQ_HEADERS.code]?.toString() ?? '?']));
    const snapshotCases = snapshots.map((s) => inputByOffset.get(`${s.snapshot.source_partition}:${s.snapshot.source_offset}`)!);
    const markerCases = new Set(markers.map((m) => inputByOffset.get(`${m.marker.event_partition}:${m.marker.event_offset}`)!));

    const byCode: Record<string, number> = {};
    for (const code of codeByCase.values()) byCode[code] = (byCode[code] ?? 0) + 1;
    t.diagnostic(`${input.length} fuzz records: accepted ${counted.accepted}, late ${counted.late}, duplicate ${counted.duplicate}, erased ${counted.erased}, dead-lettered ${counted.dlq} ${JSON.stringify(byCode)}`);

    // Every record accounted for: a snapshot, an erasure marker or a dead letter (this fuzz has no late or duplicate records).
    assert.equal(input.length, cases.length);
    assert.equal(counted.late! + counted.duplicate!, 0);
    assert.equal(counted.accepted! + counted.erased! + counted.dlq!, cases.length, 'accepted + erased + dead-lettered = every record');
    assert.equal(markers.length, counted.erased, 'one marker per erased record');
    assert.equal(markerCases.size, markers.length, 'no record has two markers');
    assert.equal(snapshots.length, counted.accepted, 'one snapshot per accepted record');
    assert.equal(dlq.length, counted.dlq, 'one dead letter per dead-lettered record');
    const snapshotSet = new Set(snapshotCases);
    assert.equal(snapshotSet.size, snapshots.length, 'no record has two snapshots');
    for (const [i, c] of cases.entries()) {
      const code = codeByCase.get(i);
      const where = `case ${i} (${c.kind})`;
      assert.equal([snapshotSet.has(i), code !== undefined, markerCases.has(i)].filter(Boolean).length, 1, `${where}: exactly one of snapshot, dead letter or marker`);
      if (c.expect === 'erased') assert.ok(markerCases.has(i), `${where}: erased`);
      else if (c.expect === 'none') assert.equal(code, undefined, `${where}: accepted`);
      else if (c.expect === 'any-poison') assert.ok(code && POISON_CODES.includes(code), `${where}: dead-lettered as poison (${code})`);
      else if (!c.expect.includes('none') || code !== undefined) assert.ok(code && c.expect.includes(code), `${where}: ${code} is one of ${c.expect.join(', ')}`);
    }

    // The reasons, checked on the records that carry them.
    assert.ok((byCode.RECORD_TOO_LARGE ?? 0) > 0, 'valid events whose window cannot fit the changelog were dead-lettered as RECORD_TOO_LARGE');
    assert.ok(snapshots.some((s) => s.snapshot.user_id === 'window-heavy'), 'the first events of that user, which fit, were accepted');
    const tooLarge = dlq.find((r) => r.headers[DLQ_HEADERS.code]?.toString() === 'RECORD_TOO_LARGE')!;
    assert.match(tooLarge.headers[DLQ_HEADERS.message]!.toString(), /can never be written to the changelog: .* exceeds max\.message\.bytes 65536/);
    const huge = dlq.find((r) => cases[dlqCase(r)]?.kind === '600 000-character note')!;
    assert.equal(huge.value?.length, input.find((r) => caseOf(r.headers) === dlqCase(huge))!.value!.length, 'the 600 000-character note is dead-lettered with its original bytes');
    const tooLargeForDlq = dlq.find((r) => cases[dlqCase(r)]?.kind === '1.5 MB note (too large for the DLQ too)');
    assert.ok(tooLargeForDlq, 'the 1.5 MB record is dead-lettered');
    assert.equal(tooLargeForDlq.value, null, 'without its value, which cannot fit the DLQ topic');
    assert.ok(Number(tooLargeForDlq.headers[DLQ_DROPPED_HEADER]?.toString()) > 1_500_000, 'saying how many bytes were dropped');
    assert.equal(tooLargeForDlq.headers[DLQ_HEADERS.code]?.toString(), 'FIELD_TOO_LONG');
    const exoticUser = snapshots.find((s) => s.snapshot.user_id === '\u05D0\u{1F600}\u0000-user');
    assert.ok(exoticUser, 'an exotic but valid user id gets its snapshot, byte for byte');

    // No personal data in the log: no user id and no note of the corpus, neither in the raw text
    // nor in any decoded string of a log line. Ids and notes of 4 characters or fewer ('x', 'fine',
    // 'ran') are left out: they would match ordinary words. Long notes are looked for by a 24-character piece.
    const needles = [...personal].filter((p) => p.trim().length > 4).map((p) => (p.length > 24 ? p.slice(0, 24) : p));
    const rawLog = readFileSync(stage.logFile, 'utf8');
    const strings: string[] = [];
    const collect = (v: unknown): void => {
      if (typeof v === 'string') strings.push(v);
      else if (v && typeof v === 'object') for (const x of Object.values(v)) collect(x);
    };
    for (const line of stage.logLines()) collect(line);
    const decodedLog = strings.join('\n');
    const leaked = needles.filter((p) => rawLog.includes(p) || decodedLog.includes(p));
    assert.deepEqual(leaked.map((p) => JSON.stringify(p.slice(0, 40))), [], `no user id or note of the corpus in the log (${rawLog.split('\n').length} lines, ${needles.length} values looked for)`);
    // The search can find them: the dead letters' reasons (which the log used to echo) quote some.
    const reasons = dlq.map((r) => r.headers[DLQ_HEADERS.message]?.toString() ?? '').join('\n');
    assert.ok(needles.filter((p) => reasons.includes(p)).length > 0, 'the same search finds corpus values in the DLQ reasons, so it would find them in the log');
    assert.ok(stage.logLines().some((l) => l.msg === 'dead-lettered' && typeof l['code'] === 'string' && 'offset' in l), 'dead letters are still logged: code, field, topic, partition, offset');
  });
});
