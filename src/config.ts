import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuraError } from './errors.js';
import { findProjectRoot } from './stack/options.js';
import { MODEL_ID, MODEL_IDS } from './stack/model.js';

/**
 * Configuration: environment variables (or their `_FILE` twins) → `CONFIG_SPECS`, one row per
 * variable with its default and parser → `Parsed` → `Config` (`loadConfig`: derived names such as
 * the changelog topic and the group ids filled in). Validated once at start-up; an error names the
 * variable, the value and what is accepted.
 * Every variable documents its default here; `aura-stream config` prints this table.
 */
type Parser<T> = (raw: string, name: string) => T;

/**
 * `file`: the variable has a `<NAME>_FILE` twin naming a file that holds the value (a mounted
 * Secret or ConfigMap); setting both is an error. `secret`: the value is never echoed in an error
 * message and its config key is redacted from logs (src/logger.ts).
 */
interface Spec<T> {
  env: string;
  default: string | undefined;
  doc: string;
  parse: Parser<T>;
  file?: boolean;
  secret?: boolean;
}

function spec<T>(env: string, dflt: string | undefined, doc: string, parse: Parser<T>, flags: { file?: boolean; secret?: boolean } = {}): Spec<T> {
  return { env, default: dflt, doc, parse, ...flags };
}
/** A secret: `_FILE` twin, never echoed, redacted from logs. */
function secret<T>(env: string, doc: string, parse: Parser<T>): Spec<T> {
  return spec(env, '', doc, parse, { file: true, secret: true });
}

function fail(name: string, raw: string, accepted: string): never {
  throw new AuraError('CONFIG', `${name}=${JSON.stringify(raw)} is not valid: expected ${accepted}`);
}

const str: Parser<string> = (raw, name) => (raw.trim() === '' ? fail(name, raw, 'a non-empty string') : raw.trim());
const optStr: Parser<string | undefined> = (raw) => (raw.trim() === '' ? undefined : raw.trim());
function optInt(min: number, max: number): Parser<number | undefined> {
  return (raw, name) => (raw.trim() === '' ? undefined : int(min, max)(raw, name));
}
function int(min: number, max: number): Parser<number> {
  return (raw, name) => {
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max ? n : fail(name, raw, `an integer in [${min}, ${max}]`);
  };
}
function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw, name) => ((values as string[]).includes(raw.trim()) ? (raw.trim() as T) : fail(name, raw, `one of ${values.join(' | ')}`));
}
const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return fail(name, raw, 'true | false');
};
const url: Parser<string> = (raw, name) => {
  try {
    const u = new URL(raw.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(name, raw, 'an http(s) URL');
    return raw.trim().replace(/\/+$/, '');
  } catch (err) {
    if (err instanceof AuraError) throw err;
    return fail(name, raw, 'an http(s) URL');
  }
};
const optUrl: Parser<string | undefined> = (raw, name) => (raw.trim() === '' ? undefined : url(raw, name));
/** PEM text (certificates or a key); the value itself is never echoed. */
const optPem: Parser<string | undefined> = (raw, name) => {
  const v = raw.trim();
  if (v === '') return undefined;
  if (!/-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----/.test(v)) {
    throw new AuraError('CONFIG', `${name} does not hold PEM text (-----BEGIN …----- … -----END …-----): set it to the PEM itself, or set ${name}_FILE to the path of a PEM file`);
  }
  return `${v}\n`;
};
/** `user:password` of HTTP basic auth; the value itself is never echoed. */
const optUserPass: Parser<string | undefined> = (raw, name) => {
  const v = raw.trim();
  if (v === '') return undefined;
  const colon = v.indexOf(':');
  if (colon <= 0) throw new AuraError('CONFIG', `${name} is not valid (value not shown): expected user:password, with a non-empty user before the first colon`);
  return v;
};
/** An HMAC key: at least 32 characters (e.g. `openssl rand -base64 32`); the value itself is never echoed. */
const optSigningKey: Parser<string | undefined> = (raw, name) => {
  const v = raw.trim();
  if (v === '') return undefined;
  if (v.length < 32) throw new AuraError('CONFIG', `${name} is too short (value not shown): expected at least 32 characters, e.g. the output of \`openssl rand -base64 32\`, the same on the aggregate stage and wherever \`aura-stream erase\` runs`);
  return v;
};
const saslMechanism: Parser<'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (v === '') return undefined;
  if (v === 'plain' || v === 'scram-sha-256' || v === 'scram-sha-512') return v;
  return fail(name, raw, 'one of PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512');
};
const securityProtocol: Parser<'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'> = (raw, name) => oneOf('PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL')(raw.trim().toUpperCase(), name);
/** A bearer token of SEARCH_TOKENS and whom it may read: one user id, or `*` for every user. */
export interface SearchToken {
  token: string;
  user: string;
}
/** RFC 6750 b64token characters, at least 16 of them. */
const TOKEN = /^[A-Za-z0-9._~+/-]{16,}=*$/;
/** `<token>:<user id>` or `<token>:*`, comma- or newline-separated; the values are never echoed. */
const searchTokens: Parser<SearchToken[]> = (raw, name) => {
  const rows = raw.split(/[,\n]/).map((r) => r.trim()).filter(Boolean);
  const tokens = rows.map((row, i) => {
    const colon = row.indexOf(':');
    const token = colon < 0 ? row : row.slice(0, colon);
    const user = colon < 0 ? '' : row.slice(colon + 1).trim();
    if (!TOKEN.test(token) || user === '') {
      throw new AuraError('CONFIG', `${name} entry ${i + 1} is not valid (value not shown): expected <token>:<user id> or <token>:*, the token at least 16 characters of A-Z a-z 0-9 . _ ~ + / -`);
    }
    return { token, user };
  });
  if (new Set(tokens.map((t) => t.token)).size !== tokens.length) throw new AuraError('CONFIG', `${name} lists one token twice (value not shown): each token must be bound once`);
  return tokens;
};
const brokers: Parser<string[]> = (raw, name) => {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0 || !list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b))) fail(name, raw, 'host:port[,host:port...]');
  return list;
};

export const CONFIG_SPECS = {
  applicationId: spec('APPLICATION_ID', 'aura-stream', 'Prefix of group ids, transactional ids and the changelog topic.', str),
  kafkaBrokers: spec('KAFKA_BROKERS', '127.0.0.1:19092', 'Bootstrap brokers (default: the local stack).', brokers),
  kafkaSecurityProtocol: spec('KAFKA_SECURITY_PROTOCOL', 'PLAINTEXT', 'PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL (as Kafka\'s security.protocol).', securityProtocol),
  kafkaSaslMechanism: spec('KAFKA_SASL_MECHANISM', '', 'PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512; required with SASL_PLAINTEXT / SASL_SSL.', saslMechanism),
  kafkaSaslUsername: secret('KAFKA_SASL_USERNAME', 'SASL user (required with KAFKA_SASL_MECHANISM).', optStr),
  kafkaSaslPassword: secret('KAFKA_SASL_PASSWORD', 'SASL password (required with KAFKA_SASL_MECHANISM).', optStr),
  kafkaSslCa: spec('KAFKA_SSL_CA', '', 'PEM of the CA(s) that signed the brokers\' certificates (default: the system\'s trusted CAs).', optPem, { file: true }),
  kafkaSslCert: spec('KAFKA_SSL_CERT', '', 'PEM client certificate (chain) for brokers that require TLS client authentication; needs KAFKA_SSL_KEY.', optPem, { file: true }),
  kafkaSslKey: secret('KAFKA_SSL_KEY', 'PEM private key (unencrypted) of KAFKA_SSL_CERT.', optPem),
  kafkaSessionTimeoutMs: spec('KAFKA_SESSION_TIMEOUT_MS', '30000', 'Consumer-group session timeout: how long a dead pod keeps its partitions (within the broker\'s group.min/max.session.timeout.ms).', int(1000, 3_600_000)),
  schemaRegistryUrl: spec('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7', 'Confluent-compatible registry base URL (default: the local stack\'s Apicurio).', url),
  schemaRegistryBasicAuth: secret('SCHEMA_REGISTRY_BASIC_AUTH', 'Registry HTTP basic auth as user:password.', optUserPass),
  schemaRegistryBearerToken: secret('SCHEMA_REGISTRY_BEARER_TOKEN', 'Registry bearer token (sent as Authorization: Bearer …); not with SCHEMA_REGISTRY_BASIC_AUTH.', optStr),
  allowInsecureCredentials: spec(
    'ALLOW_INSECURE_CREDENTIALS',
    'false',
    'Allow sending a credential in cleartext: QDRANT_API_KEY to an http:// QDRANT_URL, SCHEMA_REGISTRY_BASIC_AUTH / _BEARER_TOKEN to an http:// SCHEMA_REGISTRY_URL, a SASL PLAIN password over SASL_PLAINTEXT. Default false: such a combination is refused at start (CONFIG). Only for a loopback or otherwise private link.',
    bool,
  ),
  inputTopic: spec('INPUT_TOPIC', 'aura360.user.events', 'User events (MoodCreated, ActivityCreated).', str),
  aggregatedTopic: spec('AGGREGATED_TOPIC', 'aura360.context.aggregated', 'ContextAggregated snapshots (aggregate output, vectorize input).', str),
  vectorizedTopic: spec('VECTORIZED_TOPIC', 'aura360.context.vectorized', 'ContextVectorized confirmations.', str),
  erasedTopic: spec('ERASED_TOPIC', 'aura360.context.erased', 'ErasureCompleted confirmations: the vectorize stage deleted a user\'s points and cache entries (subject <topic>-value).', str),
  changelogTopic: spec('CHANGELOG_TOPIC', '', 'Compacted window changelog (default: <APPLICATION_ID>-user-window-changelog).', optStr),
  dlqSuffix: spec('DLQ_SUFFIX', '.dlq', 'Dead-letter topic = <input topic><suffix>.', str),
  aggregateGroupId: spec('AGGREGATE_GROUP_ID', '', 'Consumer group of the aggregate stage (default: <APPLICATION_ID>-aggregate).', optStr),
  vectorizeGroupId: spec('VECTORIZE_GROUP_ID', '', 'Consumer group of the vectorize stage (default: <APPLICATION_ID>-vectorize).', optStr),
  processingGuarantee: spec('PROCESSING_GUARANTEE', 'exactly_once', 'aggregate: exactly_once (Kafka transactions) | at_least_once.', oneOf('exactly_once', 'at_least_once')),
  createTopics: spec('CREATE_TOPICS', 'true', 'Create missing topics at start (each stage its own). Production: false, with the topics made by `aura-stream topics apply`.', bool),
  registerSchemas: spec('REGISTER_SCHEMAS', 'true', 'Register the local schemas at start. false: only look them up (a registry principal that may not register); `aura-stream topics apply` registers them.', bool),
  topicMinInsyncReplicas: spec('TOPIC_MIN_INSYNC_REPLICAS', '', 'min.insync.replicas of topics `topics apply` creates (default: TOPIC_REPLICATION_FACTOR − 1, at least 1).', optInt(1, 32)),
  changelogMaxCompactionLagMs: spec('CHANGELOG_MAX_COMPACTION_LAG_MS', '86400000', 'max.compaction.lag.ms of the changelog `topics apply` creates: the longest an erased or expired window stays readable behind its tombstone.', int(1000, 31_536_000_000)),
  topicPartitions: spec('TOPIC_PARTITIONS', '6', 'Partitions of topics created at start (the changelog always copies the input\'s count).', int(1, 10_000)),
  topicReplicationFactor: spec('TOPIC_REPLICATION_FACTOR', '1', 'Replication factor of topics created at start.', int(1, 32)),
  produceRequestMaxBytes: spec('PRODUCE_REQUEST_MAX_BYTES', '1048576', 'Largest produce request (bytes); each write is cut into requests under it and under every topic\'s max.message.bytes.', int(65_536, 104_857_600)),
  changelogCompression: spec('CHANGELOG_COMPRESSION', 'gzip', 'Compression of changelog records: gzip | none.', oneOf('gzip', 'none')),
  stateDir: spec('STATE_DIR', '.aura-state', 'Folder of LMDB window state, embedding cache, the embedded LanceDB store and the query interpreter\'s description vectors (cache/interpreter).', str),
  windowDays: spec('WINDOW_DAYS', '7', 'Event-time length of the per-user window, days.', int(1, 366)),
  windowMaxEvents: spec('WINDOW_MAX_EVENTS', '512', 'Cap on events kept per user window.', int(1, 100_000)),
  embeddingModel: spec(
    'EMBEDDING_MODEL',
    MODEL_ID,
    `Embedding model: a folder under EMBEDDING_MODELS_DIR (${MODEL_IDS.join(' | ')}; see docs/retrieval.md), or a Hugging Face hub id when no such folder exists. Ignored when EMBEDDING_MODEL_PATH is set.`,
    str,
  ),
  embeddingModelsDir: spec(
    'EMBEDDING_MODELS_DIR',
    '',
    'Folder of model folders (one per model, as `aura-stream stack up` and the image lay them out); serve loads the model of the alias\'s version from here after a promote. Default: <AURA_STACK_DIR or .cache/stack>/models.',
    optStr,
  ),
  embeddingModelPath: spec(
    'EMBEDDING_MODEL_PATH',
    '',
    'Local model folder (offline), overriding EMBEDDING_MODEL. Default: <EMBEDDING_MODELS_DIR>/<EMBEDDING_MODEL> when that folder exists, else the hub id EMBEDDING_MODEL.',
    optStr,
  ),
  embeddingThreads: spec('EMBEDDING_THREADS', '1', 'ONNX Runtime intra-op threads per process.', int(1, 64)),
  embeddingCacheMaxEntries: spec('EMBEDDING_CACHE_MAX_ENTRIES', '100000', 'Embedding cache bound (entries, oldest evicted first).', int(1, 100_000_000)),
  qdrantUrl: spec('QDRANT_URL', '', 'Qdrant REST URL; unset = embedded LanceDB under STATE_DIR.', optUrl),
  qdrantApiKey: secret('QDRANT_API_KEY', 'Qdrant API key.', optStr),
  qdrantCa: spec('QDRANT_CA', '', 'PEM of the CA that signed Qdrant\'s certificate (an https QDRANT_URL with a private CA).', optPem, { file: true }),
  collection: spec('VECTOR_COLLECTION', 'aura_context', 'Qdrant collection / LanceDB table.', str),
  retrievalMode: spec(
    'RETRIEVAL_MODE',
    'dense',
    'search: how a text query ranks: dense (the model\'s vectors) | sparse (words, BM25) | hybrid (both fused by RRF); dense had the best tuning-half precision@10 in bench/retrieval.ts (docs/hybrid-retrieval.md).',
    oneOf('dense', 'sparse', 'hybrid'),
  ),
  batchMaxSize: spec('BATCH_MAX_SIZE', '64', 'vectorize: flush a micro-batch at this many records.', int(1, 4096)),
  batchMaxWaitMs: spec('BATCH_MAX_WAIT_MS', '200', 'vectorize: flush a micro-batch this long after its first record.', int(1, 600_000)),
  maxInFlightBatches: spec('MAX_IN_FLIGHT_BATCHES', '2', 'vectorize: batches in flight before the consumer pauses.', int(1, 64)),
  aggregateTxMaxRecords: spec('AGGREGATE_TX_MAX_RECORDS', '5000', 'aggregate: input records per transaction (a fetched batch is cut into transactions; larger ones write fewer changelog records: one per user per transaction).', int(1, 100_000)),
  aggregateTxMaxBytes: spec('AGGREGATE_TX_MAX_BYTES', '4194304', 'aggregate: bytes per transaction: input records, snapshots and changelog windows (the writes are cut into produce requests under PRODUCE_REQUEST_MAX_BYTES either way).', int(1024, 1_073_741_824)),
  aggregateTxMaxMs: spec('AGGREGATE_TX_MAX_MS', '1000', 'aggregate: a transaction is cut once its records have been folding this long.', int(1, 600_000)),
  aggregatePartitionsConcurrently: spec('AGGREGATE_PARTITIONS_CONCURRENTLY', '3', 'aggregate: input partitions processed at once by one process (each in order).', int(1, 1024)),
  aggregateCacheMaxUsers: spec('AGGREGATE_CACHE_MAX_USERS', '10000', 'aggregate: running windows kept in memory per partition between transactions (least recently used dropped).', int(1, 10_000_000)),
  aggregateCacheMaxBytes: spec(
    'AGGREGATE_CACHE_MAX_BYTES',
    '268435456',
    'aggregate: estimated heap bytes of the running windows kept in memory, all partitions of the process together (least recently used dropped once committed; a window is estimated at 3.1 bytes per encoded byte + 12 KiB; measured 17 KiB per user at the produce default profile, 455 KiB at the heavy one, bench/state-size.ts). Size the memory limit with it (docs/operations.md, Sizing).',
    int(1_048_576, 1_099_511_627_776),
  ),
  aggregateFetchMaxBytes: spec('AGGREGATE_FETCH_MAX_BYTES', '1048576', 'aggregate: bytes fetched per partition per request from the input topic.', int(1024, 1_073_741_824)),
  vectorizeFetchMaxBytes: spec('VECTORIZE_FETCH_MAX_BYTES', '1048576', 'vectorize: bytes fetched per partition per request from the aggregated topic (vectorize and reindex\'s catch-up).', int(1024, 1_073_741_824)),
  erasureSigningKey: secret(
    'ERASURE_SIGNING_KEY',
    'HMAC key (at least 32 characters) that `aura-stream erase` signs UserDeleted requests with and the aggregate stage verifies; only its holders can erase. Unset: erase refuses to run and the aggregate stage dead-letters every UserDeleted (ERASURE_UNAUTHORIZED). docs/erasure.md.',
    optSigningKey,
  ),
  erasureMaxAgeMs: spec('ERASURE_MAX_AGE_MS', '86400000', 'aggregate: a signed UserDeleted whose requested_at is older than this, measured against the partition\'s stream time, is refused as a replay (ERASURE_REPLAYED); within it, a request id seen before is refused too. Keep it above producers\' clock skew.', int(60_000, 31_536_000_000)),
  stateRetentionDays: spec('STATE_RETENTION_DAYS', '0', 'aggregate: erase a user (changelog tombstone + ContextErased, cause retention) whose last accepted event is this many days of stream time (largest input record timestamp of the partition, ignoring any more than 24 h ahead of the clock) old; 0 = never. At most AGGREGATE_TX_MAX_RECORDS users expire per transaction.', int(0, 36_500)),
  transactionTimeoutMs: spec('TRANSACTION_TIMEOUT_MS', '60000', 'aggregate (exactly_once): broker aborts a transaction left open this long.', int(1000, 900_000)),
  restoreTimeoutMs: spec('RESTORE_TIMEOUT_MS', '600000', 'aggregate: a changelog restore that has not reached the end by then fails with RESTORE_TIMEOUT (retried).', int(1000, 86_400_000)),
  restoreFetchMaxBytes: spec('RESTORE_FETCH_MAX_BYTES', '8388608', 'aggregate: bytes fetched per changelog partition per request while restoring.', int(1024, 1_073_741_824)),
  restoreFetchMaxWaitMs: spec('RESTORE_FETCH_MAX_WAIT_MS', '5', 'aggregate: how long the broker may hold a changelog fetch for data while restoring (only partitions below their end are fetched).', int(0, 10_000)),
  retryInitialMs: spec('RETRY_INITIAL_MS', '200', 'First back-off delay for transient faults.', int(1, 600_000)),
  retryMaxMs: spec('RETRY_MAX_MS', '10000', 'Cap of the back-off delay.', int(1, 3_600_000)),
  storeTimeoutMs: spec('STORE_TIMEOUT_MS', '10000', 'Timeout of one vector-store request.', int(100, 600_000)),
  shutdownTimeoutMs: spec('SHUTDOWN_TIMEOUT_MS', '30000', 'Forced exit after this long in draining.', int(100, 3_600_000)),
  lagRefreshMs: spec('LAG_REFRESH_MS', '10000', 'How often each stage reads its partitions\' end offsets and its group\'s committed offsets from the broker for aura_consumer_lag_records / _seconds (a timer, independent of commits: a stuck consumer shows rising lag).', int(1000, 600_000)),
  metricsPort: spec('METRICS_PORT', '9464', 'HTTP port of /metrics, /healthz, /readyz (0 = ephemeral, -1 = off).', int(-1, 65_535)),
  searchTokens: secret(
    'SEARCH_TOKENS',
    'serve: bearer tokens, comma- or newline-separated, each `<token>:<user id>` (reads only that user) or `<token>:*` (reads every user); tokens of at least 16 characters. Default: none, and serve refuses to start without one.',
    searchTokens,
  ),
  servePort: spec('SERVE_PORT', '8080', 'serve: HTTP port of /v1/search, /v1/users/{id}/context/latest, /openapi.json, /metrics, /healthz, /readyz (0 = ephemeral).', int(0, 65_535)),
  serveHost: spec('SERVE_HOST', '0.0.0.0', 'serve: address to listen on (127.0.0.1 for this host only).', str),
  serveMaxModels: spec('SERVE_MAX_MODELS', '2', 'serve: query models kept loaded at once (the configured one counts; default: the alias\'s current model and the one before it). Loading one more after a promote unloads the least recently used, once no request is using it.', int(1, 64)),
  logLevel: spec('LOG_LEVEL', 'info', 'trace | debug | info | warn | error | fatal | silent.', oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent')),
} as const;

type Specs = typeof CONFIG_SPECS;
type Parsed = { [K in keyof Specs]: Specs[K] extends Spec<infer T> ? T : never };

/** The compiled configuration: parsed, defaulted, derived names filled in. */
export interface Config extends Omit<Parsed, 'changelogTopic' | 'aggregateGroupId' | 'vectorizeGroupId' | 'topicMinInsyncReplicas'> {
  changelogTopic: string;
  topicMinInsyncReplicas: number;
  aggregateGroupId: string;
  vectorizeGroupId: string;
  inputDlqTopic: string;
  aggregatedDlqTopic: string;
  aggregatorVersion: string;
}

export const AGGREGATOR_VERSION = '1.0.0';

/** Compiles the configuration from an environment; throws AuraError('CONFIG') naming the variable. */
/**
 * `kafka: false` is for a command that opens no Kafka client (`serve`): the Kafka security settings it
 * inherits from a shared ConfigMap are parsed but not required to be complete (no SASL principal).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: { kafka?: boolean } = {}): Config {
  const parsed = {} as Record<string, unknown>;
  for (const [key, s] of Object.entries(CONFIG_SPECS) as Array<[string, Spec<unknown>]>) {
    parsed[key] = s.parse(rawValue(env, s), s.env);
  }
  const p = parsed as Parsed;
  if (p.retryMaxMs < p.retryInitialMs) {
    throw new AuraError('CONFIG', `RETRY_MAX_MS=${p.retryMaxMs} is below RETRY_INITIAL_MS=${p.retryInitialMs}: expected RETRY_MAX_MS >= RETRY_INITIAL_MS`);
  }
  if (options.kafka !== false) checkKafkaSecurity(p);
  checkSecurity(p);
  return {
    ...p,
    embeddingModelPath: p.embeddingModelPath ?? localStackModel(env),
    embeddingModelsDir: p.embeddingModelsDir ?? modelsDirOf(env),
    changelogTopic: p.changelogTopic ?? `${p.applicationId}-user-window-changelog`,
    aggregateGroupId: p.aggregateGroupId ?? `${p.applicationId}-aggregate`,
    vectorizeGroupId: p.vectorizeGroupId ?? `${p.applicationId}-vectorize`,
    topicMinInsyncReplicas: p.topicMinInsyncReplicas ?? Math.max(1, p.topicReplicationFactor - 1),
    inputDlqTopic: `${p.inputTopic}${p.dlqSuffix}`,
    aggregatedDlqTopic: `${p.aggregatedTopic}${p.dlqSuffix}`,
    aggregatorVersion: AGGREGATOR_VERSION,
  };
}

/**
 * The folder of model folders: EMBEDDING_MODELS_DIR, else `<AURA_STACK_DIR or the project's
 * .cache/stack>/models` (what `aura-stream stack up` lays out); undefined outside the project
 * without EMBEDDING_MODELS_DIR (an installed package has no local stack).
 */
export function modelsDirOf(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const modelsDir = env['EMBEDDING_MODELS_DIR']?.trim();
    return modelsDir ? resolve(modelsDir) : join(env['AURA_STACK_DIR'] ? resolve(env['AURA_STACK_DIR']) : join(findProjectRoot(), '.cache', 'stack'), 'models');
  } catch {
    return undefined;
  }
}

/**
 * The folder of the model EMBEDDING_MODEL names (default MODEL_ID) under EMBEDDING_MODELS_DIR
 * (default: the models `aura-stream stack up` lays out), when it exists: the same default as the
 * brokers and registry of the local stack, so that a command run after `stack up` or the demo
 * needs no settings. Undefined when there is none (the embedder then names the fix).
 */
export function localStackModel(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = modelsDirOf(env);
  if (dir === undefined) return undefined;
  const name = env['EMBEDDING_MODEL']?.trim() || MODEL_ID;
  // A hub id such as Xenova/all-MiniLM-L6-v2 is not a folder name here.
  if (name.includes('/') || name.includes('\\') || name === '..' || name === '.') return undefined;
  const model = join(dir, name);
  return existsSync(join(model, 'config.json')) ? model : undefined;
}

/** The raw text of a variable: itself, or the content of the file its `_FILE` twin names. */
function rawValue(env: NodeJS.ProcessEnv, s: Spec<unknown>): string {
  const direct = env[s.env];
  const path = s.file ? env[`${s.env}_FILE`]?.trim() : undefined;
  if (!path) return direct ?? s.default ?? '';
  if (direct !== undefined && direct.trim() !== '') {
    throw new AuraError('CONFIG', `${s.env} and ${s.env}_FILE are both set: set only one (${s.env}_FILE names a file holding the value, e.g. a mounted Secret)`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new AuraError('CONFIG', `${s.env}_FILE=${JSON.stringify(path)} cannot be read (${code}): expected the path of a readable file holding ${s.env}`, { cause: err });
  }
}

const SASL_PROTOCOLS = new Set(['SASL_PLAINTEXT', 'SASL_SSL']);
const TLS_PROTOCOLS = new Set(['SSL', 'SASL_SSL']);

const bad = (message: string): never => {
  throw new AuraError('CONFIG', message);
};

/** Kafka security settings that only make sense together; the error names the variable to set or unset. */
function checkKafkaSecurity(p: Parsed): void {
  const protocol = p.kafkaSecurityProtocol;
  if (SASL_PROTOCOLS.has(protocol) && !p.kafkaSaslMechanism) bad(`KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_MECHANISM (PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512)`);
  if (p.kafkaSaslMechanism && !SASL_PROTOCOLS.has(protocol)) bad(`KAFKA_SASL_MECHANISM is set but KAFKA_SECURITY_PROTOCOL=${protocol}: expected SASL_SSL (or SASL_PLAINTEXT)`);
  if (p.kafkaSaslMechanism && !p.kafkaSaslUsername) bad(`KAFKA_SASL_MECHANISM=${p.kafkaSaslMechanism.toUpperCase()} needs KAFKA_SASL_USERNAME (or KAFKA_SASL_USERNAME_FILE)`);
  if (p.kafkaSaslMechanism && !p.kafkaSaslPassword) bad(`KAFKA_SASL_MECHANISM=${p.kafkaSaslMechanism.toUpperCase()} needs KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)`);
  if (!p.kafkaSaslMechanism && (p.kafkaSaslUsername || p.kafkaSaslPassword)) bad('KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD are set but KAFKA_SASL_MECHANISM is not: set it (and KAFKA_SECURITY_PROTOCOL=SASL_SSL)');
  const tlsVars = (['KAFKA_SSL_CA', 'KAFKA_SSL_CERT', 'KAFKA_SSL_KEY'] as const).filter((_, i) => [p.kafkaSslCa, p.kafkaSslCert, p.kafkaSslKey][i] !== undefined);
  if (tlsVars.length > 0 && !TLS_PROTOCOLS.has(protocol)) bad(`${tlsVars.join(', ')} set but KAFKA_SECURITY_PROTOCOL=${protocol}: expected SSL or SASL_SSL`);
  if (p.kafkaSslCert && !p.kafkaSslKey) bad('KAFKA_SSL_CERT needs KAFKA_SSL_KEY (or KAFKA_SSL_KEY_FILE), the key of the client certificate');
  if (p.kafkaSslKey && !p.kafkaSslCert) bad('KAFKA_SSL_KEY needs KAFKA_SSL_CERT (or KAFKA_SSL_CERT_FILE), the client certificate of the key');
}

/** Registry and Qdrant settings that only make sense together, and credentials never sent in cleartext. */
function checkSecurity(p: Parsed): void {
  const protocol = p.kafkaSecurityProtocol;
  if (p.schemaRegistryBasicAuth && p.schemaRegistryBearerToken) bad('SCHEMA_REGISTRY_BASIC_AUTH and SCHEMA_REGISTRY_BEARER_TOKEN are both set: set only one');
  if (!p.allowInsecureCredentials) {
    const cleartext = (what: string, fix: string) => bad(`${what} would be sent in cleartext: ${fix}, or set ALLOW_INSECURE_CREDENTIALS=true to accept that (a loopback or otherwise private link only)`);
    if (p.qdrantApiKey && p.qdrantUrl?.startsWith('http:')) cleartext('QDRANT_API_KEY is set and QDRANT_URL is http://, so the key', 'use an https:// QDRANT_URL (QDRANT_CA for a private CA)');
    const registryCredential = p.schemaRegistryBasicAuth ? 'SCHEMA_REGISTRY_BASIC_AUTH' : p.schemaRegistryBearerToken ? 'SCHEMA_REGISTRY_BEARER_TOKEN' : undefined;
    if (registryCredential && p.schemaRegistryUrl.startsWith('http:')) cleartext(`${registryCredential} is set and SCHEMA_REGISTRY_URL is http://, so the credential`, 'use an https:// SCHEMA_REGISTRY_URL');
    if (p.kafkaSaslMechanism === 'plain' && protocol === 'SASL_PLAINTEXT') cleartext('KAFKA_SASL_MECHANISM=PLAIN over KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT, so KAFKA_SASL_PASSWORD', 'use KAFKA_SECURITY_PROTOCOL=SASL_SSL (or a SCRAM mechanism, which never sends the password)');
  }
  if (p.qdrantCa && !p.qdrantUrl?.startsWith('https:')) bad('QDRANT_CA is set but QDRANT_URL is not an https:// URL: expected QDRANT_URL=https://…');
}

/** Config keys holding secrets (redacted from logs wherever they appear). */
export const SECRET_CONFIG_KEYS: readonly string[] = Object.entries(CONFIG_SPECS)
  .filter(([, s]) => (s as Spec<unknown>).secret)
  .map(([key]) => key);

/** Rows for docs/configuration.md / `aura-stream config`: variable, default, meaning (each `_FILE` twin included). */
export function configTable(): Array<{ env: string; default: string; doc: string }> {
  return Object.values(CONFIG_SPECS).flatMap((s: Spec<unknown>) => [
    { env: s.env, default: s.default ?? '', doc: s.doc },
    ...(s.file ? [{ env: `${s.env}_FILE`, default: '', doc: `Path of a file holding ${s.env} (e.g. a mounted Secret); not with ${s.env}.` }] : []),
  ]);
}

/**
 * The table of docs/configuration.md (`aura-stream config --markdown`), between its
 * `<!-- config-table:start -->` and `<!-- config-table:end -->` markers; a test keeps the two equal.
 */
export function configMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...configTable().map((r) => `| \`${r.env}\` | ${r.default === '' ? '–' : `\`${cell(r.default)}\``} | ${cell(r.doc)} |`),
  ].join('\n');
}
