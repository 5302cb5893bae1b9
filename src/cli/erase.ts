import { randomBytes, randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Admin, Kafka } from 'kafkajs';
import { loadConfig, type Config } from '../config.js';
import { kafkaError } from '../adapters/kafka/errors.js';
import { AuraError } from '../errors.js';
import { createLogger } from '../logger.js';
import { AvroSerde, createRegistryClient, registryAuth, topicRecordSubject } from '../adapters/avro-serde.js';
import { createKafka, kafkaConnection } from '../adapters/kafka/client.js';
import { ERASURE_COMPLETED_FULL_NAME, USER_DELETED_FULL_NAME, signErasure, type ErasureCompleted, type UserDeleted } from '../contracts/erasure.js';
import { prepareInputTopic } from './run-aggregate.js';

/**
 * `aura-stream erase --user U`: one UserDeleted on the user-events topic (docs/ARCHITECTURE.md §6).
 * The aggregate stage drops the window and forwards a ContextErased marker; the vectorize stage
 * deletes the points and cache entries and confirms with an ErasureCompleted on ERASED_TOPIC,
 * which `--wait` waits for.
 */

export interface EraseOptions {
  user: string;
  /** Audit text (a ticket id), never personal data; default none. */
  reason?: string;
  /** Who asks, for the audit trail (signed); default the operating-system user running `erase`. */
  requester?: string;
  /** Wait for the vectorize stage's ErasureCompleted; default false. */
  wait: boolean;
  /** How long `wait` waits, ms; default 120000. */
  timeoutMs: number;
  /** Called once the request is on the topic (before waiting). */
  onProduced?: (erasure: Erasure) => void;
}

export interface Erasure {
  erasureId: string;
  userId: string;
  topic: string;
  partition: number;
  offset: string;
  /** Set with `wait`: the confirmation and where it was read. */
  completed?: ErasureCompleted & { partition: number; offset: string };
}

/** The user id as the key of the user's records, or a CONFIG error saying how to pass it. */
export function validUserId(user: string | undefined): string {
  if (user === undefined || user.trim() === '') {
    throw new AuraError('CONFIG', 'the user id is empty: pass the id the user\'s events are keyed by, e.g. aura-stream erase --user u-0042');
  }
  if (user !== user.trim()) {
    throw new AuraError('CONFIG', `the user id ${JSON.stringify(user)} has leading or trailing white space: a user id is the exact record key, pass it without`);
  }
  return user;
}

/** Who runs `erase` when `--requester` is not given: the operating-system user. */
export function defaultRequester(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The ERASURE_SIGNING_KEY `erase` signs with, or a CONFIG error saying where it comes from. */
export function signingKey(config: Pick<Config, 'erasureSigningKey'>): string {
  if (config.erasureSigningKey === undefined) {
    throw new AuraError('CONFIG', 'ERASURE_SIGNING_KEY is not set: `erase` signs each request with the key the aggregate stage verifies, and an unsigned request erases nothing. Set ERASURE_SIGNING_KEY or ERASURE_SIGNING_KEY_FILE to the same key as the stage (docs/erasure.md)');
  }
  return config.erasureSigningKey;
}

/** The UserDeleted record of one request: a fresh erasure id, requested now, signed with `key`. */
export function userDeleted(userId: string, reason: string | undefined, key: string, now = Date.now(), requester: string = defaultRequester()): UserDeleted {
  const unsigned = {
    event_id: randomUUID(),
    user_id: userId,
    requested_at: now,
    reason: reason === undefined || reason.trim() === '' ? null : reason,
    requester: requester.trim() === '' ? null : requester.trim(),
  };
  return { type: 'UserDeleted', ...unsigned, trace_id: randomBytes(16).toString('hex'), signature: signErasure(unsigned, key) };
}

/** The TIMEOUT of `--wait`: what to check, naming metrics the stages export (a unit test holds it to src/metrics.ts). */
export function confirmationTimeout(erasureId: string, topic: string, timeoutMs: number): AuraError {
  return new AuraError(
    'TIMEOUT',
    `no ErasureCompleted for erasure ${erasureId} on ${topic} within ${timeoutMs} ms. The request is on the user-events topic and will be processed when the stages run: ` +
      'check that `aura-stream run aggregate` and `aura-stream run vectorize` are running with this configuration (same INPUT_TOPIC, AGGREGATED_TOPIC, ERASED_TOPIC), ' +
      'that they are not lagging (aura_consumer_lag_records) or failing (logs, aura_dlq_records_total), then wait again or search with --user',
  );
}

/** Next offset per partition of `topic` now; undefined when the topic does not exist yet. */
async function endOffsets(admin: Admin, topic: string): Promise<Map<number, string> | undefined> {
  if (!(await admin.listTopics()).includes(topic)) return undefined;
  return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
}

/**
 * The first ErasureCompleted with `erasureId` on `topic` at or after `from` (the ends read before
 * the request was produced), read by a throwaway consumer group `<groupPrefix><erasure id>` that
 * starts there (and is deleted after); a TIMEOUT error
 * naming what to check when none arrives within `timeoutMs`.
 */
async function waitForConfirmation(kafka: Kafka, serde: AvroSerde, admin: Admin, groupPrefix: string, topic: string, erasureId: string, from: Map<number, string> | undefined, timeoutMs: number): Promise<NonNullable<Erasure['completed']>> {
  const deadline = Date.now() + timeoutMs;
  const timeout = () => confirmationTimeout(erasureId, topic, timeoutMs);
  let start = from;
  // A topic created after the request was produced holds only later records: read it from its start.
  while (!start) {
    if (Date.now() > deadline) throw timeout();
    await new Promise((r) => setTimeout(r, 500));
    start = (await endOffsets(admin, topic)) && new Map();
  }
  const startAt = start;
  const groupId = `${groupPrefix}${erasureId}`;
  // The group starts at the ends read before producing (partitions without an offset: their start).
  if (startAt.size > 0) await admin.setOffsets({ groupId, topic, partitions: [...startAt].map(([partition, offset]) => ({ partition, offset })) });
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 10_000 });
  try {
    return await new Promise<NonNullable<Erasure['completed']>>((resolve, reject) => {
      const timer = setTimeout(() => reject(timeout()), Math.max(0, deadline - Date.now()));
      consumer.on(consumer.events.CRASH, (e) => (clearTimeout(timer), reject(kafkaError(e.payload.error))));
      void consumer
        .connect()
        .then(() => consumer.subscribe({ topics: [topic], fromBeginning: true }))
        .then(() =>
          consumer.run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (BigInt(message.offset) < BigInt(startAt.get(partition) ?? '0')) return;
              // Other record types (a newer producer's) and undecodable values are not the answer.
              const decoded = await serde.decode(message.value).catch(() => undefined);
              if (decoded?.fullName !== ERASURE_COMPLETED_FULL_NAME || decoded.value['erasure_id'] !== erasureId) return;
              clearTimeout(timer);
              resolve({ ...(decoded.value as unknown as ErasureCompleted), partition, offset: message.offset });
            },
          }),
        )
        .catch((err: unknown) => (clearTimeout(timer), reject(kafkaError(err))));
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/** Produces the UserDeleted (idempotent producer, acks=all) and, with `wait`, waits for its confirmation. */
export async function erase(options: EraseOptions, config: Config = loadConfig()): Promise<Erasure> {
  const userId = validUserId(options.user);
  const key = signingKey(config);
  const logger = createLogger(config.logLevel);
  const kafka = createKafka({ ...kafkaConnection(config), clientId: `${config.applicationId}-erase`, logger });
  await prepareInputTopic(kafka, config);
  const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)), undefined, { register: config.registerSchemas });
  const subject = topicRecordSubject(config.inputTopic, USER_DELETED_FULL_NAME);
  await serde.register(subject, USER_DELETED_FULL_NAME);

  const admin = kafka.admin();
  await admin.connect();
  try {
    const from = options.wait ? await endOffsets(admin, config.erasedTopic) : undefined;
    const { type: _type, ...body } = userDeleted(userId, options.reason, key, Date.now(), options.requester);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    let sent;
    try {
      [sent] = await producer.send({
        topic: config.inputTopic,
        acks: -1,
        messages: [{ key: userId, value: serde.encode(subject, USER_DELETED_FULL_NAME, body), headers: { trace_id: body.trace_id! } }],
      });
    } finally {
      await producer.disconnect();
    }
    if (!sent?.baseOffset) throw new AuraError('INTERNAL', `the broker acknowledged the UserDeleted on ${config.inputTopic} without an offset`);
    const erasure: Erasure = { erasureId: body.event_id, userId, topic: config.inputTopic, partition: sent.partition, offset: sent.baseOffset };
    options.onProduced?.(erasure);
    if (!options.wait) return erasure;
    return { ...erasure, completed: await waitForConfirmation(kafka, serde, admin, `${config.applicationId}-erase-`, config.erasedTopic, erasure.erasureId, from, options.timeoutMs) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** What `erase` prints: the request, then (with `--wait`) the confirmation. */
export function formatErasure(e: Erasure): string[] {
  const lines = [`erasure ${e.erasureId} of user ${e.userId}: UserDeleted at ${e.topic} partition ${e.partition} offset ${e.offset}`];
  const c = e.completed;
  if (c) {
    lines.push(`confirmed by the vectorize stage: store ${c.store} (collection ${c.collection}), ${c.points_deleted} point(s) deleted, ${c.cache_entries_deleted} embedding-cache entr${c.cache_entries_deleted === 1 ? 'y' : 'ies'} deleted`);
  }
  return lines;
}
