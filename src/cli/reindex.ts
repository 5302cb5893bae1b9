import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import { describeVersion, versionCollection, type IndexVersion } from '../contracts/index-version.js';
import { AuraError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Embedder, EmbeddingCache, RecordWriter, VectorizeCodec, VectorPoint, VectorReader, VectorSink } from '../ports.js';
import type { AvroSerde } from '../adapters/avro-serde.js';
import { createVectorizeCodec } from '../adapters/codecs.js';
import { directFetchOf, nextDataOffset, type DirectFetch } from '../adapters/kafka/direct-fetch.js';
import { KafkaGroupSource } from '../adapters/kafka/group-source.js';
import { openEmbeddingCache } from '../adapters/lmdb-embedding-cache.js';
import { reindexedPoint, renderText, rerenderText } from '../pipeline/index.js';
import { vectorizeTopology, type VectorizeEvent } from '../../topology/vectorize.js';
import { vectorizePhases } from '../../topology/lifecycle.js';
import { withFailpoints } from './failpoints.js';
import { cacheModelVersion, createVectorStore, indexVersionOf, resolveAliasTarget, type AliasTarget, type VectorStore } from './index-versions.js';
import { createEmbedder } from './run-vectorize.js';
import { compileVectorizeOptions, compileVectorizeSourceOptions } from './options.js';
import { runEvents, supervise, type StageHandle } from './stage-runtime.js';

/**
 * `aura-stream reindex` (docs/reindex.md): builds the collection of this process's version (its
 * model, this build's text version) from the version the alias points to, then keeps it caught up
 * from the aggregated topic, while the live vectorize stage keeps the current version fresh and
 * searches answer from it.
 *
 * 1. Copy. The live vectorize group's committed offsets are read first (the store holds every
 *    snapshot before them: vectorize commits after the store confirms) and kept in the checkpoint.
 *    Then every point of the current version, in id order, in chunks: text re-rendered from the
 *    payload's statistics, embedded by the new model (through the embedding cache), upserted with
 *    the same id, statistics and source offsets. The checkpoint (the last id done) is written after
 *    each chunk, atomically: a restart after kill -9 continues after it.
 * 2. Catch-up. The vectorize topology itself, under its own consumer group
 *    `<VECTORIZE_GROUP_ID>.reindex.<collection>` started at the offsets read in step 1: snapshots
 *    re-rendered and embedded into the new collection, erasure markers deleting there. It confirms
 *    nothing on the output topics (the live stage does). It runs until SIGTERM, or with
 *    `--until-caught-up` until its lag is at most `--max-lag`.
 *
 * Erasure. The live vectorize stage deletes an erased user in every version (versionedWriter). A
 * copy or replay must not write the user back afterwards: a point is *erased* when the live group
 * has committed past its snapshot offset while the current version no longer holds its id (so the
 * live stage stored it and then erased it). The guard drops such points before each upsert and
 * deletes any that turned erased during the upsert right after it, so a write racing an erasure
 * is undone before the reindex goes on.
 */

export const REINDEX_STAGE = 'reindex';

export interface ReindexOptions {
  /** Stop once the catch-up lag is at most `maxLag` records; otherwise run until SIGTERM. */
  untilCaughtUp: boolean;
  /** Records of lag at or below which the new version counts as caught up (promote's bound too). */
  maxLag: number;
  /** Points per copy chunk (one upsert and one checkpoint each). */
  chunk: number;
  /** Draw a progress bar with ETA (on a terminal). */
  progress: boolean;
}

/** Default bound of `--max-lag` for reindex and `index promote`: records of the aggregated topic not yet in the new version. */
export const DEFAULT_MAX_LAG = 100;

/** The consumer group that keeps a version in preparation caught up. */
export function reindexGroupId(config: Pick<Config, 'vectorizeGroupId'>, collection: string): string {
  return `${config.vectorizeGroupId}.reindex.${collection}`;
}

/**
 * Checkpoint of a reindex, `<STATE_DIR>/reindex/<collection>.json`, replaced by rename(2):
 *   { source, startOffsets: { <partition>: <next offset> }, copiedThrough: <id> | null, copied, total, copyDone }
 */
export interface ReindexCheckpoint {
  /** The physical collection copied from (the alias target when the reindex started). */
  source: string;
  /** The live vectorize group's committed offsets read before the copy: where the catch-up starts. */
  startOffsets: Record<string, string>;
  /** The last point id copied (ids are copied in ascending order); null before the first chunk. */
  copiedThrough: string | null;
  copied: number;
  total: number;
  copyDone: boolean;
}

export function checkpointPath(config: Pick<Config, 'stateDir'>, collection: string): string {
  return join(config.stateDir, 'reindex', `${collection}.json`);
}

/** Reads and writes the checkpoint; `save` (after each chunk) is the failpoint `reindex.checkpoint`, `begin` is not. */
export class CheckpointFile {
  constructor(readonly path: string) {}
  load(): ReindexCheckpoint | undefined {
    return existsSync(this.path) ? (JSON.parse(readFileSync(this.path, 'utf8')) as ReindexCheckpoint) : undefined;
  }
  /** The first checkpoint, before any point is copied. */
  begin(checkpoint: ReindexCheckpoint): void {
    this.write(checkpoint);
  }
  save(checkpoint: ReindexCheckpoint): void {
    this.write(checkpoint);
  }
  private write(checkpoint: ReindexCheckpoint): void {
    mkdirSync(join(this.path, '..'), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(checkpoint)}\n`);
    renameSync(tmp, this.path);
  }
  remove(): void {
    rmSync(this.path, { force: true });
  }
}

/** Committed offsets of `groupId` on `topic` (partitions without one: absent). */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((entry?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => [p.partition, BigInt(p.offset)]));
}

/**
 * Records of `topic` not yet processed by `groupId`: sum over partitions of the high watermark
 * minus the position the group has reached; undefined when the group has committed nothing (it has
 * not started). The position is the committed offset moved past what a read_committed consumer
 * never receives (src/adapters/kafka/direct-fetch.ts nextDataOffset): on a topic written in
 * transactions (the aggregate stage under exactly_once) a commit marker follows the last record of
 * every transaction, and a group that committed "last record + 1" would otherwise stay one record
 * per partition behind forever. Without `direct` (a kafkajs without the direct reader) markers
 * count as lag. Records of a transaction still open count: nobody can read them yet.
 */
export async function groupLag(admin: Admin, groupId: string, topic: string, direct?: () => Promise<DirectFetch | undefined>): Promise<number | undefined> {
  const committed = await committedOffsets(admin, groupId, topic);
  if (committed.size === 0) return undefined;
  let lag = 0n;
  for (const o of await admin.fetchTopicOffsets(topic)) {
    const low = BigInt(o.low);
    const high = BigInt(o.high);
    const c = committed.get(o.partition);
    let at = c === undefined || c < low ? low : c;
    if (high <= at) continue;
    const reader = await direct?.();
    if (reader) at = await nextDataOffset(reader, topic, o.partition, at, high).catch(() => at);
    lag += high - at;
  }
  return Number(lag);
}

/**
 * A direct reader of `topic` opened on first use (only a partition with a gap needs one), and
 * undefined when this kafkajs has none or it cannot connect now (the next call tries again).
 */
export function lazyDirectFetch(kafka: Kafka, topic: string): { get: () => Promise<DirectFetch | undefined>; close: () => Promise<void> } {
  let opened: Promise<DirectFetch | undefined> | undefined;
  let closed = false;
  return {
    get: () => {
      if (closed) return Promise.resolve(undefined);
      opened ??= directFetchOf(kafka, topic).catch(() => {
        opened = undefined;
        return undefined;
      });
      return opened;
    },
    close: async () => {
      closed = true;
      const r = await opened;
      opened = undefined;
      await r?.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Which of `points` were erased by the live stage: it committed past the point's snapshot offset
 * (so it stored the point or a later one of the same id) and the current version no longer holds
 * the id (so an erasure or a retention expiry deleted it since).
 */
export async function erasedPoints(points: readonly VectorPoint[], current: Pick<VectorReader, 'existing'>, liveCommitted: () => Promise<Map<number, bigint>>): Promise<Set<string>> {
  if (points.length === 0) return new Set();
  const committed = await liveCommitted();
  const present = new Set(await current.existing(points.map((p) => p.id)));
  return new Set(points.filter((p) => !present.has(p.id) && (committed.get(p.payload.snapshot_partition) ?? -1n) > BigInt(p.payload.snapshot_offset)).map((p) => p.id));
}

/** `next` whose upserts skip erased points and undo any that an erasure raced (see the module comment). */
export function guardAgainstErasure(next: VectorSink, current: Pick<VectorReader, 'existing'>, liveCommitted: () => Promise<Map<number, bigint>>, onSkipped: (n: number) => void = () => {}): VectorSink {
  const upsert = async (points: VectorPoint[]): Promise<void> => {
    const before = await erasedPoints(points, current, liveCommitted);
    const kept = points.filter((p) => !before.has(p.id));
    await next.upsert(kept);
    const after = await erasedPoints(kept, current, liveCommitted);
    if (after.size > 0) await next.deleteIds([...after]);
    if (before.size + after.size > 0) onSkipped(before.size + after.size);
  };
  return new Proxy(next, {
    get(target, prop) {
      if (prop === 'upsert') return upsert;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The codec of the catch-up: snapshots re-rendered by this build's renderer (their text may be an older version's). */
function rerendering(codec: VectorizeCodec): VectorizeCodec {
  return {
    decodeAggregated: async (value) => {
      const r = await codec.decodeAggregated(value);
      return r.kind === 'snapshot' ? { kind: 'snapshot', snapshot: { ...r.snapshot, text: renderText(r.snapshot) } } : r;
    },
    encodeVectorized: (x) => codec.encodeVectorized(x),
    encodeErasureCompleted: (x) => codec.encodeErasureCompleted(x),
  };
}

/** The catch-up confirms nothing and dead-letters nothing: the live vectorize stage does both for these records. */
const discardWriter: RecordWriter = { send: async () => {}, close: async () => {} };

interface Plan {
  store: VectorStore;
  current: AliasTarget;
  version: IndexVersion;
  collection: string;
}

/** What a reindex with this embedder would do; a CONFIG error when there is nothing to build from, or nothing to build. */
export async function planReindex(config: Config, embedder: Pick<Embedder, 'modelId' | 'modelVersion' | 'manifestSha256'>): Promise<Plan> {
  const store = createVectorStore(config);
  const current = await resolveAliasTarget(store);
  if (current === undefined) {
    throw new AuraError('CONFIG', `no index "${config.collection}" to reindex from in ${store.kind} at ${store.location}. Fix: start \`aura-stream run vectorize\` first: a first start creates the index of its version directly.`);
  }
  const version = indexVersionOf(embedder);
  const collection = versionCollection(store.alias, version);
  if (current.collection === collection) {
    throw new AuraError('CONFIG', `index "${store.alias}" already answers from ${collection} (${describeVersion(version)}): nothing to reindex. Fix: set EMBEDDING_MODEL / EMBEDDING_MODEL_PATH to the new model (or deploy the new text version) first.`);
  }
  return { store, current, version, collection };
}

/** Copies the current version into the new one (resumable); resolves with the points copied by this call. */
export async function copyVersion(deps: {
  plan: Plan;
  next: VectorSink;
  embedder: Embedder;
  cache: EmbeddingCache;
  checkpoints: CheckpointFile;
  liveCommitted: () => Promise<Map<number, bigint>>;
  startOffsets: () => Promise<Record<string, string>>;
  options: Pick<ReindexOptions, 'chunk' | 'progress'>;
  logger: Logger;
  metrics: Metrics;
}): Promise<number> {
  const { plan, next, embedder, cache, checkpoints, logger, metrics } = deps;
  let cp = checkpoints.load();
  if (cp?.copyDone) return 0;
  const source = plan.store.open(cp?.source ?? plan.current.collection);
  try {
    if (cp === undefined) {
      cp = { source: source.collection, startOffsets: await deps.startOffsets(), copiedThrough: null, copied: 0, total: 0, copyDone: false };
      checkpoints.begin(cp);
      logger.info({ source: cp.source, startOffsets: cp.startOffsets }, 'reindex: copy starts; the catch-up will start at the live group\'s offsets read now');
    } else {
      logger.info({ source: cp.source, copied: cp.copied, after: cp.copiedThrough }, `reindex: resuming the copy after ${cp.copied} points`);
    }
    const all = await source.scroll();
    const todo = cp.copiedThrough === null ? all : all.filter((p) => p.id > cp!.copiedThrough!);
    cp.total = cp.copied + todo.length;
    const guarded = guardAgainstErasure(next, source, deps.liveCommitted, (n) => metrics.reindexSkipped.inc(n));
    const bar = deps.options.progress ? new SingleBar({ format: 'copy |{bar}| {value}/{total} points | {speed} points/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 }, Presets.shades_classic) : undefined;
    bar?.start(cp.total, cp.copied, { speed: '-' });
    const started = Date.now();
    let copiedNow = 0;
    metrics.reindexRemaining.set({ phase: 'copy' }, todo.length);
    // The model runs in a worker thread: chunk i + 1 is embedded while chunk i is written and
    // checkpointed (writes and checkpoints stay in order, one at a time).
    let writing: Promise<void> = Promise.resolve();
    for (let i = 0; i < todo.length; i += deps.options.chunk) {
      const chunk = todo.slice(i, i + deps.options.chunk);
      const texts = chunk.map((p) => rerenderText(p.payload));
      const keys = chunk.map((p, j) => ({ userId: p.payload.user_id, text: texts[j]! }));
      const cached = cache.getMany(keys);
      const missing = [...new Set(texts.filter((_, j) => cached[j] === undefined))];
      const fresh = missing.length > 0 ? await embedder.embed(missing) : [];
      if (fresh.length !== missing.length) throw new AuraError('INTERNAL', `embedder returned ${fresh.length} vectors for ${missing.length} texts`);
      const byText = new Map(missing.map((t, j) => [t, fresh[j]!]));
      const remaining = todo.length - i - chunk.length;
      await writing;
      const checkpoint = cp;
      writing = (async () => {
        if (fresh.length > 0) await cache.putMany(keys.flatMap((k, j) => (cached[j] === undefined ? [{ ...k, vector: byText.get(k.text)! }] : [])));
        await guarded.upsert(chunk.map((p, j) => reindexedPoint(p, texts[j]!, cached[j] ?? byText.get(texts[j]!)!, plan.version)));
        checkpoint.copied += chunk.length;
        checkpoint.copiedThrough = chunk[chunk.length - 1]!.id;
        checkpoints.save(checkpoint);
        copiedNow += chunk.length;
        metrics.reindexPoints.inc({ phase: 'copy' }, chunk.length);
        metrics.embedTexts.inc(missing.length);
        metrics.reindexRemaining.set({ phase: 'copy' }, remaining);
        const seconds = (Date.now() - started) / 1000;
        bar?.update(checkpoint.copied, { speed: seconds > 0 ? (copiedNow / seconds).toFixed(0) : '-' });
        if (!bar && (i / deps.options.chunk) % 20 === 0) logger.info({ copied: checkpoint.copied, total: checkpoint.total }, `reindex: copied ${checkpoint.copied} of ${checkpoint.total} points`);
      })();
      // Awaited before the next write or after the loop; marked handled so a failure while the
      // next chunk embeds is not an unhandled rejection in between.
      writing.catch(() => undefined);
    }
    await writing;
    bar?.stop();
    cp.copyDone = true;
    checkpoints.save(cp);
    logger.info({ copied: cp.copied, seconds: (Date.now() - started) / 1000 }, `reindex: copy done (${cp.copied} points)`);
    return copiedNow;
  } finally {
    await source.close();
  }
}

/** Composes `aura-stream reindex` and runs it; resolves with the process exit status. */
export async function runReindex(deps: { kafka: Kafka; serde: AvroSerde; config: Config; logger: Logger; metrics: Metrics }, options: ReindexOptions): Promise<number> {
  const { kafka, serde, config, metrics } = deps;
  const logger = deps.logger.child({ stage: REINDEX_STAGE });
  const embedder = await createEmbedder(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  const closing: Array<() => Promise<unknown>> = [() => embedder.close(), () => admin.disconnect()];
  const close = async () => {
    for (const c of closing.reverse()) await c().catch(() => undefined);
  };
  try {
    const plan = await planReindex(config, embedder);
    closing.push(() => plan.store.close());
    const next = withFailpoints(plan.store.open(plan.collection), REINDEX_STAGE, { upsert: 'upsert' });
    await next.ensureCollection(embedder.dimension, plan.version);
    closing.push(() => next.close());
    logger.info(
      { alias: plan.store.alias, current: plan.current.collection, next: plan.collection },
      `reindex: building ${plan.collection} (${describeVersion(plan.version)}) from ${plan.current.collection} (${describeVersion(plan.current.version)}); searches keep answering from ${plan.current.collection}`,
    );
    const cache = openEmbeddingCache({ dir: join(config.stateDir, 'embedding-cache'), modelId: embedder.modelId, modelVersion: cacheModelVersion(plan.version), maxEntries: config.embeddingCacheMaxEntries, dimension: embedder.dimension });
    closing.push(() => cache.close());
    const checkpoints = withFailpoints(new CheckpointFile(checkpointPath(config, plan.collection)), REINDEX_STAGE, { save: 'checkpoint' });
    const liveCommitted = () => committedOffsets(admin, config.vectorizeGroupId, config.aggregatedTopic);
    const startOffsets = async () => {
      const committed = await liveCommitted();
      // A partition the live group never committed: everything there is still to come, from its start.
      return Object.fromEntries((await admin.fetchTopicOffsets(config.aggregatedTopic)).map((o) => [String(o.partition), String(committed.get(o.partition) ?? BigInt(o.low))]));
    };
    metrics.reindexPoints.inc({ phase: 'copy' }, 0);
    metrics.reindexPoints.inc({ phase: 'catchup' }, 0);
    await copyVersion({ plan, next, embedder, cache, checkpoints, liveCommitted, startOffsets, options, logger, metrics });

    // Catch-up: its group starts where the live group was when the copy began.
    const groupId = reindexGroupId(config, plan.collection);
    const cp = checkpoints.load()!;
    if ((await committedOffsets(admin, groupId, config.aggregatedTopic)).size === 0) {
      await admin.setOffsets({ groupId, topic: config.aggregatedTopic, partitions: Object.entries(cp.startOffsets).map(([p, offset]) => ({ partition: Number(p), offset })) });
    }
    const source = new KafkaGroupSource(kafka, { ...compileVectorizeSourceOptions(config), groupId, logger });
    const codec = rerendering(await createVectorizeCodec(serde, { input: config.aggregatedTopic, output: config.vectorizedTopic, erased: config.erasedTopic }));
    const current = plan.store.open(cp.source);
    closing.push(() => current.close());
    const sink = guardAgainstErasure(next, current, liveCommitted, (n) => metrics.reindexSkipped.inc(n));
    const events$ = vectorizeTopology(
      { source, codec, embedder, cache, sink, writer: discardWriter },
      compileVectorizeOptions(config),
    );
    const onEvent = (e: VectorizeEvent) => {
      if (e.type === 'stored') metrics.reindexPoints.inc({ phase: 'catchup' }, e.points);
      if (e.type === 'retrying') logger.warn({ step: e.step, attempt: e.attempt, code: e.error.code }, `reindex catch-up: transient fault in ${e.step}, retrying: ${e.error.message}`);
    };
    const { lifecycle, signals, subscription } = runEvents(events$, vectorizePhases, onEvent);
    let lag: number | undefined;
    const stage: StageHandle = {
      name: REINDEX_STAGE,
      lifecycle,
      signals,
      subscription,
      checks: { vectorStore: () => next.ping() },
      details: () => ({ alias: plan.store.alias, current: plan.current.collection, next: plan.collection, version: plan.version, phase: 'catchup', lag }),
      stop: async () => {
        subscription.unsubscribe();
        await source.stop();
      },
    };
    const done = new AbortController();
    const direct = lazyDirectFetch(kafka, config.aggregatedTopic);
    closing.push(() => direct.close());
    const watch = setInterval(() => {
      void groupLag(admin, groupId, config.aggregatedTopic, direct.get)
        .then((l) => {
          lag = l;
          if (l === undefined) return;
          metrics.reindexRemaining.set({ phase: 'catchup' }, l);
          if (options.untilCaughtUp && l <= options.maxLag) {
            logger.info({ lag: l, maxLag: options.maxLag }, `reindex: caught up (lag ${l} ≤ ${options.maxLag}); promote with \`aura-stream index promote ${plan.collection}\``);
            done.abort();
          }
        })
        .catch((err: unknown) => logger.warn({ err }, 'reindex: lag check failed'));
    }, 1000);
    closing.push(async () => clearInterval(watch));
    logger.info({ groupId }, `reindex: catching up from the aggregated topic (group ${groupId})${options.untilCaughtUp ? `, until the lag is at most ${options.maxLag}` : '; it keeps the new version fresh until stopped (SIGTERM)'}`);
    return await supervise({ config, logger, metrics, stages: [stage], checks: {}, signal: done.signal, exit: (c) => process.exit(c) });
  } finally {
    await close();
  }
}
