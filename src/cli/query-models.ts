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

/**
 * The query encoders of a reader that follows the alias (`aura-stream serve`): for each index
 * version the alias points to, the embedder of that version's model (its query prefix and pooling
 * come from the folder's manifest, which the version's manifest hash pins). Each model is loaded
 * once, on the first request for its version (or the first readiness probe after a promote, which
 * warms it), and kept until `close`; requests arriving while it loads wait for the same load. A
 * failed load is not cached: the next request tries again. The sparse encoder (BM25 terms,
 * src/adapters/sparse-text.ts) is the same for every version and needs nothing here.
 */
export class QueryModels {
  private readonly models = new Map<string, Promise<Embedder>>();
  private readonly all: Array<Promise<Embedder>> = [];
  /** The models whose load has finished, by version key. */
  private readonly ready = new Map<string, Embedder>();

  constructor(
    private readonly config: Pick<Config, 'embeddingModelPath' | 'embeddingModelsDir' | 'embeddingThreads'>,
    private readonly logger: Logger,
    /** The configured model, loaded at start: it answers a legacy (unversioned) index and its own version. */
    private readonly initial: Embedder,
  ) {
    this.models.set(keyOf({ model_id: initial.modelId, model_version: initial.modelVersion, manifest_sha256: initial.manifestSha256 }), Promise.resolve(initial));
  }

  /** The embedder that encodes queries for `target`'s version, loading its model if needed (MODEL_LOAD when no folder holds it). */
  async forTarget(target: AliasTarget): Promise<Embedder> {
    const v = target.version;
    if (v === undefined || modelMatches(v, this.initial)) return this.initial;
    // An older version may record no manifest hash: any folder with the same model and ONNX answers it.
    const key = keyOf(v);
    let loading = this.models.get(key);
    if (loading === undefined) {
      loading = this.load(target, v).then((e) => {
        this.ready.set(key, e);
        return e;
      });
      this.models.set(key, loading);
      this.all.push(loading);
      loading.catch(() => {
        if (this.models.get(key) === loading) this.models.delete(key);
      });
    }
    const embedder = await loading;
    requireQueryModel(target, embedder);
    return embedder;
  }

  /** The model of `target`'s version when it is loaded now, else undefined (for /readyz). */
  loaded(target: AliasTarget): Embedder | undefined {
    const v = target.version;
    if (v === undefined || modelMatches(v, this.initial)) return this.initial;
    return this.ready.get(keyOf(v));
  }

  /** True when a model folder for `target`'s version exists (loaded or not). */
  available(target: AliasTarget): boolean {
    const v = target.version;
    return v === undefined || modelMatches(v, this.initial) || findModelFolder(this.config, v) !== undefined;
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
    const embedder = await createTransformersEmbedder({ modelPath: folder, threads: this.config.embeddingThreads, logger: this.logger });
    if (!modelMatches(v, embedder)) {
      await embedder.close();
      throw new AuraError('MODEL_LOAD', `the model in ${folder} loaded as ${embedder.modelId} (${embedder.modelVersion}, manifest ${embedder.manifestSha256.slice(0, 12)}), not ${describeVersion(v)}: its manifest does not describe its files. Fix: lay the folder out again (\`aura-stream stack up\`)`);
    }
    this.logger.info({ collection: target.collection, model_id: embedder.modelId, ms: Date.now() - started }, 'serve: query model loaded');
    return embedder;
  }

  /** Closes every model loaded here (the initial one is the caller's). */
  async close(): Promise<void> {
    for (const loading of this.all.splice(0)) {
      const e = await loading.catch(() => undefined);
      await e?.close();
    }
    this.models.clear();
    this.ready.clear();
  }
}
