import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { AuraError } from '../errors.js';
import { describeVersion, versionCollection, type IndexVersion } from '../contracts/index-version.js';
import type { EmbedderInfo, IndexCatalog, VectorSink } from '../ports.js';
import { QdrantSink } from '../adapters/qdrant-sink.js';
import { compileQdrantSinkOptions } from './options.js';
import { TEXT_VERSION } from '../pipeline/index.js';

/**
 * The embedded LanceDB store, or why it is absent: an image built with `--build-arg
 * VECTOR_STORES=qdrant` leaves its packages out (deploy/Dockerfile). Only a missing package counts
 * as absent; any other failure to load is a defect and is thrown.
 */
const lancedb = await import('../adapters/lancedb-sink.js').catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ERR_MODULE_NOT_FOUND' && /'(@lancedb\/lancedb|apache-arrow)'/.test(e.message ?? '')) return err as Error;
  throw err;
});

/**
 * Versioned indexes behind an alias (docs/reindex.md): which physical collection a writer writes,
 * which one readers read, and erasure across all of them.
 */

/** A store handle named after the alias (VECTOR_COLLECTION); `open(name)` reaches a physical collection. */
export type VectorStore = VectorSink & IndexCatalog;

/** Qdrant when QDRANT_URL is set, else the embedded LanceDB folder under STATE_DIR. Named after the alias. */
export function createVectorStore(config: Config): VectorStore {
  if (config.qdrantUrl) {
    return new QdrantSink(compileQdrantSinkOptions(config));
  }
  if (lancedb instanceof Error) {
    throw new AuraError('CONFIG', 'QDRANT_URL is unset and the embedded LanceDB store is not installed (an image built with VECTOR_STORES=qdrant). Fix: set QDRANT_URL, or build the image with the default VECTOR_STORES=qdrant,lancedb', { cause: lancedb });
  }
  return new lancedb.LanceDbSink({ dir: resolve(config.stateDir, 'lancedb'), collection: config.collection });
}

/** The index version a process with this embedder writes: its model and this build's text version. */
export function indexVersionOf(embedder: Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'>, textVersion: number = TEXT_VERSION): IndexVersion {
  return { model_id: embedder.modelId, model_version: embedder.modelVersion, manifest_sha256: embedder.manifestSha256, text_version: textVersion };
}

/**
 * The model version the embedding cache keys a version's vectors by: the ONNX hash and the
 * manifest hash (the same file pooled another way gives other vectors). The vectorize stage, the
 * reindex and `index drop` must agree on it.
 */
export function cacheModelVersion(v: Pick<IndexVersion, 'model_version' | 'manifest_sha256'>): string {
  return `${v.model_version}/${v.manifest_sha256.slice(0, 16)}`;
}

/** What the alias resolves to: the physical collection that answers reads, and its version. */
export interface AliasTarget {
  alias: string;
  collection: string;
  /** Undefined for a legacy (unversioned) collection. */
  version: IndexVersion | undefined;
  /** True when `collection` is a real collection named like the alias (a deployment from before versions). */
  legacy: boolean;
}

/**
 * The one place readers (`search`, `serve`) learn which version answers: the alias's target and its
 * recorded {model_id, model_version, manifest_sha256, text_version}; undefined when the store holds
 * neither an alias nor a legacy collection. Resolve per request: the answer changes on promote.
 */
export async function resolveAliasTarget(store: IndexCatalog): Promise<AliasTarget | undefined> {
  const target = await store.aliasTarget();
  if (target !== undefined) return { alias: store.alias, collection: target, version: await store.recordedVersion(target), legacy: false };
  if (await store.hasLegacy()) return { alias: store.alias, collection: store.alias, version: undefined, legacy: true };
  return undefined;
}

/**
 * A reader's check that it encodes queries with the model of the version that answers: vectors
 * of two models are not comparable. A legacy target records no version: accepted.
 */
export function requireQueryModel(target: AliasTarget, embedder: Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'>): void {
  const v = target.version;
  if (v === undefined || (v.model_id === embedder.modelId && v.model_version === embedder.modelVersion && (v.manifest_sha256 === '' || v.manifest_sha256 === embedder.manifestSha256))) return;
  throw new AuraError(
    'CONFIG',
    `the index "${target.alias}" answers from ${target.collection} (${describeVersion(v)}), but this process loads model ${embedder.modelId} (${embedder.modelVersion.slice(0, 12)}): ` +
      'its query vectors would not be comparable. Fix: set EMBEDDING_MODEL / EMBEDDING_MODEL_PATH to that version\'s model, or promote the version of this model (`aura-stream index promote`).',
  );
}

/** Where a writer of `version` writes, and how that relates to the alias. */
export interface WriterIndex {
  /** The physical collection of the writer's version (created and checked). */
  sink: VectorStore;
  version: IndexVersion;
  /** `current`: the alias points here; `preparing`: another collection answers reads until promote. */
  state: 'current' | 'preparing';
  /** What the alias points to after start (undefined never: a first start creates it). */
  target: AliasTarget;
  /** One line for logs and /readyz. */
  summary: string;
}

/**
 * Opens the writer's version collection (creating it with its version recorded, refusing one that
 * records another version), and on the very first start (no alias, no legacy collection) points
 * the alias at it. A version that differs from the alias target is not an error: the writer
 * prepares it, and says so.
 */
export async function openWriterIndex(store: VectorStore, version: IndexVersion, dimension: number): Promise<WriterIndex> {
  const collection = versionCollection(store.alias, version);
  const sink = store.open(collection);
  await sink.ensureCollection(dimension, version);
  let target = await resolveAliasTarget(store);
  if (target === undefined) {
    await store.setAlias(collection);
    target = { alias: store.alias, collection, version, legacy: false };
  }
  const current = target.collection === collection;
  const summary = current
    ? `index "${store.alias}" → ${collection} (${describeVersion(version)}): writing the current version`
    : `index "${store.alias}" → ${target.collection} (${describeVersion(target.version)}); this process writes ${collection} (${describeVersion(version)}), a version in preparation: ` +
      'searches answer from the alias target until `aura-stream reindex` has filled this one and `aura-stream index promote` swaps the alias';
  return { sink, version, state: current ? 'current' : 'preparing', target, summary };
}

/**
 * The writer as the vectorize stage sees it: upserts go to `sink` (its version's collection);
 * deleteUser deletes there and then in every other physical collection of the alias (other
 * versions, a legacy collection), so an erasure the stage confirms leaves no point of the user in
 * any version, also one a reindex is building; it returns the count of its own collection. Its
 * `collection` is the alias: ContextVectorized and ErasureCompleted name the index readers use
 * (the physical collection is on /readyz).
 */
export function versionedWriter(sink: VectorStore, store: VectorStore): VectorStore {
  const deleteUser = async (userId: string, before?: number): Promise<number> => {
    const own = await sink.deleteUser(userId, before);
    for (const c of await store.collections()) {
      if (c.collection === sink.collection) continue;
      const other = store.open(c.collection);
      try {
        await other.deleteUser(userId, before);
      } catch (err) {
        // Dropped between the listing and the delete: nothing of the user is left there.
        if ((await store.collections()).some((x) => x.collection === c.collection)) throw err;
      } finally {
        await other.close();
      }
    }
    return own;
  };
  return new Proxy(sink, {
    get(target, prop) {
      if (prop === 'deleteUser') return deleteUser;
      if (prop === 'collection') return store.alias;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

