import type { Kafka } from 'kafkajs';
import type { AvroSerde } from '../adapters/avro-serde.js';
import { recordEncoder } from './encode-records.js';
import { generateEvents } from './generate-events.js';
import type { GeneratedRecord } from './records.js';
import { createTally, type GenerationSummary } from './summary.js';
import type { Profile } from './profiles.js';

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
  profile?: Profile;
  onProgress?: (sent: number, total: number) => void;
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
      ...(options.profile !== undefined && { profile: options.profile }),
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
