// Run as a child process (never imported by a test): computes, on this process's own thread, the
// reference vectors the worker's vectors are checked against. A separate process because
// onnxruntime-node 1.21 must not run sessions in two threads of one process (see
// src/adapters/embedder-worker-client.ts).
//
//   node --import tsx test/support/embed-reference.ts < {"modelDir", "texts", "forwardPass", "pooling"?, "queryPrefix"?}
//
// Prints one JSON line: in-thread vectors (createTransformersEmbedder, inference 'in-thread'),
// direct onnxruntime-node vectors (tokenizer → session → masked mean, or the first ([CLS]) token
// when `pooling` is cls → L2 norm) of the same passes, as base64 of their float32 bytes, the
// tokenizer's ids of "Hello World", and with `queryPrefix`: the in-thread `embedQueries` vectors
// and the direct vectors of `queryPrefix + text`. The pooling and prefix are the caller's, not read
// from the folder's manifest: the reference must not share the code under test's reading of it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoTokenizer, type Tensor as HfTensor } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { createTransformersEmbedder, ONNX_FILE, type ForwardPass } from '../../src/adapters/transformers-embedder.js';

export interface ReferenceRequest {
  modelDir: string;
  texts: string[];
  forwardPass: ForwardPass;
  pooling?: 'mean' | 'cls';
  queryPrefix?: string;
}
export interface ReferenceAnswer {
  inThread: string[];
  direct: string[];
  /** Longest sequence and whether any row was padded, per direct pass. */
  passes: Array<{ seq: number; padded: boolean }>;
  outputNames: string[];
  helloWorldIds: number[];
  /** With `queryPrefix`: embedQueries in-thread, and direct runs of the prefixed texts. */
  inThreadQueries?: string[];
  directQueries?: string[];
}

const b64 = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

async function direct(modelDir: string, texts: string[], pooling: 'mean' | 'cls') {
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
  const enc = tokenizer(texts, { padding: true, truncation: true, max_length: 256 }) as Record<string, HfTensor>;
  const session = await ort.InferenceSession.create(join(modelDir, ONNX_FILE), { intraOpNumThreads: 1 });
  try {
    const ids = enc.input_ids as HfTensor;
    const mask = enc.attention_mask as HfTensor;
    const dims = ids.dims;
    const out = await session.run({
      input_ids: new ort.Tensor('int64', ids.data as BigInt64Array, dims),
      attention_mask: new ort.Tensor('int64', mask.data as BigInt64Array, dims),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(ids.data.length), dims),
    });
    const hidden = out.last_hidden_state as ort.Tensor;
    const [batch, seq, dim] = hidden.dims as [number, number, number];
    const h = hidden.data as Float32Array;
    const m = mask.data as BigInt64Array;
    const vectors: Float32Array[] = [];
    for (let b = 0; b < batch; b++) {
      const v = new Float64Array(dim);
      let count = 0;
      // cls: the first token only (the tokenizer puts [CLS] there).
      for (let t = 0; t < (pooling === 'cls' ? 1 : seq); t++) {
        if (m[b * seq + t] === 0n) continue;
        count++;
        for (let d = 0; d < dim; d++) v[d] = (v[d] as number) + (h[(b * seq + t) * dim + d] as number);
      }
      let norm = 0;
      for (let d = 0; d < dim; d++) {
        v[d] = (v[d] as number) / count;
        norm += (v[d] as number) ** 2;
      }
      norm = Math.sqrt(norm);
      vectors.push(Float32Array.from(v, (x) => x / norm));
    }
    return { vectors, seq, padded: m.some((x) => x === 0n), outputNames: [...session.outputNames] };
  } finally {
    await session.release();
  }
}

const request = JSON.parse(readFileSync(0, 'utf8')) as ReferenceRequest;
const embedder = await createTransformersEmbedder({ modelPath: request.modelDir, threads: 1, forwardPass: request.forwardPass, inference: 'in-thread' });
const inThread = await embedder.embed(request.texts);
const prefix = request.queryPrefix;
const inThreadQueries = prefix === undefined ? undefined : await embedder.embedQueries(request.texts);
await embedder.close();
const pooling = request.pooling ?? 'mean';
const runs: Array<Awaited<ReturnType<typeof direct>>> = [];
if (request.forwardPass === 'per-batch') runs.push(await direct(request.modelDir, request.texts, pooling));
else for (const t of request.texts) runs.push(await direct(request.modelDir, [t], pooling));
const queryRuns: Array<Awaited<ReturnType<typeof direct>>> = [];
if (prefix !== undefined) for (const t of request.texts) queryRuns.push(await direct(request.modelDir, [prefix + t], pooling));
const tokenizer = await AutoTokenizer.from_pretrained(request.modelDir, { local_files_only: true });
const hello = tokenizer('Hello World', {}) as Record<string, HfTensor>;
const answer: ReferenceAnswer = {
  inThread: inThread.map(b64),
  direct: runs.flatMap((r) => r.vectors.map(b64)),
  passes: runs.map((r) => ({ seq: r.seq, padded: r.padded })),
  outputNames: runs[0]?.outputNames ?? [],
  helloWorldIds: Array.from(hello.input_ids?.data as BigInt64Array, Number),
  ...(inThreadQueries && { inThreadQueries: inThreadQueries.map(b64), directQueries: queryRuns.flatMap((r) => r.vectors.map(b64)) }),
};
process.stdout.write(`${JSON.stringify(answer)}\n`);
