import type { Message } from 'kafkajs';
import { EVENT_FULL_NAMES, type UserEvent } from '../contracts/events.js';
import { parseSchema, topicRecordSubject, type AvroSerde } from '../adapters/avro-serde.js';
import type { GeneratedRecord } from './records.js';

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

/**
 * Registers the event schemas (and the foreign one) under `topic`'s subjects and returns the wire
 * encoder of generated records: valid, late, duplicate and semantic poison as their real Avro
 * bytes, and the wire poison kinds (WIRE_POISON_KINDS) as the malformed bytes they stand for.
 */
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
