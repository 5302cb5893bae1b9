import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import avro from 'avsc';
import { AvroSerde, createRegistryClient, loadLocalSchemas, parseSchema, topicRecordSubject, topicSubject } from '../../src/adapters/avro-serde.js';
import { CONTEXT_AGGREGATED, createAggregateCodec, createVectorizeCodec } from '../../src/adapters/codecs.js';
import { CONTEXT_ERASED_FULL_NAME, ERASURE_COMPLETED_FULL_NAME, USER_DELETED_FULL_NAME } from '../../src/contracts/erasure.js';
import { EVENT_FULL_NAMES, type ActivityCreated, type MoodCreated, type UserEvent } from '../../src/contracts/events.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import { AuraError } from '../../src/errors.js';
import { validateEvent } from '../../src/pipeline/index.js';
import { generateEvents } from '../../src/workload/index.js';
import { aggregateOracle } from '../oracles/aggregate-oracle.js';
import { DEFAULT_SNAPSHOT_CONFIG } from '../support/oracle-input.js';
import { ROOT, STACK, removeDir, requireStack, uniqueNames, type TestNames } from '../support/stack-env.js';

/**
 * The Avro serde against the real registry of the local stack (Apicurio 3.x, Confluent-compatible
 * API, global compatibility BACKWARD_TRANSITIVE). Every test registers under subjects of a fresh
 * topic name, so the main subjects are never touched and reruns start clean.
 */

const MOOD = EVENT_FULL_NAMES.MoodCreated;
const ACTIVITY = EVENT_FULL_NAMES.ActivityCreated;

type AvscRecord = { type: 'record'; name: string; fields: Array<{ name: string; type: unknown; default?: unknown }> };
const moodV1 = (): AvscRecord => JSON.parse(readFileSync(join(ROOT, 'schemas', 'MoodCreated.avsc'), 'utf8')) as AvscRecord;

/** MoodCreated v2: one added optional field. */
function moodV2(): AvscRecord {
  const s = moodV1();
  s.fields.push({ name: 'mood_context', type: ['null', 'string'], default: null });
  return s;
}

/** MoodCreated v3: v2 plus a new MoodLevel symbol `ecstatic`. */
function moodV3(): AvscRecord {
  const s = moodV2();
  const level = s.fields.find((f) => f.name === 'level')!.type as { symbols: string[] };
  level.symbols.push('ecstatic');
  return s;
}

/** A serde (with its own registry client: nothing cached) whose local MoodCreated is `schema`. */
function serdeWith(schema?: AvscRecord): AvroSerde {
  const local = loadLocalSchemas();
  if (schema) local.set(...parseSchema(JSON.stringify(schema)));
  return new AvroSerde(createRegistryClient(STACK.registryUrl), local);
}

/** Avro field values of an event (the domain `type` is not on the wire). */
function body(event: UserEvent): Record<string, unknown> {
  const { type: _type, ...rest } = event;
  return rest;
}

const plain = <T>(v: unknown): T => JSON.parse(JSON.stringify(v)) as T;

const generated = [...generateEvents({ seed: 'serde', users: 3, events: 60, startMs: Date.UTC(2026, 1, 1), poisonFraction: 0, lateFraction: 0, duplicateFraction: 0 })];
const mood = generated.find((r) => r.event?.type === 'MoodCreated' && r.event.note)!.event as MoodCreated;
const activity = generated.find((r) => r.event?.type === 'ActivityCreated')!.event as ActivityCreated;

function sampleSnapshot(): ContextAggregated {
  const log = generated.map((r, i) => ({
    position: { topic: 't', partition: 0, offset: String(i), timestamp: r.timestampMs },
    key: r.key,
    event: r.event!,
  }));
  return aggregateOracle(log, DEFAULT_SNAPSHOT_CONFIG).finalSnapshot.get(mood.user_id)!;
}

describe('Avro serde through the real registry', () => {
  let names: TestNames;
  const subjects: string[] = [];
  const subject = (s: string) => (subjects.push(s), s);

  before(async () => {
    await requireStack();
    names = uniqueNames('serde');
  });

  after(async () => {
    const client = createRegistryClient(STACK.registryUrl);
    for (const s of subjects) {
      await client.deleteSubject(s, false).catch(() => undefined);
      await client.deleteSubject(s, true).catch(() => undefined);
    }
    removeDir(names.stateDir);
  });

  test('MoodCreated, ActivityCreated and ContextAggregated round-trip through the registry unchanged', async () => {
    const writer = serdeWith();
    const reader = serdeWith();
    const moodSubject = subject(topicRecordSubject(names.inputTopic, MOOD));
    const activitySubject = subject(topicRecordSubject(names.inputTopic, ACTIVITY));
    const outSubject = subject(topicSubject(names.aggregatedTopic));
    await writer.register(moodSubject, MOOD);
    await writer.register(activitySubject, ACTIVITY);
    await writer.register(outSubject, CONTEXT_AGGREGATED);
    const snapshot = sampleSnapshot();

    const m = await reader.decode(writer.encode(moodSubject, MOOD, body(mood)));
    assert.equal(m.fullName, MOOD, 'record type from the writer schema fetched by id');
    assert.deepEqual(plain(m.value), body(mood), 'MoodCreated round trip');
    const a = await reader.decode(writer.encode(activitySubject, ACTIVITY, body(activity)));
    assert.deepEqual(plain(a.value), body(activity), 'ActivityCreated round trip');
    const s = await reader.decode(writer.encode(outSubject, CONTEXT_AGGREGATED, snapshot));
    assert.deepEqual(plain(s.value), snapshot, 'ContextAggregated round trip');

    const codec = await createAggregateCodec(serdeWith(), { input: names.inputTopic, output: names.aggregatedTopic });
    assert.deepEqual(await codec.decodeEvent(writer.encode(moodSubject, MOOD, body(mood))), mood, 'the stage codec gives back the domain event');
    assert.deepEqual(await codec.decodeEvent(writer.encode(activitySubject, ACTIVITY, body(activity))), activity, 'for both record types');
  });

  test('ContextAggregated gained source_timestamp compatibly: registered over the version without it under BACKWARD_TRANSITIVE, an old record reads as null', async () => {
    const current = JSON.parse(readFileSync(join(ROOT, 'schemas', 'ContextAggregated.avsc'), 'utf8')) as AvscRecord;
    const added = current.fields.find((f) => f.name === 'source_timestamp');
    assert.ok(added && added.default === null, 'an optional field with a null default');
    const previous: AvscRecord = { ...current, fields: current.fields.filter((f) => f.name !== 'source_timestamp') };
    const s = subject(topicRecordSubject(names.aggregatedTopic, CONTEXT_AGGREGATED));
    const old = serdeWith(previous);
    const oldId = await old.register(s, CONTEXT_AGGREGATED);
    const check = await serdeWith().checkCompatible(s, CONTEXT_AGGREGATED);
    assert.equal(check.compatible, true, `the new version is compatible (${check.compatible ? '' : check.reason})`);
    const writer = serdeWith();
    const newId = await writer.register(s, CONTEXT_AGGREGATED);
    assert.notEqual(newId, oldId, 'a second version');

    const { source_timestamp: _, ...snapshot } = sampleSnapshot();
    const codec = await createVectorizeCodec(serdeWith(), { input: names.aggregatedTopic, output: names.vectorizedTopic, erased: names.erasedTopic });
    const fromOld = await codec.decodeAggregated(old.encode(s, CONTEXT_AGGREGATED, snapshot));
    assert.ok(fromOld.kind === 'snapshot');
    assert.equal(fromOld.snapshot.source_timestamp ?? null, null, 'written before the field: unknown, no freshness observed');
    const fresh = { ...snapshot, source_timestamp: 1_800_000_000_123 };
    const fromNew = await codec.decodeAggregated(writer.encode(s, CONTEXT_AGGREGATED, fresh));
    assert.ok(fromNew.kind === 'snapshot');
    assert.equal(fromNew.snapshot.source_timestamp, 1_800_000_000_123, 'carried through the registry');
  });

  test('registering the same schema again is idempotent: same id', async () => {
    const s = subject(topicRecordSubject(names.inputTopic, MOOD));
    const first = await serdeWith().register(s, MOOD);
    const again = await serdeWith().register(s, MOOD);
    assert.equal(again, first, 'same schema, same id');
  });

  test('the wire format is magic byte 0, the registered id as a big-endian int32, then the plain Avro body (what a producer in any language writes)', async () => {
    const serde = serdeWith();
    const s = subject(topicRecordSubject(names.inputTopic, ACTIVITY));
    const id = await serde.register(s, ACTIVITY);
    const bytes = serde.encode(s, ACTIVITY, body(activity));
    assert.equal(bytes[0], 0, 'magic byte');
    assert.equal(bytes.readInt32BE(1), id, 'bytes 1..4 = registered schema id');
    const independent = avro.Type.forSchema(JSON.parse(readFileSync(join(ROOT, 'schemas', 'ActivityCreated.avsc'), 'utf8')) as avro.Schema);
    assert.deepEqual(bytes.subarray(5), independent.toBuffer(body(activity)), 'body = plain Avro binary of the .avsc');

    // A frame built by hand, as another language's serializer would, decodes.
    const header = Buffer.alloc(5);
    header.writeInt32BE(id, 1);
    const foreign = Buffer.concat([header, independent.toBuffer(body(activity))]);
    assert.deepEqual(plain((await serdeWith().decode(foreign)).value), body(activity), 'hand-built frame decodes');
  });

  test('the erasure schemas with who-asked fields (requester, reason, signature) are BACKWARD_TRANSITIVE-compatible with their first versions, and the stage reads first-version bytes with nulls', async () => {
    const v1Dir = join(ROOT, 'test', 'fixtures', 'schemas', 'erasure-v1');
    const cases = [
      { file: 'UserDeleted.avsc', fullName: USER_DELETED_FULL_NAME, subject: subject(topicRecordSubject(`${names.inputTopic}-erasure`, USER_DELETED_FULL_NAME)) },
      { file: 'ContextErased.avsc', fullName: CONTEXT_ERASED_FULL_NAME, subject: subject(topicRecordSubject(`${names.aggregatedTopic}-erasure`, CONTEXT_ERASED_FULL_NAME)) },
      { file: 'ErasureCompleted.avsc', fullName: ERASURE_COMPLETED_FULL_NAME, subject: subject(topicSubject(`${names.erasedTopic}-erasure`)) },
    ];
    for (const c of cases) {
      const local = loadLocalSchemas();
      local.set(...parseSchema(readFileSync(join(v1Dir, c.file), 'utf8')));
      const first = new AvroSerde(createRegistryClient(STACK.registryUrl), local);
      const id1 = await first.register(c.subject, c.fullName);
      const check = await serdeWith().checkCompatible(c.subject, c.fullName);
      assert.equal(check.compatible, true, `${c.fullName}: the current schema is compatible with the first version (${check.reason})`);
      assert.notEqual(await serdeWith().register(c.subject, c.fullName), id1, `${c.fullName}: registered as a new version`);
    }
    // A request written by a producer of the first version: the new fields read as null (and so it is unsigned).
    const local = loadLocalSchemas();
    local.set(...parseSchema(readFileSync(join(v1Dir, 'UserDeleted.avsc'), 'utf8')));
    const old = new AvroSerde(createRegistryClient(STACK.registryUrl), local);
    await old.register(cases[0]!.subject, USER_DELETED_FULL_NAME); // looks up the first version's id
    const request = { event_id: '00000000-0000-4000-8000-0000000000aa', user_id: 'u-old', requested_at: Date.UTC(2026, 1, 1), reason: 'TICKET-1', trace_id: null };
    const bytes = old.encode(cases[0]!.subject, USER_DELETED_FULL_NAME, request);
    const codec = await createAggregateCodec(serdeWith(), { input: `${names.inputTopic}-erasure`, output: `${names.aggregatedTopic}-erasure` });
    for (const s of [...Object.values(EVENT_FULL_NAMES)].map((n) => topicRecordSubject(`${names.inputTopic}-erasure`, n))) subjects.push(s);
    subjects.push(topicRecordSubject(`${names.aggregatedTopic}-erasure`, CONTEXT_AGGREGATED));
    assert.deepEqual(await codec.decodeEvent(bytes), { ...request, type: 'UserDeleted', requester: null, signature: null }, 'absent fields are null: an old producer\'s request is unsigned');
  });

  test('a v2 MoodCreated with one added optional field is accepted, and v1 and v2 readers read each other\'s bytes', async () => {
    const s = subject(topicRecordSubject(`${names.inputTopic}-v2`, MOOD));
    const v1 = serdeWith();
    const v2 = serdeWith(moodV2());
    const id1 = await v1.register(s, MOOD);
    const id2 = await v2.register(s, MOOD);
    assert.notEqual(id2, id1, 'v2 is a new schema');

    const v2Bytes = v2.encode(s, MOOD, { ...body(mood), mood_context: 'after a long walk' });
    const readByV1 = await serdeWith().decode(v2Bytes);
    assert.equal(readByV1.schemaId, id2, 'written with v2');
    assert.deepEqual(plain(readByV1.value), body(mood), 'v1 reader: the added field is dropped, the rest intact');

    const v1Bytes = v1.encode(s, MOOD, body(mood));
    const readByV2 = await serdeWith(moodV2()).decode(v1Bytes);
    assert.deepEqual(plain(readByV2.value), { ...body(mood), mood_context: null }, 'v2 reader: the added field takes its default');

    const codec = await createAggregateCodec(serdeWith(), { input: `${names.inputTopic}-v2`, output: names.aggregatedTopic });
    subjects.push(topicRecordSubject(`${names.inputTopic}-v2`, ACTIVITY));
    assert.deepEqual(await codec.decodeEvent(v2Bytes), mood, 'the stage (v1) reads a v2 producer\'s event');
  });

  test('a MoodLevel symbol added by a newer producer reads as `unknown` in the v1 reader, which the stage accepts', async () => {
    const s = subject(topicRecordSubject(`${names.inputTopic}-v3`, MOOD));
    await serdeWith().register(s, MOOD);
    await serdeWith(moodV2()).register(s, MOOD);
    const v3 = serdeWith(moodV3());
    await v3.register(s, MOOD);
    const bytes = v3.encode(s, MOOD, { ...body(mood), level: 'ecstatic', mood_context: null });
    const read = plain<MoodCreated>((await serdeWith().decode(bytes)).value);
    assert.equal(read.level, 'unknown', 'the enum default stands in for the unknown symbol');
    assert.doesNotThrow(() => validateEvent({ ...read, type: 'MoodCreated' }, mood.user_id, mood.occurred_at), 'an unknown level is valid input');
  });

  test('a registration that breaks compatibility (a new required field) is refused with the registry\'s reason', async () => {
    const s = subject(topicRecordSubject(`${names.inputTopic}-bad`, MOOD));
    await serdeWith().register(s, MOOD);
    const bad = moodV1();
    bad.fields.push({ name: 'mood_score', type: 'int' });
    const serde = serdeWith(bad);
    const check = await serde.checkCompatible(s, MOOD);
    assert.equal(check.compatible, false, `checkCompatible reports incompatible (${check.reason})`);
    await assert.rejects(
      serde.register(s, MOOD),
      (err: unknown) => err instanceof AuraError && err.code === 'CONFIG' && /409/.test(err.message) && /incompatible/i.test(err.message) && /mood_score/.test(err.message),
      'register throws CONFIG carrying the registry\'s reason (409, the offending field)',
    );
    const versions = await createRegistryClient(STACK.registryUrl).getAllVersions(s);
    assert.equal(versions.length, 1, 'the subject still holds only v1');
  });

  test('a registration that changes the type of an existing field is refused', async () => {
    const s = subject(topicRecordSubject(`${names.inputTopic}-type`, MOOD));
    await serdeWith().register(s, MOOD);
    const changed = moodV1();
    changed.fields.find((f) => f.name === 'note')!.type = ['null', 'int'];
    const serde = serdeWith(changed);
    assert.equal((await serde.checkCompatible(s, MOOD)).compatible, false, 'checkCompatible reports incompatible');
    await assert.rejects(serde.register(s, MOOD), (err: unknown) => err instanceof AuraError && err.code === 'CONFIG', 'register is refused');
  });

  test('compatibility is transitive: a schema that reads the latest version but not the first is refused, and checkCompatible says so', async () => {
    // Regression: checkCompatible used to ask about `versions/latest` only and said "compatible".
    const s = subject(topicRecordSubject(`${names.inputTopic}-transitive`, MOOD));
    await serdeWith().register(s, MOOD);
    await serdeWith(moodV2()).register(s, MOOD);
    const v3 = moodV2();
    delete v3.fields.find((f) => f.name === 'mood_context')!.default; // reads v2 data, not v1 data
    v3.fields.push({ name: 'energy', type: ['null', 'int'], default: null }); // distinct canonical content
    const serde = serdeWith(v3);
    const check = await serde.checkCompatible(s, MOOD);
    assert.equal(check.compatible, false, `incompatible with version 1 (${check.reason})`);
    assert.match(check.reason, /version 1/, 'the reason names the version it breaks');
    await assert.rejects(serde.register(s, MOOD), (err: unknown) => err instanceof AuraError && err.code === 'CONFIG', 'BACKWARD_TRANSITIVE registration refuses it');
    assert.equal((await serdeWith(moodV3()).checkCompatible(s, MOOD)).compatible, true, 'a compatible v3 is reported compatible');
  });

  test('bytes that name an unknown schema id are UNKNOWN_SCHEMA_ID (an answer, not a transient fault); a wrong magic byte is WRONG_MAGIC_BYTE', async () => {
    const frame = Buffer.alloc(6);
    frame.writeInt32BE(2_000_000_000, 1);
    await assert.rejects(serdeWith().decode(frame), (err: unknown) => err instanceof AuraError && err.code === 'UNKNOWN_SCHEMA_ID' && !err.retriable, 'unknown id');
    const wrong = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x7d, 0x0a]);
    await assert.rejects(serdeWith().decode(wrong), (err: unknown) => err instanceof AuraError && err.code === 'WRONG_MAGIC_BYTE', 'wrong magic byte');
  });
});
