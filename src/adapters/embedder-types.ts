import type { Worker } from 'node:worker_threads';
import type { Embedder } from '../ports.js';

/** Options and results of the transformers.js embedder (src/adapters/transformers-embedder.ts). */

/** What a load logs; pino's logger fits. */
export interface EmbedderLogger {
  info(obj: object, msg: string): void;
}

export interface TransformersEmbedderOptions {
  /**
   * Folder holding the model files (layout in transformers-embedder.ts). Set: loaded offline, remote downloads are
   * switched off. Unset: `modelId` is fetched from the Hugging Face hub (network needed once, then
   * transformers.js's file cache).
   */
  modelPath?: string;
  /** Hub model id when `modelPath` is unset. Default `Xenova/all-MiniLM-L6-v2`. */
  modelId?: string;
  /**
   * EMBEDDING_THREADS: onnxruntime intra-op threads (the caller's thread counts as one); set lower
   * than the CPUs when several processes share a host.
   */
  threads: number;
  /**
   * Longest token sequence (special tokens included); longer texts are cut. Default 256, the
   * `max_seq_length` sentence-transformers uses for this model. Lowered to the tokenizer's own
   * `model_max_length` when that is smaller.
   */
  maxTokens?: number;
  /**
   * How `embed(texts)` runs the network. Default `per-text`.
   * - `per-text`: one forward pass per text. A vector depends on its text only: the same text gives
   *   the same vector in any batch, on any pod, in any replay.
   * - `per-batch`: one padded forward pass for the whole call. The quantized graph quantizes
   *   activations with one scale per tensor (DynamicQuantizeLinear), so every row's result depends
   *   on the other rows and on the padding: measured cosine down to 0.95 between a short text
   *   embedded alone and the same text in a batch of long ones. Use only where that is acceptable.
   */
  forwardPass?: ForwardPass;
  /**
   * Where the network runs. Default `worker`.
   * - `worker`: a worker thread owns the model; the caller's event loop only posts texts and
   *   receives vectors. A crashed worker rejects every pending and later `embed` with INTERNAL.
   * - `in-thread`: on the caller's thread (blocks its event loop per forward pass); what the worker
   *   itself runs, and the reference the worker's vectors are tested against.
   */
  inference?: Inference;
  logger?: EmbedderLogger;
  /** Sees the worker thread once it is started (`inference: 'worker'`): supervision and tests. */
  onWorker?: (worker: Worker) => void;
}

export type ForwardPass = 'per-text' | 'per-batch';
export type Inference = 'worker' | 'in-thread';

export interface TransformersEmbedder extends Embedder {
  /** Intra-op threads the session was created with. */
  readonly threads: number;
  /** Where the model came from: the absolute folder, or `hub:<id>`. */
  readonly source: string;
  readonly forwardPass: ForwardPass;
  readonly inference: Inference;
}

/** How token vectors become one vector, and what precedes a query (from the model's manifest.json). */
export interface EmbeddingRecipe {
  pooling: 'mean' | 'cls';
  normalize: boolean;
  /** Prepended to queries only (`embedQueries`), never to documents. */
  queryPrefix: string;
  /** Expected output dimension, checked at load when given. */
  dimension?: number;
}

/** What a load reports (logged by the caller's thread when the model runs in a worker). */
export interface LoadReport {
  modelId: string;
  modelVersion: string;
  manifestSha256: string;
  pooling: EmbeddingRecipe['pooling'];
  normalize: boolean;
  queryPrefix: string;
  dimension: number;
  threads: number;
  forwardPass: ForwardPass;
  maxTokens: number;
  source: string;
  loadMs: number;
}
