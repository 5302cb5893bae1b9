import { CONTEXT_ERASED_FULL_NAME, ERASURE_COMPLETED_FULL_NAME, USER_DELETED_FULL_NAME, type ContextErased, type UserDeleted } from '../contracts/erasure.js';
import { EVENT_FULL_NAMES, type UserEvent, type UserEventType, type UserRecord } from '../contracts/events.js';
import type { ContextAggregated } from '../contracts/snapshot.js';
import type { ActivityEntry, MoodEntry, UserWindow, WindowEntry } from '../contracts/window.js';
import { AuraError } from '../errors.js';
import type { AggregateCodec, VectorizeCodec } from '../ports.js';
import { topicRecordSubject, topicSubject, type AvroSerde } from './avro-serde.js';

export const CONTEXT_AGGREGATED = 'aura360.context.ContextAggregated';
export const CONTEXT_VECTORIZED = 'aura360.context.ContextVectorized';
export const CONTEXT_ERASED = CONTEXT_ERASED_FULL_NAME;
const TYPE_BY_FULL_NAME = new Map<string, UserEventType>(Object.entries(EVENT_FULL_NAMES).map(([t, n]) => [n, t as UserEventType]));

/** Avro records are instances of generated classes: copy into plain objects (deep for nested records). */
function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Changelog value grammar (UTF-8 JSON). Key: user_id (UTF-8). A null value (tombstone) deletes the
 * user's state. The same bytes are the LMDB value, so a restore copies them without decoding.
 *
 * Version 2 (written): {"v":2,"u":user_id,"e":end,"w":[entry,...]}, entries sorted by
 * (occurred_at, seq), each a positional array (field names are not repeated per entry, which
 * halves a window's size):
 *   mood:     [0, event_id, occurred_at, seq, level, [tags...], note | null]
 *   activity: [1, event_id, occurred_at, seq, activity_type, intensity, duration_minutes, notes | null]
 * Version 1 (still read): {"v":1,"window":UserWindow}.
 */
export function encodeEntry(e: WindowEntry): string {
  return e.kind === 'mood'
    ? JSON.stringify([0, e.event_id, e.occurred_at, e.seq, e.level, e.tags, e.note])
    : JSON.stringify([1, e.event_id, e.occurred_at, e.seq, e.activity_type, e.intensity, e.duration_minutes, e.notes]);
}

/** A window from its already encoded entries (see `encodeEntry`). */
export function encodeWindowParts(userId: string, end: number, entries: readonly string[]): Buffer {
  return Buffer.from(`{"v":2,"u":${JSON.stringify(userId)},"e":${JSON.stringify(end)},"w":[${entries.join(',')}]}`);
}

export function encodeWindow(window: UserWindow): Buffer {
  return encodeWindowParts(window.user_id, window.end, window.entries.map(encodeEntry));
}

type EncodedEntry = [0, string, number, number, MoodEntry['level'], string[], string | null] | [1, string, number, number, ActivityEntry['activity_type'], ActivityEntry['intensity'], number, string | null];

/**
 * The window end (`e`) of an encoded window, read from the value's head without decoding its
 * entries (version 2 writes `{"v":2,"u":…,"e":…` first); other layouts are decoded whole.
 * Throws UNDECODABLE like `decodeWindow`.
 */
export function windowEndOf(value: Buffer): number {
  const head = /^\{"v":2,"u":"(?:[^"\\]|\\.)*","e":(-?\d+)[,}]/.exec(value.toString('utf8', 0, Math.min(value.length, 1024)));
  return head ? Number(head[1]) : decodeWindow(value).end;
}

export function decodeWindow(value: Buffer): UserWindow {
  let parsed: { v?: number; window?: UserWindow; u?: string; e?: number; w?: EncodedEntry[] };
  try {
    parsed = JSON.parse(value.toString('utf8')) as typeof parsed;
  } catch (err) {
    throw new AuraError('UNDECODABLE', `changelog record is not JSON: ${(err as Error).message}`);
  }
  if (parsed.v === 1 && parsed.window) return parsed.window;
  if (parsed.v !== 2 || typeof parsed.u !== 'string' || typeof parsed.e !== 'number' || !Array.isArray(parsed.w)) {
    throw new AuraError('UNDECODABLE', `changelog record of unknown version ${String(parsed.v)}`);
  }
  return {
    user_id: parsed.u,
    end: parsed.e,
    entries: parsed.w.map((x): WindowEntry =>
      x[0] === 0
        ? { kind: 'mood', event_id: x[1], occurred_at: x[2], seq: x[3], level: x[4], tags: x[5], note: x[6] }
        : { kind: 'activity', event_id: x[1], occurred_at: x[2], seq: x[3], activity_type: x[4], intensity: x[5], duration_minutes: x[6], notes: x[7] },
    ),
  };
}

/**
 * Subjects of the aggregate stage's topics, all TopicRecordNameStrategy (`<topic>-<full name>`):
 * the user-events topic carries MoodCreated, ActivityCreated and UserDeleted; the aggregated topic
 * ContextAggregated and ContextErased.
 */
export function aggregateSubjects(topics: { input: string; output: string }): Array<{ subject: string; fullName: string }> {
  return [
    ...[...Object.values(EVENT_FULL_NAMES), USER_DELETED_FULL_NAME].map((fullName) => ({ subject: topicRecordSubject(topics.input, fullName), fullName })),
    ...[CONTEXT_AGGREGATED, CONTEXT_ERASED].map((fullName) => ({ subject: topicRecordSubject(topics.output, fullName), fullName })),
  ];
}

/** Registers the schemas the aggregate stage reads and writes; returns its codec. */
export async function createAggregateCodec(serde: AvroSerde, topics: { input: string; output: string }): Promise<AggregateCodec> {
  for (const { subject, fullName } of aggregateSubjects(topics)) await serde.register(subject, fullName);
  const snapshotSubject = topicRecordSubject(topics.output, CONTEXT_AGGREGATED);
  const erasedSubject = topicRecordSubject(topics.output, CONTEXT_ERASED);
  return {
    async decodeEvent(value): Promise<UserRecord> {
      const decoded = await serde.decode(value);
      if (decoded.fullName === USER_DELETED_FULL_NAME) {
        // Written before `requester` / `signature` existed: absent means null (the schema's defaults).
        const d = plain<Omit<UserDeleted, 'type'>>(decoded.value);
        return { ...d, requester: d.requester ?? null, signature: d.signature ?? null, type: 'UserDeleted' };
      }
      const type = TYPE_BY_FULL_NAME.get(decoded.fullName);
      if (!type) throw new AuraError('UNKNOWN_RECORD_TYPE', `record type ${decoded.fullName} is not a user record this stage reads`);
      return { ...plain<Omit<UserEvent, 'type'>>(decoded.value), type } as UserEvent;
    },
    encodeSnapshot: (snapshot) => serde.encode(snapshotSubject, CONTEXT_AGGREGATED, snapshot),
    encodeErased: (marker) => serde.encode(erasedSubject, CONTEXT_ERASED, marker),
    encodeWindow,
    decodeWindow,
    encodeEntry,
    encodeWindowParts,
  };
}

/**
 * Registers the schemas the vectorize stage reads and writes; returns its codec. The aggregated
 * topic carries two record types (TopicRecordNameStrategy): `<input>-aura360.context.ContextAggregated`
 * and `<input>-aura360.context.ContextErased`. The erasure confirmations go to `erased`
 * (TopicNameStrategy, `<erased>-value`).
 */
export async function createVectorizeCodec(serde: AvroSerde, topics: { input: string; output: string; erased: string }): Promise<VectorizeCodec> {
  for (const fullName of [CONTEXT_AGGREGATED, CONTEXT_ERASED_FULL_NAME]) await serde.register(topicRecordSubject(topics.input, fullName), fullName);
  const outSubject = topicSubject(topics.output);
  await serde.register(outSubject, CONTEXT_VECTORIZED);
  const erasedSubject = topicSubject(topics.erased);
  await serde.register(erasedSubject, ERASURE_COMPLETED_FULL_NAME);
  return {
    async decodeAggregated(value) {
      const decoded = await serde.decode(value);
      if (decoded.fullName === CONTEXT_AGGREGATED) return { kind: 'snapshot', snapshot: plain<ContextAggregated>(decoded.value) };
      if (decoded.fullName === CONTEXT_ERASED_FULL_NAME) {
        // A marker written before `requester` / `reason` existed: absent means null (the schema's defaults).
        const erasure = plain<ContextErased>(decoded.value);
        return { kind: 'erasure', erasure: { ...erasure, requester: erasure.requester ?? null, reason: erasure.reason ?? null } };
      }
      throw new AuraError('UNKNOWN_RECORD_TYPE', `record type ${decoded.fullName} is neither a ContextAggregated nor a ContextErased`);
    },
    encodeVectorized: (record) => serde.encode(outSubject, CONTEXT_VECTORIZED, record),
    encodeErasureCompleted: (record) => serde.encode(erasedSubject, ERASURE_COMPLETED_FULL_NAME, record),
  };
}
