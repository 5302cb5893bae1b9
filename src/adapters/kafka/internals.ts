import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';

/**
 * A start-up self-test of the kafkajs internals the project relies on beyond its typed API (the
 * pin in package.json is kafkajs 2.2.4; these checks say whether what is installed still looks
 * like it):
 *
 * - direct restore (direct-fetch.ts): the client keeps its cluster factory under the symbol
 *   `private:Kafka:createCluster`; the cluster it makes has the methods direct-fetch calls; the
 *   broker class has `fetch`; `kafkajs/src/consumer/batch.js` loads and drops control records and
 *   records of aborted transactions the way read_committed needs (run on a made-up fetch answer).
 * - the GZIP codec (gzip-codec.ts): `CompressionCodecs` / `CompressionTypes.GZIP` exist and the
 *   installed codec is a factory of `{ compress, decompress }`.
 *
 * Nothing here connects to a broker. When the direct-restore part fails, the changelog reader
 * replays through a consumer group instead (slower, same result), the process warns once and the
 * metric `aura_kafkajs_internals_ok{part="direct_restore"}` is 0; when the codec part fails,
 * kafkajs' own GZIP codec is kept.
 */

const require = createRequire(import.meta.url);

export interface InternalsCheck {
  /** The installed kafkajs version, for the warning. */
  version: string;
  /** What direct restore needs that is not as expected; empty when all is. */
  directRestore: string[];
  /** What the GZIP codec replacement needs that is not as expected; empty when all is. */
  gzipCodec: string[];
}

/** The modules the checks look at; the defaults are the installed kafkajs (tests hand in stubs). */
export interface KafkajsModules {
  client: object;
  batch: () => unknown;
  broker: () => unknown;
  codecs: { CompressionCodecs?: Record<number, unknown>; CompressionTypes?: { GZIP?: number } };
  version: () => string;
}

const CLUSTER_METHODS = ['connect', 'disconnect', 'addTargetTopic', 'refreshMetadata', 'findLeaderForPartitions', 'findBroker', 'fetchTopicsOffset'] as const;

function installedModules(): KafkajsModules {
  return {
    // Never connected: the checks only look at its shape.
    client: new kafkajs.Kafka({ clientId: 'aura-internals-check', brokers: ['127.0.0.1:9'] }),
    batch: () => require('kafkajs/src/consumer/batch.js'),
    broker: () => require('kafkajs/src/broker/index.js'),
    codecs: kafkajs as unknown as KafkajsModules['codecs'],
    version: () => (require('kafkajs/package.json') as { version: string }).version,
  };
}

function attempt<T>(problems: string[], what: string, load: () => T): T | undefined {
  try {
    return load();
  } catch (err) {
    problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** The cluster factory under its symbol, and the methods direct-fetch calls on what it makes. */
function checkCluster(client: object, problems: string[]): void {
  const symbol = Object.getOwnPropertySymbols(client).find((s) => s.description === 'private:Kafka:createCluster');
  const create = symbol === undefined ? undefined : (client as Record<symbol, unknown>)[symbol];
  if (typeof create !== 'function') {
    problems.push('the client has no cluster factory under the symbol private:Kafka:createCluster');
    return;
  }
  const cluster = attempt(problems, 'making a cluster', () => (create as (o: object) => Record<string, unknown>).call(client, { allowAutoTopicCreation: false, isolationLevel: 1 }));
  if (cluster === undefined) return;
  const missing = CLUSTER_METHODS.filter((m) => typeof cluster[m] !== 'function');
  if (missing.length > 0) problems.push(`the cluster lacks ${missing.join(', ')}`);
}

/** Batch on a made-up read_committed answer: offsets 3..7, where 4-5 belong to an aborted transaction ended by the marker at 6. */
function checkBatch(load: () => unknown, problems: string[]): void {
  const Batch = attempt(problems, 'loading kafkajs/src/consumer/batch.js', load);
  if (typeof Batch !== 'function') {
    if (Batch !== undefined) problems.push('kafkajs/src/consumer/batch.js does not export a class');
    return;
  }
  const message = (offset: number, producerId: string, extra: Record<string, unknown> = {}) => ({
    offset: String(offset),
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(`v${offset}`),
    timestamp: '0',
    headers: {},
    batchContext: { producerId, inTransaction: producerId !== '-1' },
    ...extra,
  });
  const answer = {
    partition: 0,
    errorCode: 0,
    highWatermark: '8',
    lastStableOffset: '8',
    abortedTransactions: [{ producerId: '9', firstOffset: '4' }],
    messages: [
      message(2, '-1'),
      message(3, '-1'),
      message(4, '9'),
      message(5, '9'),
      message(6, '9', { key: Buffer.from([0, 0, 0, 0]), isControlRecord: true }),
      message(7, '-1'),
    ],
  };
  const batch = attempt(problems, 'running Batch', () => new (Batch as new (t: string, o: string, p: unknown) => { messages?: unknown; messagesWithinOffset?: unknown })('t', '3', answer));
  if (batch === undefined) return;
  const offsets = (list: unknown) => (Array.isArray(list) ? list.map((m: { offset?: unknown }) => m.offset).join(',') : String(list));
  if (offsets(batch.messages) !== '3,7') problems.push(`Batch.messages kept offsets ${offsets(batch.messages)}, expected 3,7 (aborted and control records dropped)`);
  if (offsets(batch.messagesWithinOffset) !== '3,4,5,6,7') problems.push(`Batch.messagesWithinOffset kept offsets ${offsets(batch.messagesWithinOffset)}, expected 3,4,5,6,7`);
}

function checkBroker(load: () => unknown, problems: string[]): void {
  const Broker = attempt(problems, 'loading kafkajs/src/broker/index.js', load) as { prototype?: { fetch?: unknown } } | undefined;
  if (Broker !== undefined && typeof Broker.prototype?.fetch !== 'function') problems.push('the broker class has no fetch method');
}

function checkCodecs(codecs: KafkajsModules['codecs'], problems: string[]): void {
  const gzip = codecs.CompressionTypes?.GZIP;
  if (typeof gzip !== 'number' || codecs.CompressionCodecs === undefined) {
    problems.push('kafkajs exports no CompressionCodecs / CompressionTypes.GZIP');
    return;
  }
  const factory = codecs.CompressionCodecs[gzip];
  const codec = typeof factory === 'function' ? attempt(problems, 'calling the GZIP codec factory', () => (factory as () => Record<string, unknown>)()) : undefined;
  if (typeof codec?.['compress'] !== 'function' || typeof codec['decompress'] !== 'function') problems.push('the GZIP codec is not a factory of { compress, decompress }');
}

/** Runs the checks; never throws. */
export function checkKafkajsInternals(modules: KafkajsModules = installedModules()): InternalsCheck {
  const directRestore: string[] = [];
  const gzipCodec: string[] = [];
  checkCluster(modules.client, directRestore);
  checkBroker(modules.broker, directRestore);
  checkBatch(modules.batch, directRestore);
  checkCodecs(modules.codecs, gzipCodec);
  const version = attempt([], 'version', modules.version) ?? 'unknown';
  return { version, directRestore, gzipCodec };
}

let checked: InternalsCheck | undefined;

/** The checks of the installed kafkajs, run once per process. */
export function kafkajsInternals(): InternalsCheck {
  checked ??= checkKafkajsInternals();
  return checked;
}
