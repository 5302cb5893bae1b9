import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { FeatureExtractionPipeline, PretrainedModelOptions } from '@huggingface/transformers';
import { AuraError } from '../errors.js';
import type { EmbedderInfo } from '../ports.js';
import type { EmbeddingRecipe, ForwardPass, LoadReport, TransformersEmbedder, TransformersEmbedderOptions } from './embedder-types.js';
import { startEmbedderWorker } from './embedder-worker-client.js';

/**
 * An embedding model through @huggingface/transformers v3 (onnxruntime-node underneath), 8-bit
 * quantized: bge-small-en-v1.5 (CLS pooled, queries prefixed) or all-MiniLM-L6-v2 (mean pooled),
 * as the model folder's manifest says.
 *
 * Local model folder (`modelPath`, the stack lays it out from the langchain4j jar):
 *
 *   <modelPath>/config.json             {"model_type": "bert", "hidden_size": 384, …}
 *   <modelPath>/tokenizer.json          HF `tokenizers` JSON (BertNormalizer lowercase, WordPiece)
 *   <modelPath>/tokenizer_config.json   {"tokenizer_class": "BertTokenizer", "pad_token": "[PAD]",
 *                                        "model_max_length": 256, …}
 *   <modelPath>/onnx/model_quantized.onnx  inputs input_ids, attention_mask, token_type_ids;
 *                                        output last_hidden_state [batch, tokens, 384]
 *   <modelPath>/manifest.json           optional (grammar at `readManifest`): model id, ONNX sha256,
 *                                        pooling, query prefix, dimension, normalisation
 *
 * transformers.js resolves the ONNX file as `<subfolder>/<model_file_name><dtype suffix>.onnx`;
 * this adapter always asks for subfolder `onnx`, file `model`, dtype `q8` (suffix `_quantized`).
 *
 * onnxruntime-node 1.21 runs a session synchronously on the JS thread (inside a setImmediate), so a
 * forward pass blocks the event loop of the thread it runs on for its whole duration. By default
 * (`inference: 'worker'`) the model lives in a worker thread (src/adapters/embedder-worker.ts), so
 * Kafka heartbeats, fetches, commits and /metrics keep running while a batch embeds; the vectors
 * are the same bytes as in-thread (same code, same session options, Float32Arrays moved as is).
 */

export type { EmbedderLogger, EmbeddingRecipe, ForwardPass, Inference, LoadReport, TransformersEmbedder, TransformersEmbedderOptions } from './embedder-types.js';

/** What `readManifest` found: the recipe always, the rest when the folder has a manifest. */
interface Manifest {
  modelId?: string;
  sha256?: string;
  recipe: EmbeddingRecipe;
  /** The parsed manifest.json, hashed into `manifestSha256`. */
  canonical?: Record<string, unknown>;
}

export const DEFAULT_MODEL_ID = 'Xenova/all-MiniLM-L6-v2';
/** What a folder without manifest.json (or a hub model) is taken to be: all-MiniLM-L6-v2's recipe. */
export const DEFAULT_EMBEDDING: EmbeddingRecipe = { pooling: 'mean', normalize: true, queryPrefix: '' };
export const DEFAULT_MAX_TOKENS = 256;
const DTYPE = 'q8';
const SUBFOLDER = 'onnx';
const MODEL_FILE = 'model';
/** The file `DTYPE`, `SUBFOLDER` and `MODEL_FILE` make transformers.js open. */
export const ONNX_FILE = `${SUBFOLDER}/${MODEL_FILE}_quantized.onnx`;
export const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX_FILE] as const;
/** Tolerance on ‖v‖₂ of an output vector. */
const NORM_TOLERANCE = 1e-3;

/**
 * Sentences checked at load time: the first two mean the same, the third does not. A model or
 * tokenizer that cannot rank them (wrong vocabulary, truncated file, a different network) is a
 * load error rather than a stream of plausible-looking garbage.
 */
const PROBE = [
  'I feel calm and happy after my morning run.',
  'After jogging this morning I am relaxed and in a good mood.',
  'The quarterly invoice was paid by bank transfer.',
] as const;

/**
 * Loads the model and checks it (dimension, finite unit vectors, one paraphrase probe).
 * Any failure is an `AuraError('MODEL_LOAD')` naming the path or id and the fix; the stage must
 * stop on it rather than embed with a stand-in.
 */
export async function createTransformersEmbedder(options: TransformersEmbedderOptions): Promise<TransformersEmbedder> {
  const inference = options.inference ?? 'worker';
  if (inference !== 'worker' && inference !== 'in-thread') {
    throw new AuraError('CONFIG', `inference must be worker or in-thread, got ${String(options.inference)}`);
  }
  if (inference === 'in-thread') return loadInThread(options);
  checkOptions(options);
  const { logger, onWorker, ...rest } = options;
  const where = rest.modelPath ? resolve(rest.modelPath) : `the Hugging Face hub (${rest.modelId ?? DEFAULT_MODEL_ID})`;
  const embedder = await startEmbedderWorker({ ...rest, inference: 'in-thread' }, where, onWorker);
  logger?.info({ ...embedder.loadReport, inference }, 'embedding model loaded');
  return embedder;
}

function checkOptions(options: TransformersEmbedderOptions): { threads: number; maxTokens: number; forwardPass: ForwardPass } {
  const threads = options.threads;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new AuraError('CONFIG', `EMBEDDING_THREADS must be an integer ≥ 1, got ${String(options.threads)}`);
  }
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 3) {
    throw new AuraError('CONFIG', `maxTokens must be an integer ≥ 3, got ${String(options.maxTokens)}`);
  }
  const forwardPass = options.forwardPass ?? 'per-text';
  if (forwardPass !== 'per-text' && forwardPass !== 'per-batch') {
    throw new AuraError('CONFIG', `forwardPass must be per-text or per-batch, got ${String(options.forwardPass)}`);
  }
  return { threads, maxTokens, forwardPass };
}


/** The model on the calling thread: what `inference: 'in-thread'` returns and the worker runs. */
export async function loadInThread(options: TransformersEmbedderOptions): Promise<TransformersEmbedder & { loadReport: LoadReport }> {
  const { threads, maxTokens, forwardPass } = checkOptions(options);
  const started = performance.now();
  const local = options.modelPath !== undefined && options.modelPath !== '';
  const folder = local ? resolve(options.modelPath as string) : undefined;
  const hubId = options.modelId ?? DEFAULT_MODEL_ID;
  const where = folder ?? `the Hugging Face hub (${hubId})`;

  // Imported here, not at the top: with `inference: 'worker'` only the worker thread needs the
  // library (the caller's thread loads just the binding, see embedder-worker-client.ts).
  const { env, pipeline } = await import('@huggingface/transformers');
  const loadFeatureExtraction = pipeline as unknown as LoadFeatureExtraction;
  let extractor: FeatureExtractionPipeline;
  let modelId: string;
  let modelVersion: string;
  let manifest: Manifest = { recipe: DEFAULT_EMBEDDING };
  try {
    let localVersion: string | undefined;
    if (folder !== undefined) {
      checkFolder(folder);
      manifest = readManifest(folder);
      localVersion = versionOf(join(folder, ONNX_FILE), manifest.sha256);
      modelId = manifest.modelId ?? basename(folder);
      // transformers.js looks a bare id up under env.localModelPath; these are process-wide and read
      // when a model loads, so they are set right before this load.
      env.localModelPath = dirname(folder);
      env.allowLocalModels = true;
      env.allowRemoteModels = false;
    } else {
      modelId = hubId;
      env.allowRemoteModels = true;
    }
    // transformers.js finds a local model as <localModelPath>/<id>: the folder's own name, whatever
    // id the manifest reports.
    extractor = await loadFeatureExtraction('feature-extraction', folder !== undefined ? basename(folder) : modelId, {
      dtype: DTYPE,
      subfolder: SUBFOLDER,
      model_file_name: MODEL_FILE,
      local_files_only: folder !== undefined,
      device: 'cpu',
      // Handed to onnxruntime-node's InferenceSession.create as is (transformers.js 3.x, Node).
      session_options: { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' },
    });
    modelVersion = localVersion ?? versionOf(findHubFile(hubId, [env.cacheDir, env.localModelPath]), undefined);
  } catch (error) {
    throw loadError(where, error);
  }

  const tokenizer = extractor.tokenizer as { model_max_length?: number };
  tokenizer.model_max_length = Math.min(tokenizer.model_max_length ?? Infinity, maxTokens);
  const hiddenSize = (extractor.model.config as { hidden_size?: unknown }).hidden_size;

  const { pooling, normalize, queryPrefix } = manifest.recipe;
  let closed = false;
  let dimension = 0;
  const pass = async (texts: string[]): Promise<Float32Array[]> => {
    if (closed) throw new AuraError('INTERNAL', 'embedder used after close()');
    const output = await extractor(texts, { pooling, normalize });
    return unpack(output.dims, output.data, texts.length, dimension || undefined, normalize);
  };
  const run = async (texts: string[]): Promise<Float32Array[]> => {
    if (texts.length === 0) return [];
    if (forwardPass === 'per-batch') return pass(texts);
    const out: Float32Array[] = [];
    // Sequential on purpose: onnxruntime-node runs a session on the JS thread, so one text at a time
    // also hands the event loop back between texts instead of blocking it for the whole batch.
    for (const text of texts) out.push(...(await pass([text])));
    return out;
  };

  try {
    const probe = await run([...PROBE]);
    dimension = probe[0]?.length ?? 0;
    if (typeof hiddenSize === 'number' && hiddenSize !== dimension) {
      throw new Error(`config.json says hidden_size ${hiddenSize} but the network outputs ${dimension} values per token`);
    }
    if (manifest.recipe.dimension !== undefined && manifest.recipe.dimension !== dimension) {
      throw new Error(`manifest.json says dimension ${manifest.recipe.dimension} but the network outputs ${dimension} values`);
    }
    const [a, b, c] = probe as [Float32Array, Float32Array, Float32Array];
    const paraphrase = dot(a, b);
    const unrelated = dot(a, c);
    if (!(paraphrase > unrelated)) {
      throw new Error(
        `probe failed: a paraphrase scored cosine ${paraphrase.toFixed(4)}, not above an unrelated sentence (${unrelated.toFixed(4)}); ` +
          'the tokenizer and the ONNX file probably do not belong together',
      );
    }
  } catch (error) {
    await extractor.dispose().catch(() => undefined);
    throw loadError(where, error);
  }

  const manifestSha256 = manifestHash(manifest.canonical ?? { model_id: modelId, onnx_sha256: modelVersion, embedding: DEFAULT_EMBEDDING });
  const loadReport: LoadReport = {
    modelId,
    modelVersion,
    manifestSha256,
    pooling,
    normalize,
    queryPrefix,
    dimension,
    threads,
    forwardPass,
    maxTokens: tokenizer.model_max_length,
    source: folder ?? `hub:${hubId}`,
    loadMs: Math.round(performance.now() - started),
  };
  options.logger?.info({ ...loadReport, inference: 'in-thread' }, 'embedding model loaded');

  return {
    modelId,
    modelVersion,
    manifestSha256,
    queryPrefix,
    dimension,
    threads,
    forwardPass,
    inference: 'in-thread',
    loadReport,
    source: loadReport.source,
    embed: run,
    embedQueries: (texts) => run(texts.map((t) => queryPrefix + t)),
    async close() {
      if (closed) return;
      closed = true;
      await extractor.dispose();
    },
  };
}

/**
 * `pipeline('feature-extraction', …)` with its result type spelled out: the library's generic
 * `AllTasks[T]` lookup can hit TS2590 ("union type too complex") under some compiler settings.
 */
type LoadFeatureExtraction = (
  task: 'feature-extraction',
  model: string,
  options: PretrainedModelOptions,
) => Promise<FeatureExtractionPipeline>;

/** The MODEL_LOAD error every load failure becomes: names where it looked and how to fix it. */
export function loadError(where: string, cause: unknown): AuraError {
  if (cause instanceof AuraError && cause.code === 'MODEL_LOAD') return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AuraError(
    'MODEL_LOAD',
    `could not load embedding model from ${where}: ${reason}. Run \`aura-stream stack up\` to fetch it, ` +
      `or set EMBEDDING_MODEL_PATH to a folder with ${REQUIRED_FILES.join(', ')}`,
    { cause },
  );
}

function checkFolder(folder: string): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new Error('no such folder');
  const missing = REQUIRED_FILES.filter((file) => !existsSync(join(folder, file)));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}`);
}

/**
 * What this adapter reads from the optional `manifest.json` (other fields are kept for the hash
 * but not interpreted):
 *   { "model_id"?: string, "onnx_sha256"?: "<64 hex>"  (`sha256` is accepted for the latter),
 *     "embedding"?: { "pooling"?: "mean" | "cls", "normalize"?: boolean, "dimension"?: number,
 *                     "query_prefix"?: string } }
 * `model_id` becomes `modelId` (default: the folder's name); the sha256 is checked against the
 * file; `embedding` says how token vectors become one vector (default: mean pooled, normalised)
 * and which text precedes a query (default none; documents never get one). A bad value is a load
 * error, not a silent default: a wrong pooling gives plausible but wrong vectors.
 */
function readManifest(folder: string): Manifest {
  const path = join(folder, 'manifest.json');
  if (!existsSync(path)) return { recipe: DEFAULT_EMBEDDING };
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const sha = manifest.onnx_sha256 ?? manifest.sha256;
  const id = manifest.model_id;
  return {
    ...(typeof id === 'string' && id !== '' ? { modelId: id } : {}),
    ...(typeof sha === 'string' && /^[0-9a-f]{64}$/i.test(sha) ? { sha256: sha.toLowerCase() } : {}),
    recipe: recipeOf(manifest.embedding),
    canonical: manifest,
  };
}

/**
 * Which model a local folder holds, as an embedder loaded from it would report it (modelId,
 * modelVersion, manifestSha256), without loading the network: read from manifest.json (the ONNX
 * file is hashed only when the manifest records no sha256; the load checks it against the file).
 * Undefined when the folder is not a model folder (no config.json or ONNX file) or its manifest
 * cannot be read. Readers use it to find the model of an index version (src/cli/query-models.ts).
 */
export function modelFolderIdentity(folder: string): Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'> | undefined {
  try {
    if (!existsSync(join(folder, 'config.json')) || !existsSync(join(folder, ONNX_FILE))) return undefined;
    const manifest = readManifest(folder);
    const modelId = manifest.modelId ?? basename(folder);
    const modelVersion = manifest.sha256 !== undefined ? manifest.sha256.slice(0, 16) : versionOf(join(folder, ONNX_FILE), undefined);
    const manifestSha256 = manifestHash(manifest.canonical ?? { model_id: modelId, onnx_sha256: modelVersion, embedding: DEFAULT_EMBEDDING });
    return { modelId, modelVersion, manifestSha256 };
  } catch {
    return undefined;
  }
}

function recipeOf(raw: unknown): EmbeddingRecipe {
  if (raw === undefined) return DEFAULT_EMBEDDING;
  if (raw === null || typeof raw !== 'object') throw new Error('manifest.json: embedding must be an object');
  const e = raw as Record<string, unknown>;
  const pooling = e.pooling ?? DEFAULT_EMBEDDING.pooling;
  if (pooling !== 'mean' && pooling !== 'cls') throw new Error(`manifest.json: embedding.pooling must be mean or cls, got ${JSON.stringify(e.pooling)}`);
  const normalize = e.normalize ?? DEFAULT_EMBEDDING.normalize;
  if (typeof normalize !== 'boolean') throw new Error(`manifest.json: embedding.normalize must be a boolean, got ${JSON.stringify(e.normalize)}`);
  const queryPrefix = e.query_prefix ?? DEFAULT_EMBEDDING.queryPrefix;
  if (typeof queryPrefix !== 'string') throw new Error(`manifest.json: embedding.query_prefix must be a string, got ${JSON.stringify(e.query_prefix)}`);
  const dimension = e.dimension;
  if (dimension !== undefined && !(Number.isInteger(dimension) && (dimension as number) > 0)) {
    throw new Error(`manifest.json: embedding.dimension must be a positive integer, got ${JSON.stringify(dimension)}`);
  }
  return { pooling, normalize, queryPrefix, ...(dimension !== undefined && { dimension: dimension as number }) };
}

/** Manifest fields that record when or how a folder was made, not what its vectors are. */
const VOLATILE_MANIFEST_FIELDS = new Set(['created_at']);

/**
 * sha256 (hex) of the manifest in canonical JSON (keys sorted, volatile fields dropped): equal for
 * two layouts of the same files and recipe, different when a file, the pooling or the prefix
 * changes. A folder without manifest hashes its model id, ONNX version and the default recipe.
 */
export function manifestHash(manifest: Record<string, unknown>): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .filter((k) => !VOLATILE_MANIFEST_FIELDS.has(k))
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canonical(manifest))).digest('hex');
}

/** Model version = first 16 hex digits of the ONNX file's sha256; checked against `expected`. */
function versionOf(onnxPath: string, expected: string | undefined): string {
  const sha = createHash('sha256').update(readFileSync(onnxPath)).digest('hex');
  if (expected !== undefined && expected !== sha) {
    throw new Error(`${onnxPath} has sha256 ${sha} but manifest.json records ${expected} (corrupt or replaced file)`);
  }
  return sha.slice(0, 16);
}

/** Where transformers.js keeps a hub model's ONNX file after loading it (file cache or local models). */
function findHubFile(hubId: string, dirs: Array<string | null | undefined>): string {
  const candidates = dirs
    .filter((dir): dir is string => typeof dir === 'string' && dir !== '')
    .map((dir) => join(dir, hubId, ONNX_FILE));
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(`loaded, but its ONNX file is in none of ${candidates.join(', ')}, so its version cannot be computed (is env.useFSCache off?)`);
  }
  return found;
}

/** Splits the pooled `[n, dim]` tensor into rows and checks each: finite, unit length. */
function unpack(dims: readonly number[], data: unknown, n: number, expectedDim: number | undefined, normalized: boolean): Float32Array[] {
  const [rows, dim] = dims;
  if (dims.length !== 2 || rows !== n || dim === undefined || dim < 1 || (expectedDim !== undefined && dim !== expectedDim)) {
    throw new AuraError('INTERNAL', `embedding output has shape [${dims.join(', ')}], expected [${n}, ${expectedDim ?? 'dim'}]`);
  }
  if (!(data instanceof Float32Array)) {
    throw new AuraError('INTERNAL', `embedding output is ${Object.prototype.toString.call(data)}, expected Float32Array`);
  }
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = data.slice(i * dim, (i + 1) * dim);
    let sumSq = 0;
    for (const x of row) {
      if (!Number.isFinite(x)) throw new AuraError('INTERNAL', `embedding ${i} of ${n} has a non-finite value`);
      sumSq += x * x;
    }
    const norm = Math.sqrt(sumSq);
    if (normalized && Math.abs(norm - 1) > NORM_TOLERANCE) {
      throw new AuraError('INTERNAL', `embedding ${i} of ${n} has L2 norm ${norm}, expected 1 (±${NORM_TOLERANCE})`);
    }
    out.push(row);
  }
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
