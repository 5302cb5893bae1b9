import { EVENT_FULL_NAMES, type UserEvent, type UserEventType } from '../contracts/events.js';
import type { ContextAggregated } from '../contracts/snapshot.js';
import type { UserWindow } from '../contracts/window.js';
import { AuraError } from '../errors.js';
import type { AggregateCodec, VectorizeCodec } from '../ports.js';
import { topicRecordSubject, topicSubject, type AvroSerde } from './avro-serde.js';

export const CONTEXT_AGGREGATED = 'aura360.context.ContextAggregated';
export const CONTEXT_VECTORIZED = 'aura360.context.ContextVectorized';
const TYPE_BY_FULL_NAME = new Map<string, UserEventType>(Object.entries(EVENT_FULL_NAMES).map(([t, n]) => [n, t as UserEventType]));

/** Avro records are instances of generated classes: copy into plain objects (deep for nested records). */
function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Changelog value grammar (UTF-8 JSON): {"v":1,"window":UserWindow}. Key: user_id (UTF-8).
 * A null value (tombstone) deletes the user's state.
 */
export function encodeWindow(window: UserWindow): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, window }));
}

export function decodeWindow(value: Buffer): UserWindow {
  const parsed = JSON.parse(value.toString('utf8')) as { v?: number; window?: UserWindow };
  if (parsed.v !== 1 || !parsed.window) throw new AuraError('UNDECODABLE', `changelog record of unknown version ${String(parsed.v)}`);
  return parsed.window;
}

/** Registers the schemas the aggregate stage reads and writes; returns its codec. */
export async function createAggregateCodec(serde: AvroSerde, topics: { input: string; output: string }): Promise<AggregateCodec> {
  for (const fullName of Object.values(EVENT_FULL_NAMES)) await serde.register(topicRecordSubject(topics.input, fullName), fullName);
  const outSubject = topicSubject(topics.output);
  await serde.register(outSubject, CONTEXT_AGGREGATED);
  return {
    async decodeEvent(value) {
      const decoded = await serde.decode(value);
      const type = TYPE_BY_FULL_NAME.get(decoded.fullName);
      if (!type) throw new AuraError('UNKNOWN_RECORD_TYPE', `record type ${decoded.fullName} is not a user event this stage reads`);
      return { ...plain<Omit<UserEvent, 'type'>>(decoded.value), type } as UserEvent;
    },
    encodeSnapshot: (snapshot) => serde.encode(outSubject, CONTEXT_AGGREGATED, snapshot),
    encodeWindow,
    decodeWindow,
  };
}

/** Registers the schemas the vectorize stage reads and writes; returns its codec. */
export async function createVectorizeCodec(serde: AvroSerde, topics: { input: string; output: string }): Promise<VectorizeCodec> {
  await serde.register(topicSubject(topics.input), CONTEXT_AGGREGATED);
  const outSubject = topicSubject(topics.output);
  await serde.register(outSubject, CONTEXT_VECTORIZED);
  return {
    async decodeSnapshot(value) {
      const decoded = await serde.decode(value);
      if (decoded.fullName !== CONTEXT_AGGREGATED) throw new AuraError('UNKNOWN_RECORD_TYPE', `record type ${decoded.fullName} is not a ContextAggregated`);
      return plain<ContextAggregated>(decoded.value);
    },
    encodeVectorized: (record) => serde.encode(outSubject, CONTEXT_VECTORIZED, record),
  };
}
