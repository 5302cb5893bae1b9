// Helpers for integration tests on the real local stack (Kafka + schema registry), not a test file.
// Every test gets fresh topics, group ids and state folder (`uniqueNames`), so tests neither see
// each other's records nor depend on a previous run; stages run as child processes of the real CLI.
import { TEST_ERASURE_KEY } from './erasure-records.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin, Kafka, Message } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createKafka } from '../../src/adapters/kafka/client.js';
import { AvroSerde, createRegistryClient } from '../../src/adapters/avro-serde.js';
import { createAggregateCodec } from '../../src/adapters/codecs.js';
import { prepareTopics } from '../../src/cli/run-aggregate.js';
import { recordEncoder } from '../../src/workload/index.js';
import type { AggregateCodec, SourceRecord } from '../../src/ports.js';
import type { GeneratedRecord } from '../../src/workload/index.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'aura-stream.js');

/** Where the local stack answers (`aura-stream stack up` defaults; overridable like the CLI's). */
export const STACK = {
  brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092',
  registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7',
};

const HINT = 'run `aura-stream stack up` (or `npm test`, which starts it)';

function tcpCheck(hostPort: string, timeoutMs: number): Promise<void> {
  const [host, port] = hostPort.split(':') as [string, string];
  return new Promise((ok, fail) => {
    const socket = connect({ host, port: Number(port) });
    const timer = setTimeout(() => (socket.destroy(), fail(new Error(`no answer from ${hostPort} within ${timeoutMs} ms`))), timeoutMs);
    socket.once('connect', () => (clearTimeout(timer), socket.end(), ok()));
    socket.once('error', (err) => (clearTimeout(timer), fail(err)));
  });
}

let stackChecked: Promise<void> | undefined;

/**
 * Fails (never skips) when Kafka or the registry does not answer: an integration test that passes
 * without its servers proves nothing.
 */
export function requireStack(): Promise<void> {
  stackChecked ??= (async () => {
    const broker = STACK.brokers.split(',')[0]!;
    try {
      await tcpCheck(broker, 3000);
      const kafka = testKafka('stack-check');
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.describeCluster();
      } finally {
        await admin.disconnect();
      }
    } catch (err) {
      throw new Error(`Kafka at ${STACK.brokers} does not answer (${(err as Error).message}): ${HINT}`);
    }
    try {
      const res = await fetch(`${STACK.registryUrl}/subjects`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      throw new Error(`schema registry at ${STACK.registryUrl} does not answer (${(err as Error).message}): ${HINT}`);
    }
  })();
  return stackChecked;
}

/** A kafkajs client for the test process itself (logs at TEST_LOG_LEVEL, default error). */
export function testKafka(clientId: string): Kafka {
  return createKafka({ brokers: STACK.brokers.split(','), clientId, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'error') });
}

export function testSerde(): AvroSerde {
  return new AvroSerde(createRegistryClient(STACK.registryUrl));
}

export interface TestNames {
  applicationId: string;
  inputTopic: string;
  aggregatedTopic: string;
  vectorizedTopic: string;
  erasedTopic: string;
  changelogTopic: string;
  dlqTopic: string;
  groupId: string;
  /** A fresh folder under the OS temp dir: STATE_DIR, plus the child processes' logs. */
  stateDir: string;
  /** The stage's environment (config variables only; `runStage` adds PATH and the like). */
  env: Record<string, string>;
}

/** Fresh application id, topics, group and state folder for one test; `prefix` says which test. */
export function uniqueNames(prefix: string, options: { partitions?: number; guarantee?: 'exactly_once' | 'at_least_once' } = {}): TestNames {
  const id = `t-${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const stateDir = mkdtempSync(join(tmpdir(), `aura-${prefix}-`));
  const names = {
    applicationId: id,
    inputTopic: `${id}.events`,
    aggregatedTopic: `${id}.aggregated`,
    vectorizedTopic: `${id}.vectorized`,
    erasedTopic: `${id}.erased`,
    changelogTopic: `${id}-user-window-changelog`,
    dlqTopic: `${id}.events.dlq`,
    groupId: `${id}-aggregate`,
    stateDir,
  };
  const env: Record<string, string> = {
    KAFKA_BROKERS: STACK.brokers,
    SCHEMA_REGISTRY_URL: STACK.registryUrl,
    APPLICATION_ID: names.applicationId,
    INPUT_TOPIC: names.inputTopic,
    AGGREGATED_TOPIC: names.aggregatedTopic,
    VECTORIZED_TOPIC: names.vectorizedTopic,
    ERASED_TOPIC: names.erasedTopic,
    CHANGELOG_TOPIC: names.changelogTopic,
    DLQ_SUFFIX: '.dlq',
    AGGREGATE_GROUP_ID: names.groupId,
    STATE_DIR: stateDir,
    TOPIC_PARTITIONS: String(options.partitions ?? 3),
    PROCESSING_GUARANTEE: options.guarantee ?? 'exactly_once',
    CREATE_TOPICS: 'true',
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '20000',
    ERASURE_SIGNING_KEY: TEST_ERASURE_KEY,
  };
  return { ...names, env };
}

/** The compiled configuration a stage started with `env` runs with. */
export function configOf(env: Record<string, string>): Config {
  return loadConfig(env);
}

/** Creates the stage's topics as the stage itself would (the changelog copies the input's partitions). */
export async function createStageTopics(kafka: Kafka, env: Record<string, string>): Promise<void> {
  await prepareTopics(kafka, configOf(env));
}

/**
 * Deletes the topics and consumer group of a test's stage (best effort; names are unique, so
 * leftovers harm nobody). Pass the stage's env when it overrides names (DLQ_SUFFIX, INPUT_TOPIC…).
 */
export async function dropTestResources(kafka: Kafka, target: TestNames | Record<string, string>): Promise<void> {
  const config = configOf(typeof target.env === 'object' ? (target as TestNames).env : (target as Record<string, string>));
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = [config.inputTopic, config.aggregatedTopic, config.vectorizedTopic, config.erasedTopic, config.changelogTopic, config.inputDlqTopic, config.aggregatedDlqTopic].filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
    await admin.deleteGroups([config.aggregateGroupId]).catch(() => undefined);
    // Subjects under the test's topic names (TopicNameStrategy and TopicRecordNameStrategy).
    const client = createRegistryClient(config.schemaRegistryUrl);
    const mine = (await client.getAllSubjects()).filter((subject) => topics.some((t) => subject.startsWith(`${t}-`)));
    for (const subject of mine) {
      await client.deleteSubject(subject, false).catch(() => undefined);
      await client.deleteSubject(subject, true).catch(() => undefined);
    }
  } catch {
    // cleanup only
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

// ── Child processes ──────────────────────────────────────────────────────────────────────────────

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface StageProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Port of /metrics, /healthz, /readyz. */
  readonly port: number;
  /** stdout + stderr (JSON log lines) of the child. */
  readonly logFile: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`); returns the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  metrics(): Promise<string>;
  /** Sum of the samples of a metric whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  logLines(): LogLine[];
}

const running = new Set<ChildProcess>();

/** Kills every stage child this test process started and has not seen exit (for `after` hooks). */
export function killAllStages(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.once('exit', killAllStages);

let spawned = 0;

export function readLogLines(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

function logTail(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Parses the Prometheus text format: the sum of `name`'s samples whose labels include `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Starts `aura-stream run <stage>` as a child with `env` (METRICS_PORT forced to 0: the port is read
 * from the child's log), writes its output to a log file in the state folder, and resolves once
 * /readyz answers 200 (joined, restored, broker reachable). Rejects with the log's tail when the
 * child exits or is not ready within `readyTimeoutMs`.
 */
export async function runStage(env: Record<string, string>, stage: 'aggregate' | 'vectorize' | 'all', options: { readyTimeoutMs?: number; label?: string } = {}): Promise<StageProcess> {
  const dir = env.STATE_DIR ?? tmpdir();
  const logFile = join(dir, `${stage}-${options.label ?? ++spawned}.log`);
  const fd = openSync(logFile, 'a');
  // BENCH_STAGE_NODE_ARGS: extra node flags for the stage child (e.g. --cpu-prof), not allowed in NODE_OPTIONS.
  const nodeArgs = (process.env.BENCH_STAGE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'run', stage], {
    cwd: ROOT,
    env: { ...process.env, ...env, METRICS_PORT: '0', AURA_FROM_SOURCE: '1' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      ok({ code, signal });
    });
  });
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (gone = e));

  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  let port: number | undefined;
  for (;;) {
    if (gone) throw new Error(`stage ${stage} exited (${gone.code ?? gone.signal}) before it was ready:\n${logTail(logFile)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`stage ${stage} not ready within ${options.readyTimeoutMs ?? 90_000} ms:\n${logTail(logFile)}`);
    }
    port ??= readLogLines(logFile).find((l) => l.msg === 'serving /metrics, /healthz, /readyz')?.port as number | undefined;
    if (port !== undefined) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
    }
    await sleep(200);
  }
  const readyPort = port!;
  const metrics = async () => (await fetch(`http://127.0.0.1:${readyPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return {
    child,
    pid: child.pid!,
    port: readyPort,
    logFile,
    exited,
    kill: (signal) => void child.kill(signal),
    async stop(timeoutMs = 30_000) {
      if (gone) return gone.code;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return e.code;
    },
    metrics,
    metric: async (name, labels) => metricValue(await metrics(), name, labels),
    logLines: () => readLogLines(logFile),
  };
}

// ── Waiting ──────────────────────────────────────────────────────────────────────────────────────

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `promise`'s value, or `onTimeout` when it has not settled within `ms`. The timer is cleared either
 * way: a bound left pending (`Promise.race([p, sleep(ms)])`) holds the test file's process open
 * until it fires, long after the file's last test.
 */
export async function within<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<U>((ok) => (timer = setTimeout(() => ok(onTimeout), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value other than undefined/false; throws naming `what` on timeout. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs ?? 60_000} ms waiting for ${what}`);
    await sleep(options.intervalMs ?? 250);
  }
}

/** Group and topic offsets through one long-lived admin client (cheap to poll every 100 ms). */
export class OffsetProbe {
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  private async ready(): Promise<Admin> {
    this.connected ??= this.admin.connect();
    await this.connected;
    return this.admin;
  }

  /** Sum over partitions of the group's committed offsets on `topic` (unset partitions count 0). */
  async committed(groupId: string, topic: string): Promise<number> {
    const [t] = await (await this.ready()).fetchOffsets({ groupId, topics: [topic] });
    return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  }

  /** Sum over partitions of the high watermarks of `topic`. */
  async end(topic: string): Promise<number> {
    return (await (await this.ready()).fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  }

  /** Waits until the stage's group has committed every record of its input topic; returns that count. */
  async waitCaughtUp(names: Pick<TestNames, 'groupId' | 'inputTopic'>, timeoutMs = 90_000): Promise<number> {
    const end = await this.end(names.inputTopic);
    return waitFor(`group ${names.groupId} to commit all ${end} input records`, async () => ((await this.committed(names.groupId, names.inputTopic)) >= end ? end : undefined), {
      timeoutMs,
      intervalMs: 200,
    });
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect().catch(() => undefined);
  }
}

/** Waits until the stage's group has committed every record of its input topic. */
export async function waitCaughtUp(kafka: Kafka, names: Pick<TestNames, 'groupId' | 'inputTopic'>, timeoutMs = 90_000): Promise<number> {
  const probe = new OffsetProbe(kafka);
  try {
    return await probe.waitCaughtUp(names, timeoutMs);
  } finally {
    await probe.close();
  }
}

/**
 * The broker's ApiVersions answer (request v0, sent by hand so no client library sits in between):
 * api key → [min, max] version. Kafka 4.0 dropped old versions (KIP-896), e.g. Produce v0–v2, so
 * the minimums tell a 4.x broker from a 3.x one.
 *   request  := size:int32 api_key:int16(18) api_version:int16(0) correlation_id:int32 client_id:string16
 *   response := size:int32 correlation_id:int32 error_code:int16 [api_key:int16 min:int16 max:int16]:array32
 */
export async function brokerApiVersions(hostPort = STACK.brokers.split(',')[0]!): Promise<Map<number, [number, number]>> {
  const [host, port] = hostPort.split(':') as [string, string];
  const clientId = Buffer.from('aura-test');
  const req = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  req.writeInt32BE(req.length - 4, 0);
  req.writeInt16BE(18, 4);
  req.writeInt16BE(0, 6);
  req.writeInt32BE(7, 8);
  req.writeInt16BE(clientId.length, 12);
  clientId.copy(req, 14);
  const res = await new Promise<Buffer>((ok, fail) => {
    const socket = connect({ host, port: Number(port) }, () => socket.write(req));
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => (socket.destroy(), fail(new Error('no ApiVersions answer within 5 s'))), 5000);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        clearTimeout(timer);
        socket.end();
        ok(buf.subarray(4, 4 + buf.readInt32BE(0)));
      }
    });
    socket.on('error', (err) => (clearTimeout(timer), fail(err)));
  });
  if (res.readInt32BE(0) !== 7) throw new Error('ApiVersions: wrong correlation id');
  const error = res.readInt16BE(4);
  if (error !== 0) throw new Error(`ApiVersions error code ${error}`);
  const versions = new Map<number, [number, number]>();
  const n = res.readInt32BE(6);
  for (let i = 0; i < n; i++) {
    const at = 10 + i * 6;
    versions.set(res.readInt16BE(at), [res.readInt16BE(at + 2), res.readInt16BE(at + 4)]);
  }
  return versions;
}

// ── Reading and writing topics ───────────────────────────────────────────────────────────────────

/**
 * Every record of `topic` from the beginning to the end seen at the call (high watermark per
 * partition), in partition then offset order, through a throwaway consumer group. With
 * `readCommitted` (the default) records of aborted transactions are skipped; the transaction
 * markers still count towards the end. Needs no open transaction on the topic (stop writers first).
 */
export async function readTopic(kafka: Kafka, topic: string, options: { readCommitted?: boolean; timeoutMs?: number } = {}): Promise<SourceRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `test-read-${randomUUID()}`;
  const out: SourceRecord[] = [];
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
    if (ends.size === 0) return [];
    const consumer = kafka.consumer({ groupId, readUncommitted: options.readCommitted === false, allowAutoTopicCreation: false, maxBytesPerPartition: 4 * 1_048_576 });
    const position = new Map<number, bigint>();
    try {
      await new Promise<void>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`reading ${topic} did not reach its end within ${options.timeoutMs ?? 60_000} ms`)), options.timeoutMs ?? 60_000);
        const check = () => {
          if ([...ends].every(([p, end]) => (position.get(p) ?? 0n) >= end)) {
            clearTimeout(timer);
            ok();
          }
        };
        consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
          const next = BigInt(e.payload.lastOffset) + 1n;
          if (next > (position.get(e.payload.partition) ?? 0n)) position.set(e.payload.partition, next);
          check();
        });
        consumer.on(consumer.events.CRASH, (e) => (clearTimeout(timer), fail(e.payload.error)));
        void consumer
          .connect()
          .then(() => consumer.subscribe({ topics: [topic], fromBeginning: true }))
          .then(() =>
            consumer.run({
              autoCommit: false,
              eachBatch: async ({ batch }) => {
                const end = ends.get(batch.partition) ?? 0n;
                for (const m of batch.messages) {
                  if (BigInt(m.offset) >= end) continue;
                  const headers: Record<string, Buffer | undefined> = {};
                  for (const [k, v] of Object.entries(m.headers ?? {})) {
                    const one = Array.isArray(v) ? v[v.length - 1] : v;
                    headers[k] = one === undefined ? undefined : Buffer.isBuffer(one) ? one : Buffer.from(String(one));
                  }
                  out.push({ topic, partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value ?? null, headers });
                }
              },
            }),
          )
          .catch((err: unknown) => (clearTimeout(timer), fail(err as Error)));
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  // A batch may be fetched twice around a rebalance of the throwaway group: keep one copy per offset.
  const unique = new Map(out.map((r) => [`${r.partition}:${r.offset}`, r]));
  return [...unique.values()].sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/**
 * Sends generated records in generation order (encoded as `aura-stream produce` encodes them),
 * in chunks of `chunk`; `rate` (records/s, 0 = unthrottled) spreads them over time. `headers` are
 * added to every record.
 */
export async function produceGenerated(
  kafka: Kafka,
  serde: AvroSerde,
  topic: string,
  records: Iterable<GeneratedRecord>,
  options: { rate?: number; chunk?: number; headers?: (r: GeneratedRecord) => Record<string, string>; partition?: (r: GeneratedRecord) => number | undefined } = {},
): Promise<number> {
  const encode = await recordEncoder(serde, topic);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const started = Date.now();
  const size = options.chunk ?? 500;
  let sent = 0;
  let pending: Message[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await producer.send({ topic, acks: -1, messages: pending });
    sent += pending.length;
    pending = [];
    if (options.rate) {
      const wait = started + (sent / options.rate) * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
    }
  };
  try {
    for (const r of records) {
      const m = encode(r);
      if (options.headers) m.headers = { ...(m.headers ?? {}), ...options.headers(r) };
      const partition = options.partition?.(r);
      if (partition !== undefined) m.partition = partition;
      pending.push(m);
      if (pending.length >= size) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return sent;
}

// ── Decoding outputs ─────────────────────────────────────────────────────────────────────────────

/** The stage's own codec on the real registry (decodes input events exactly as the stage does). */
export function stageCodec(serde: AvroSerde, names: Pick<TestNames, 'inputTopic' | 'aggregatedTopic'>): Promise<AggregateCodec> {
  return createAggregateCodec(serde, { input: names.inputTopic, output: names.aggregatedTopic });
}

/** Removes a folder (a stage's STATE_DIR, or the whole test folder). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs a one-shot CLI command (`produce`, …) as a child process to its end; bounded by `timeoutMs`. */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 180_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env, AURA_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
  clearTimeout(timer);
  running.delete(child);
  return { code, stdout, stderr };
}
