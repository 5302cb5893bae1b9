import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { AuraError } from '../errors.js';
import type { CompiledStackOptions, StackPaths } from './options.js';
import type { JavaRuntime } from './prerequisites.js';
import { runToLog, tailFile } from './process.js';

/** KRaft node id of the single combined broker+controller. */
const NODE_ID = 1;

/** One client listener of a broker on loopback. */
export interface BrokerListener {
  /** Listener name, e.g. PLAINTEXT, INTERNAL, SECURE. */
  readonly name: string;
  readonly port: number;
  readonly protocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
}

/** What differs between one-node brokers: ports, listeners, data folder, extra properties. */
export interface BrokerLayout {
  readonly controllerPort: number;
  /** Client listeners; the first one is also the inter-broker listener. */
  readonly listeners: readonly BrokerListener[];
  readonly dataDir: string;
  /** Appended as `key=value` lines (security settings, authorizer, timeouts). */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * server.properties of a one-node KRaft cluster (combined broker+controller) on loopback. The voter
 * set is static (`controller.quorum.voters`), not stored in the formatted log, so a changed
 * controller port does not strand the data folder.
 */
export function brokerProperties(layout: BrokerLayout): string {
  const { controllerPort, listeners, dataDir } = layout;
  const first = listeners[0];
  if (!first) throw new AuraError('INTERNAL', 'a broker needs at least one client listener');
  const protocols = [['CONTROLLER', 'PLAINTEXT'], ...listeners.map((l) => [l.name, l.protocol])].map(([n, p]) => `${n}:${p}`);
  return [
    '# written by aura-stream; edits are overwritten',
    'process.roles=broker,controller',
    `node.id=${NODE_ID}`,
    `controller.quorum.voters=${NODE_ID}@127.0.0.1:${controllerPort}`,
    `listeners=${[...listeners.map((l) => `${l.name}://127.0.0.1:${l.port}`), `CONTROLLER://127.0.0.1:${controllerPort}`].join(',')}`,
    `advertised.listeners=${listeners.map((l) => `${l.name}://127.0.0.1:${l.port}`).join(',')}`,
    'controller.listener.names=CONTROLLER',
    `inter.broker.listener.name=${first.name}`,
    `listener.security.protocol.map=${protocols.join(',')}`,
    `log.dirs=${dataDir}`,
    // one node: every internal topic has one replica, and one in-sync replica suffices
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    // tests join groups often; no point waiting for more members
    'group.initial.rebalance.delay.ms=0',
    // the app creates its topics with the partition counts it checks
    'auto.create.topics.enable=false',
    'num.partitions=1',
    // a 2-core development machine
    'num.network.threads=2',
    'num.io.threads=4',
    // Keep every record (retention off): workloads carry CreateTimes up to 10 days old, so time-based
    // retention would roll and delete their segments within minutes of being written (the demo's and
    // the tests' input vanishing mid-run). Development data only: `stack down`, then delete kafka/data under the stack folder to clear it.
    'log.retention.ms=-1',
    ...Object.entries(layout.extra ?? {}).map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
}

/** server.properties of the local stack: one PLAINTEXT listener. Rewritten before every start, so a changed port takes effect. */
export function kafkaServerProperties(opts: CompiledStackOptions, paths: StackPaths): string {
  return brokerProperties({
    controllerPort: opts.kafkaControllerPort,
    listeners: [{ name: 'PLAINTEXT', port: opts.kafkaPort, protocol: 'PLAINTEXT' }],
    dataDir: paths.kafkaData,
  });
}

/** log4j2 (Kafka's backend since 4.0): INFO to stdout, which `up` sends to logs/kafka.log. */
const LOG4J2 = [
  'status = warn',
  'appender.out.type = Console',
  'appender.out.name = OUT',
  'appender.out.layout.type = PatternLayout',
  'appender.out.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = INFO',
  'rootLogger.appenderRef.out.ref = OUT',
  'logger.request.name = kafka.request.logger',
  'logger.request.level = WARN',
  'logger.netty.name = io.netty',
  'logger.netty.level = WARN',
  '',
].join('\n');

export function writeKafkaConfig(opts: CompiledStackOptions, paths: StackPaths): void {
  mkdirSync(join(paths.kafkaConfig, '..'), { recursive: true });
  writeFileSync(paths.kafkaConfig, kafkaServerProperties(opts, paths));
  writeFileSync(paths.kafkaLog4j, LOG4J2);
}

/** The log4j2 configuration the stack's broker uses (INFO to stdout). */
export const KAFKA_LOG4J2 = LOG4J2;

/** JVM options and classpath of the broker and its tools (StorageTool): the fetched jars, `log4j2` as the logging config. */
export const kafkaJvmArgs = (paths: { kafkaLibs: string; kafkaLog4j: string }): string[] => [
  '-Xms256m',
  '-Xmx512m',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
  `-Dlog4j2.configurationFile=${paths.kafkaLog4j}`,
  '-cp',
  // a classpath wildcard, expanded by the java launcher, not by a shell
  join(paths.kafkaLibs, '*'),
];
const jvmBase = kafkaJvmArgs;

export function kafkaArgv(java: JavaRuntime, paths: StackPaths): string[] {
  return [java.bin, ...jvmBase(paths), 'kafka.Kafka', paths.kafkaConfig];
}

/**
 * meta.properties, written by the storage format:
 *   version=1 / node.id=<int> / cluster.id=<22-char base64url uuid> / directory.id=<uuid>
 */
function readMeta(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([^#=\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

const RESET_HINT = (paths: StackPaths): string =>
  `the local stack's data is disposable: run \`aura-stream stack down\`, delete ${paths.kafkaData}, and \`stack up\` formats it anew`;

/**
 * Formats the data folder once (KRaft needs a cluster id and bootstrap metadata before the first
 * start); later starts reuse it. A folder that exists but is not a formatted log of this node is
 * refused with the fix, never silently wiped.
 */
export async function ensureKafkaFormatted(java: JavaRuntime, opts: CompiledStackOptions, paths: StackPaths): Promise<{ clusterId: string; formatted: boolean }> {
  const metaPath = join(paths.kafkaData, 'meta.properties');
  if (existsSync(metaPath)) {
    const meta = readMeta(metaPath);
    if (meta['node.id'] !== String(NODE_ID) || !meta['cluster.id'] || meta.version !== '1') {
      throw new AuraError(
        'STACK',
        `${metaPath} does not describe this stack's node (node.id=${meta['node.id'] ?? '?'}, version=${meta.version ?? '?'}, expected node.id=${NODE_ID}, version=1); ${RESET_HINT(paths)}`,
      );
    }
    return { clusterId: meta['cluster.id'], formatted: false };
  }
  if (existsSync(paths.kafkaData) && readdirSync(paths.kafkaData).length > 0) {
    throw new AuraError('STACK', `${paths.kafkaData} holds files but no meta.properties (an interrupted format or a foreign folder); ${RESET_HINT(paths)}`);
  }
  // Kafka's Uuid text form: 16 random bytes, base64url without padding (what `random-uuid` prints).
  const clusterId = randomBytes(16).toString('base64url');
  mkdirSync(paths.logs, { recursive: true });
  const log = join(paths.logs, 'kafka-format.log');
  const code = await runToLog(
    java.bin,
    [...jvmBase(paths), 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', paths.kafkaConfig, '--ignore-formatted'],
    log,
    opts.env,
    opts.timeoutMs,
  );
  if (code !== 0 || !existsSync(metaPath)) {
    throw new AuraError('STACK', `formatting Kafka storage in ${paths.kafkaData} failed (exit ${code}); see ${log}:\n${tailFile(log, 15)}`);
  }
  return { clusterId, formatted: true };
}

/** Words in a Kafka failure that mean the data folder, not the configuration, is at fault. */
const STORAGE_TROUBLE = /meta\.properties|InconsistentClusterIdException|not formatted|No readable meta|CorruptRecordException|KafkaStorageException|InvalidRecordException/i;

/** A reset hint when the failure names the data folder or a storage error; '' otherwise. */
export function kafkaStartHint(paths: StackPaths, logTail: string): string {
  const errors = logTail.split('\n').filter((l) => /ERROR|FATAL|Exception|Caused by/.test(l));
  const storage = errors.some((l) => l.includes(paths.kafkaData) || STORAGE_TROUBLE.test(l));
  return storage ? `\nthe failure names Kafka's data folder (corrupt, or written by an incompatible version): ${RESET_HINT(paths)}` : '';
}

export interface KafkaProbe {
  readonly ok: boolean;
  readonly clusterId?: string;
  readonly brokers?: string[];
  readonly error?: string;
}

/** Ready = a kafkajs admin client gets cluster metadata naming this broker. */
export async function probeKafka(port: number, timeoutMs = 3000): Promise<KafkaProbe> {
  const kafka = new Kafka({
    clientId: 'aura-stack-probe',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 2000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const brokers = cluster.brokers.map((b) => `${b.host}:${b.port}`);
    const ok = brokers.includes(`127.0.0.1:${port}`);
    return { ok, clusterId: cluster.clusterId, brokers, ...(ok ? {} : { error: `metadata names ${brokers.join(', ')}` }) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const INTERNAL_TOPICS = ['__consumer_offsets', '__transaction_state'];

/**
 * A fresh cluster creates `__consumer_offsets` and `__transaction_state` (50 partitions each) on
 * first use and then loads every partition's coordinator. On a busy 2-core machine that took
 * longer than kafkajs 2.2.4's default retries inside `sendOffsets`, and the first transactional
 * commit of a run failed with NOT_COORDINATOR. So, once per start: find a group coordinator and
 * begin/abort a transaction (creating both topics), wait until every partition of both has a
 * leader, and fetch a group's offsets (the coordinator answers only once loaded).
 */
export async function warmUpKafka(port: number, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'aura-stack-warmup', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 12 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeGroups(['aura-stack-warmup']);
    const producer = kafka.producer({ transactionalId: 'aura-stack-warmup', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.abort();
    } finally {
      await producer.disconnect();
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const meta = await admin.fetchTopicMetadata({ topics: INTERNAL_TOPICS }).catch(() => undefined);
      const ready = meta?.topics.length === INTERNAL_TOPICS.length && meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) break;
      if (Date.now() > deadline) throw new AuraError('STACK', `Kafka's internal topics ${INTERNAL_TOPICS.join(', ')} got no leaders within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await admin.fetchOffsets({ groupId: 'aura-stack-warmup', topics: [] });
  } finally {
    await admin.disconnect();
  }
}
