import type { Kafka, Message } from 'kafkajs';
import { EVENT_FULL_NAMES, type UserEvent } from '../contracts/events.js';
import { parseSchema, topicRecordSubject, type AvroSerde } from '../adapters/avro-serde.js';
import { createTally, generateEvents, type GeneratedRecord, type GenerationSummary } from '../stages/index.js';

/**
 * A record type no stage reads, registered by `produce` so that an "unknown record type" poison is
 * a real, registered schema on the topic (as a newer producer would send).
 */
const FOREIGN_SCHEMA = JSON.stringify({
  type: 'record',
  name: 'SleepLogged',
  namespace: 'aura360.events',
  fields: [
    { name: 'event_id', type: 'string' },
    { name: 'user_id', type: 'string' },
    { name: 'hours', type: 'double' },
  ],
});

export interface ProduceOptions {
  topic: string;
  seed: number | string;
  users: number;
  events: number;
  /** Records per second; 0 = as fast as the broker takes them. */
  rate: number;
  startMs: number;
  lateFraction?: number;
  duplicateFraction?: number;
  poisonFraction?: number;
  windowDays?: number;
  maxEvents?: number;
  onProgress?: (sent: number, total: number) => void;
}

/** Registers the event schemas (and the foreign one) and returns an encoder for generated records. */
export async function recordEncoder(serde: AvroSerde, topic: string): Promise<(r: GeneratedRecord) => Message> {
  for (const fullName of Object.values(EVENT_FULL_NAMES)) await serde.register(topicRecordSubject(topic, fullName), fullName);
  const [foreignName, foreign] = parseSchema(FOREIGN_SCHEMA);
  serde.local.set(foreignName, foreign);
  await serde.register(topicRecordSubject(topic, foreignName), foreignName);

  const encodeEvent = (event: UserEvent): Buffer => {
    const fullName = EVENT_FULL_NAMES[event.type];
    const { type: _type, ...body } = event;
    return serde.encode(topicRecordSubject(topic, fullName), fullName, body);
  };
  const moodSubject = topicRecordSubject(topic, EVENT_FULL_NAMES.MoodCreated);
  return (r) => {
    let value: Buffer;
    switch (r.poisonKind) {
      case 'wrong-magic-byte':
        value = Buffer.concat([Buffer.from([0x7f]), Buffer.from(JSON.stringify({ user_id: r.key, note: 'schema-less JSON from an old producer' }))]);
        break;
      case 'unknown-schema-id': {
        const header = Buffer.alloc(5);
        header.writeInt32BE(2_000_000_000 - r.index, 1);
        value = Buffer.concat([header, Buffer.from('00', 'hex')]);
        break;
      }
      case 'undecodable': {
        // A real MoodCreated header followed by bytes that are not a MoodCreated body.
        const valid = serde.encode(moodSubject, EVENT_FULL_NAMES.MoodCreated, {
          event_id: '00000000-0000-4000-8000-000000000000', user_id: r.key ?? '', occurred_at: r.timestampMs, trace_id: null, source: null,
          mood_id: 'x', level: 'good', recorded_at: r.timestampMs, note: null, tags: [],
        });
        value = Buffer.concat([valid.subarray(0, 5), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]);
        break;
      }
      case 'unknown-record-type':
        value = serde.encode(topicRecordSubject(topic, foreignName), foreignName, { event_id: `foreign-${r.index}`, user_id: r.key ?? '', hours: 7.5 });
        break;
      default:
        if (!r.event) throw new Error(`generated record ${r.index} (${r.class}) has no event`);
        value = encodeEvent(r.event);
    }
    const headers: Record<string, string> = { 'aura.generator.class': r.class };
    if (r.poisonKind) headers['aura.generator.poison'] = r.poisonKind;
    if (r.event?.trace_id) headers['trace_id'] = r.event.trace_id;
    return { key: r.key, value, timestamp: String(r.timestampMs), headers };
  };
}

/** Generates and sends a seeded workload; returns what was sent, by class. */
export async function produceWorkload(kafka: Kafka, serde: AvroSerde, options: ProduceOptions): Promise<GenerationSummary> {
  const encode = await recordEncoder(serde, options.topic);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const tally = createTally();
  const started = Date.now();
  let sent = 0;
  let pending: GeneratedRecord[] = [];
  const chunk = options.rate > 0 ? Math.max(1, Math.min(500, Math.ceil(options.rate / 10))) : 500;
  const flush = async () => {
    if (pending.length === 0) return;
    await producer.send({ topic: options.topic, acks: -1, messages: pending.map(encode) });
    for (const r of pending) tally.add(r);
    sent += pending.length;
    pending = [];
    options.onProgress?.(sent, options.events);
    if (options.rate > 0) {
      const due = started + (sent / options.rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  try {
    for (const record of generateEvents({
      seed: options.seed,
      users: options.users,
      events: options.events,
      startMs: options.startMs,
      ...(options.lateFraction !== undefined && { lateFraction: options.lateFraction }),
      ...(options.duplicateFraction !== undefined && { duplicateFraction: options.duplicateFraction }),
      ...(options.poisonFraction !== undefined && { poisonFraction: options.poisonFraction }),
      ...(options.windowDays !== undefined && { windowDays: options.windowDays }),
      ...(options.maxEvents !== undefined && { maxEvents: options.maxEvents }),
    })) {
      pending.push(record);
      if (pending.length >= chunk) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return tally.summary();
}
