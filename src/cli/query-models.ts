import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { describeVersion, type IndexVersion } from '../contracts/index-version.js';
import { AuraError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Embedder, EmbedderInfo } from '../ports.js';
import { createTransformersEmbedder, modelFolderIdentity } from '../adapters/transformers-embedder.js';
import { requireQueryModel, type AliasTarget } from './index-versions.js';

type ModelIdentity = Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'>;

/** True when an embedder of `model` encodes queries comparable with the vectors of `version`. */
export function modelMatches(version: IndexVersion, model: ModelIdentity): boolean {
  return version.model_id === model.modelId && version.model_version === model.modelVersion && (version.manifest_sha256 === '' || version.manifest_sha256 === model.manifestSha256);
}

/**
 * The local folder holding the model of `version`: EMBEDDING_MODEL_PATH when it is that model, else
 * the folder under EMBEDDING_MODELS_DIR (default: the models `aura-stream stack up` lays out, the
 * image's /models) whose manifest names the same model id, ONNX hash and manifest hash. Undefined
 * when none does.
 */
export function findModelFolder(config: Pick<Config, 'embeddingModelPath' | 'embeddingModelsDir'>, version: IndexVersion): string | undefined {
  const candidates: string[] = [];
  if (config.embeddingModelPath) candidates.push(resolve(config.embeddingModelPath));
  if (config.embeddingModelsDir) {
    try {
      for (const e of readdirSync(config.embeddingModelsDir, { withFileTypes: true })) if (e.isDirectory()) candidates.push(join(resolve(config.embeddingModelsDir), e.name));
    } catch {
      // No such folder: only EMBEDDING_MODEL_PATH is a candidate.
    }
  }
  return candidates.find((folder) => {
    const identity = modelFolderIdentity(folder);
    return identity !== undefined && modelMatches(version, identity);
  });
}

const keyOf = (v: Pick<IndexVersion, 'model_id' | 'model_version' | 'manifest_sha256'>) => `${v.model_id}\u0000${v.model_version}\u0000${v.manifest_sha256}`;
const keyOfModel = (m: ModelIdentity) => keyOf({ model_id: m.modelId, model_version: m.modelVersion, manifest_sha256: m.manifestSha256 });

/** One model of a QueryModels: its load, the requests using it, and when it was last asked for. */
interface Entry {
  readonly key: string;
  readonly loading: Promise<Embedder>;
  /** set once the load has finished */
  embedder?: Embedder;
  /** requests inside `use` with this model */
  refs: number;
  /** order of the last request (higher = more recent) */
  lastUsed: number;
  /** taken out of the cache: closed when `refs` comes to 0 */
  evicted: boolean;
}

export interface QueryModelsOptions {
  /** Loads the model in a folder (default: createTransformersEmbedder with EMBEDDING_THREADS). */
  readonly loadFolder?: (folder: string) => Promise<Embedder>;
  /**
   * Loads the configured model again after it was unloaded (serve: createEmbedder of the
   * configuration, which also reaches a hub model). Default: its folder, found like any version's.
   */
  readonly reloadConfigured?: () => Promise<Embedder>;
}

/**
 * The query encoders of a reader that follows the alias (`aura-stream serve`): for each index
 * version the alias points to, the embedder of that version's model (its query prefix and pooling
 * come from the folder's manifest, which the version's manifest hash pins). Each model is loaded
 * on the first request for its version (or the first readiness probe after a promote, which warms
 * it); requests arriving while it loads wait for the same load. A failed load is not cached: the
 * next request tries again. At most SERVE_MAX_MODELS models stay loaded (the configured one
 * counts): loading one more unloads the least recently used, closed once no request in `use`
 * holds it. The sparse encoder (BM25 terms, src/adapters/sparse-text.ts) is the same for every
 * version and needs nothing here.
 */
export class QueryModels {
  /** The loaded (or loading) models by version key, at most `maxModels` of them loaded. */
  private readonly entries = new Map<string, Entry>();
  /** Evicted models still used by a request: closed by the last one, or by `close`. */
  private readonly draining = new Set<Entry>();
  private readonly initialKey: string;
  private readonly initialIdentity: ModelIdentity;
  private tick = 0;
  private closed = false;

  constructor(
    private readonly config: Pick<Config, 'embeddingModelPath' | 'embeddingModelsDir' | 'embeddingThreads' | 'serveMaxModels'>,
    private readonly logger: Logger,
    /** The configured model, loaded at start: it answers a legacy (unversioned) index and its own version. Owned from here on: `close` closes it. */
    initial: Embedder,
    private readonly options: QueryModelsOptions = {},
  ) {
    this.initialIdentity = { modelId: initial.modelId, modelVersion: initial.modelVersion, manifestSha256: initial.manifestSha256 };
    this.initialKey = keyOfModel(initial);
    this.entries.set(this.initialKey, { key: this.initialKey, loading: Promise.resolve(initial), embedder: initial, refs: 0, lastUsed: 0, evicted: false });
  }

  /** The models loaded now (for tests and /readyz). */
  get loadedCount(): number {
    return [...this.entries.values()].filter((e) => e.embedder !== undefined).length;
  }

  /**
   * Runs `fn` with the embedder of `target`'s version, loading its model if needed (MODEL_LOAD when
   * no folder holds it); the model is not closed while `fn` runs, even if it is unloaded meanwhile.
   */
  async use<T>(target: AliasTarget, fn: (embedder: Embedder) => Promise<T>): Promise<T> {
    const entry = await this.acquire(target);
    try {
      return await fn(entry.embedder as Embedder);
    } finally {
      await this.release(entry);
    }
  }

  /** Loads (warms) the model of `target`'s version and returns it; embed with it through `use`, which keeps it open. */
  async forTarget(target: AliasTarget): Promise<Embedder> {
    return this.use(target, async (embedder) => embedder);
  }

  /** The model of `target`'s version when it is loaded now, else undefined (for /readyz). */
  loaded(target: AliasTarget): Embedder | undefined {
    return this.entries.get(this.keyOfTarget(target))?.embedder;
  }

  /** True when a model folder for `target`'s version exists (loaded or not). */
  available(target: AliasTarget): boolean {
    const v = target.version;
    return v === undefined || modelMatches(v, this.initialIdentity) || findModelFolder(this.config, v) !== undefined;
  }

  /** The configured model answers a legacy index and its own version; any other version is its own key. */
  private keyOfTarget(target: AliasTarget): string {
    const v = target.version;
    // An older version may record no manifest hash: any folder with the same model and ONNX answers it.
    return v === undefined || modelMatches(v, this.initialIdentity) ? this.initialKey : keyOf(v);
  }

  private async acquire(target: AliasTarget): Promise<Entry> {
    if (this.closed) throw new AuraError('INTERNAL', 'the query models are closed');
    const key = this.keyOfTarget(target);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const loading = key === this.initialKey ? this.reloadConfigured(target) : this.load(target, target.version as IndexVersion);
      const created: Entry = { key, loading, refs: 0, lastUsed: 0, evicted: false };
      entry = created;
      this.entries.set(key, created);
      loading.then(
        (embedder) => {
          created.embedder = embedder;
          this.trim(created);
        },
        () => {
          if (this.entries.get(key) === created) this.entries.delete(key);
        },
      );
    }
    entry.refs += 1;
    entry.lastUsed = ++this.tick;
    try {
      const embedder = await entry.loading;
      requireQueryModel(target, embedder);
      return entry;
    } catch (err) {
      await this.release(entry);
      throw err;
    }
  }

  private async release(entry: Entry): Promise<void> {
    entry.refs -= 1;
    if (entry.evicted && entry.refs === 0 && this.draining.delete(entry)) await this.unload(entry);
  }

  /** Unloads the least recently used models (never `keep`, nor one still loading) until at most `serveMaxModels` are loaded. */
  private trim(keep: Entry): void {
    const loaded = [...this.entries.values()].filter((e) => e.embedder !== undefined);
    const excess = loaded.length - this.config.serveMaxModels;
    if (excess <= 0) return;
    const victims = loaded.filter((e) => e !== keep).sort((a, b) => a.lastUsed - b.lastUsed).slice(0, excess);
    for (const victim of victims) {
      this.entries.delete(victim.key);
      victim.evicted = true;
      if (victim.refs > 0) this.draining.add(victim);
      else void this.unload(victim);
    }
  }

  private async unload(entry: Entry): Promise<void> {
    const embedder = entry.embedder as Embedder;
    this.logger.info({ model_id: embedder.modelId, model_version: embedder.modelVersion, max_models: this.config.serveMaxModels }, 'serve: query model unloaded (least recently used)');
    await embedder.close().catch((err: unknown) => this.logger.warn({ err, model_id: embedder.modelId }, 'serve: closing an unloaded query model failed'));
  }

  private async reloadConfigured(target: AliasTarget): Promise<Embedder> {
    const identity = this.initialIdentity;
    if (this.options.reloadConfigured) {
      this.logger.info({ collection: target.collection }, `serve: loading the configured model ${identity.modelId} again for queries on ${target.collection}`);
      return this.options.reloadConfigured();
    }
    return this.load(target, { model_id: identity.modelId, model_version: identity.modelVersion, manifest_sha256: identity.manifestSha256, text_version: target.version?.text_version ?? 0 });
  }

  private async load(target: AliasTarget, v: IndexVersion): Promise<Embedder> {
    const folder = findModelFolder(this.config, v);
    if (folder === undefined) {
      throw new AuraError(
        'MODEL_LOAD',
        `the index "${target.alias}" answers from ${target.collection} (${describeVersion(v)}), and no model folder here holds that model: ` +
          `searched EMBEDDING_MODEL_PATH (${this.config.embeddingModelPath ?? 'unset'}) and the folders under EMBEDDING_MODELS_DIR (${this.config.embeddingModelsDir ?? 'unset'}). ` +
          'Fix: put the model folder of that version under EMBEDDING_MODELS_DIR (`aura-stream stack up` lays out every model the project knows; the image carries them in /app/models).',
      );
    }
    const started = Date.now();
    this.logger.info({ collection: target.collection, folder }, `serve: loading the model of ${describeVersion(v)} for queries on ${target.collection}`);
    const embedder = await (this.options.loadFolder ?? ((modelPath: string) => createTransformersEmbedder({ modelPath, threads: this.config.embeddingThreads, logger: this.logger })))(folder);
    if (!modelMatches(v, embedder)) {
      await embedder.close();
      throw new AuraError('MODEL_LOAD', `the model in ${folder} loaded as ${embedder.modelId} (${embedder.modelVersion}, manifest ${embedder.manifestSha256.slice(0, 12)}), not ${describeVersion(v)}: its manifest does not describe its files. Fix: lay the folder out again (\`aura-stream stack up\`)`);
    }
    this.logger.info({ collection: target.collection, model_id: embedder.modelId, ms: Date.now() - started }, 'serve: query model loaded');
    return embedder;
  }

  /** Closes every model loaded here, the configured one included (call it once no request runs). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.entries.values(), ...this.draining];
    this.entries.clear();
    this.draining.clear();
    for (const entry of all) {
      const e = await entry.loading.catch(() => undefined);
      await e?.close();
    }
  }
}
