import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AuraError } from '../../src/errors.js';
import { createTransformersEmbedder, ONNX_FILE, type ForwardPass, type TransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { MODELS } from '../../src/stack/model.js';
import type { ReferenceAnswer } from '../support/embed-reference.js';

// The real all-MiniLM-L6-v2 model, from the folder `aura-stream stack up` lays out (MINILM_MODEL_PATH
// overrides). Pinned, not the default model: these tests check MiniLM's recipe (mean pooling, 256
// tokens) against a direct onnxruntime-node run; bge-small, the default, has its own block below.
// A missing folder fails every test here: an embedder that was never run proves nothing.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL_DIR = resolve(process.env.MINILM_MODEL_PATH || join(process.env.AURA_STACK_DIR || join(ROOT, '.cache/stack'), 'models', MODELS.minilm.id));
const THREADS = 1;

function requireModelFolder(): void {
  if (!existsSync(join(MODEL_DIR, ONNX_FILE))) {
    assert.fail(
      `the embedding model is missing at ${MODEL_DIR}: run \`aura-stream stack up\` to fetch it, ` +
        'or set MINILM_MODEL_PATH to a folder with config.json, tokenizer.json, tokenizer_config.json and onnx/model_quantized.onnx',
    );
  }
}

const loaded = new Map<ForwardPass, Promise<TransformersEmbedder>>();
/** One embedder per forward-pass mode, shared by the tests (a load takes about a second). */
function embedder(forwardPass: ForwardPass = 'per-text'): Promise<TransformersEmbedder> {
  requireModelFolder();
  let e = loaded.get(forwardPass);
  if (!e) {
    e = createTransformersEmbedder({ modelPath: MODEL_DIR, threads: THREADS, forwardPass });
    loaded.set(forwardPass, e);
  }
  return e;
}

after(async () => {
  for (const e of loaded.values()) await (await e.catch(() => undefined))?.close();
});

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

function norm(v: Float32Array): number {
  let sum = 0;
  for (const x of v) sum += x * x;
  return Math.sqrt(sum);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'vectors of different lengths');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

// Sentences of very different lengths in one batch, so most rows are padded; the last one is longer
// than the 256-token limit, so truncation is exercised too.
const SENTENCES = [
  'ok',
  'Slept badly, mood low.',
  'Mood: good (4/5). Went for a 30 minute run in the park with a friend and felt energised afterwards.',
  'User u-123, last 7 days: 5 moods, mean 3.40 (min 2, max 5, stddev 1.02), trend +0.25/day, latest good. ' +
    'Activities: 4 sessions, 145 minutes (cardio 90, mindfulness 35, strength 20); intensity low 35, moderate 70, high 40; ' +
    'active on 4 days, current streak 2 days. Top tags: sleep, work, family. Recent notes: "better after the walk"; "tired".',
  'Ça va très bien aujourd’hui — naïve café crème, 東京 🙂',
  Array.from({ length: 120 }, (_, i) => `meditation session ${i} was calm`).join('; '),
];

/**
 * Reference vectors from a child process (test/support/embed-reference.ts): the in-thread embedder
 * and the same computation done by hand (tokenizer → onnxruntime-node → masked mean → L2 norm).
 * Not in this process: the embedders here run in the worker thread, and onnxruntime-node 1.21 must
 * not run sessions in two threads of one process.
 */
function reference(
  texts: string[],
  forwardPass: ForwardPass,
  model: { modelDir?: string; pooling?: 'mean' | 'cls'; queryPrefix?: string } = {},
): { inThread: Float32Array[]; direct: Float32Array[]; answer: ReferenceAnswer; f32: (b: string) => Float32Array } {
  if (model.modelDir === undefined) requireModelFolder();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/embed-reference.ts')], {
    cwd: ROOT,
    input: JSON.stringify({ modelDir: model.modelDir ?? MODEL_DIR, texts, forwardPass, pooling: model.pooling, queryPrefix: model.queryPrefix }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `the reference process failed: ${r.stderr}`);
  const answer = JSON.parse(r.stdout.trim().split('\n').pop() as string) as ReferenceAnswer;
  const f32 = (b: string) => {
    const buf = Buffer.from(b, 'base64');
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  };
  return { inThread: answer.inThread.map(f32), direct: answer.direct.map(f32), answer, f32 };
}

const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

describe('createTransformersEmbedder (real all-MiniLM-L6-v2 model, offline)', () => {
  it('loads the local folder and reports 384 dimensions and the ONNX file hash as version', async () => {
    const e = await embedder();
    assert.equal(e.dimension, 384, 'all-MiniLM-L6-v2 has 384 dimensions');
    const sha = createHash('sha256').update(readFileSync(join(MODEL_DIR, ONNX_FILE))).digest('hex');
    assert.equal(e.modelVersion, sha.slice(0, 16), 'modelVersion is the first 16 hex digits of the ONNX sha256');
    assert.equal(e.source, MODEL_DIR);
    assert.equal(e.threads, THREADS);
  });

  it('per-batch: one padded pass equals a direct onnxruntime-node run of the same file on the same tokens (1e-4), and the in-thread pass byte for byte', async () => {
    const e = await embedder('per-batch');
    assert.equal(e.inference, 'worker', 'the model runs in a worker thread by default');
    const got = await e.embed(SENTENCES);
    const ref = reference(SENTENCES, 'per-batch');
    assert.deepEqual(ref.answer.outputNames, ['last_hidden_state'], 'the ONNX graph must output last_hidden_state');
    assert.equal(ref.answer.passes[0]?.seq, 256, 'the longest sentence is truncated to 256 tokens');
    assert.ok(ref.answer.passes[0]?.padded, 'the batch is padded, so the mask matters');
    assert.equal(got.length, SENTENCES.length);
    got.forEach((vector, i) => {
      assert.equal(vector.length, 384, `vector ${i} has 384 values`);
      const diff = maxAbsDiff(vector, ref.direct[i] as Float32Array);
      assert.ok(diff < 1e-4, `sentence ${i} (${SENTENCES[i]?.length} chars): max abs diff ${diff} ≥ 1e-4 against the direct run`);
      assert.ok(Math.abs(norm(vector) - 1) < 1e-4, `vector ${i} has unit length, got ${norm(vector)}`);
      assert.ok(bytes(vector).equals(bytes(ref.inThread[i] as Float32Array)), `sentence ${i}: the worker's vector is not the in-thread vector byte for byte`);
    });
  });

  it('per-text (default): each vector equals a direct onnxruntime-node run of that text alone (1e-4), and the in-thread pass byte for byte', async () => {
    const e = await embedder();
    assert.equal(e.forwardPass, 'per-text', 'per-text is the default');
    const got = await e.embed(SENTENCES);
    const ref = reference(SENTENCES, 'per-text');
    assert.deepEqual(ref.answer.helloWorldIds, [101, 7592, 2088, 102], 'the real BERT uncased vocabulary: [CLS] hello world [SEP]');
    for (let i = 0; i < SENTENCES.length; i++) {
      const diff = maxAbsDiff(got[i] as Float32Array, ref.direct[i] as Float32Array);
      assert.ok(diff < 1e-4, `sentence ${i}: max abs diff ${diff} ≥ 1e-4 against the direct run`);
      assert.ok(Math.abs(norm(got[i] as Float32Array) - 1) < 1e-4, `vector ${i} has unit length`);
      assert.ok(bytes(got[i] as Float32Array).equals(bytes(ref.inThread[i] as Float32Array)), `sentence ${i}: the worker's vector is not the in-thread vector byte for byte`);
    }
  });

  it('per-text (default): the same vectors batched as one text at a time, whatever the batch holds', async () => {
    const e = await embedder();
    const batched = await e.embed(SENTENCES);
    const reversed = await e.embed([...SENTENCES].reverse());
    for (let i = 0; i < SENTENCES.length; i++) {
      const [single] = await e.embed([SENTENCES[i] as string]);
      const diff = maxAbsDiff(batched[i] as Float32Array, single as Float32Array);
      assert.ok(diff < 1e-4, `sentence ${i}: batched and single differ by ${diff}`);
      const diffOrder = maxAbsDiff(batched[i] as Float32Array, reversed[SENTENCES.length - 1 - i] as Float32Array);
      assert.ok(diffOrder < 1e-4, `sentence ${i}: order in the batch changed the vector by ${diffOrder}`);
    }
  });

  it('per-batch: vectors depend on the other rows (why per-text is the default for this quantized graph)', async () => {
    // The graph quantizes activations with one scale per tensor (DynamicQuantizeLinear), so a short
    // text padded next to long ones is quantized more coarsely than alone. Should a future model file
    // lose this property, this test fails and per-batch can become the default.
    const e = await embedder('per-batch');
    const [alone] = await e.embed(['ok']);
    const [inBatch] = await e.embed(['ok', SENTENCES[3] as string, SENTENCES[5] as string]);
    const diff = maxAbsDiff(alone as Float32Array, inBatch as Float32Array);
    assert.ok(diff > 1e-3, `expected a batch-dependent vector, max abs diff only ${diff}`);
  });

  it('scores paraphrases higher than unrelated sentences', async () => {
    const e = await embedder();
    const cases: Array<[anchor: string, paraphrase: string, unrelated: string]> = [
      ['I feel anxious and cannot sleep at night.', 'Worry keeps me awake at night.', 'The train to Berlin leaves at noon.'],
      ['She went for a long run this morning.', 'This morning she jogged for a long time.', 'The recipe needs two cups of flour.'],
      ['My mood has been great all week.', 'I have felt really happy these past seven days.', 'Replace the printer toner cartridge.'],
      ['Meditation helps me calm down after work.', 'After my job, mindfulness practice relaxes me.', 'Stock prices fell sharply on Tuesday.'],
      ['He lifted weights at the gym for an hour.', 'He spent an hour doing strength training at the gym.', 'The cat is sleeping on the sofa.'],
    ];
    const vectors = await e.embed(cases.flat());
    cases.forEach(([anchor], i) => {
      const [a, p, u] = vectors.slice(i * 3, i * 3 + 3) as [Float32Array, Float32Array, Float32Array];
      const para = cosine(a, p);
      const unrel = cosine(a, u);
      assert.ok(para > unrel + 0.2, `"${anchor}": paraphrase cosine ${para.toFixed(3)} should beat unrelated ${unrel.toFixed(3)} by > 0.2`);
      assert.ok(para > 0.45, `"${anchor}": paraphrase cosine ${para.toFixed(3)} should exceed 0.45`);
    });
  });

  it('is deterministic and returns nothing for no texts', async () => {
    const e = await embedder();
    const [a] = await e.embed(['same text twice']);
    const [b] = await e.embed(['same text twice']);
    assert.deepEqual(a, b);
    assert.deepEqual(await e.embed([]), []);
  });

  it('fails to load from a missing folder with MODEL_LOAD naming the path and the fix', async () => {
    const bad = join(tmpdir(), `aura-no-model-${process.pid}`, 'all-MiniLM-L6-v2-q');
    await assert.rejects(createTransformersEmbedder({ modelPath: bad, threads: 1 }), (error: unknown) => {
      assert.ok(error instanceof AuraError, 'an AuraError');
      assert.equal(error.code, 'MODEL_LOAD');
      assert.equal(error.retriable, false);
      assert.ok(error.message.includes(bad), `message names the path: ${error.message}`);
      assert.ok(error.message.includes('aura-stream stack up'), `message names the fix: ${error.message}`);
      return true;
    });
  });

  it('fails to load a folder whose ONNX file is not a model, or does not match its manifest', async () => {
    requireModelFolder();
    const dir = mkdtempSync(join(tmpdir(), 'aura-bad-model-'));
    try {
      const folder = join(dir, 'broken');
      mkdirSync(join(folder, 'onnx'), { recursive: true });
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(MODEL_DIR, f), join(folder, f));
      writeFileSync(join(folder, ONNX_FILE), 'not an onnx graph');
      await assert.rejects(createTransformersEmbedder({ modelPath: folder, threads: 1 }), (error: unknown) => {
        assert.ok(error instanceof AuraError && error.code === 'MODEL_LOAD', `MODEL_LOAD, got ${String(error)}`);
        assert.ok(error.message.includes(folder), `message names the path: ${error.message}`);
        return true;
      });
      copyFileSync(join(MODEL_DIR, ONNX_FILE), join(folder, ONNX_FILE));
      writeFileSync(join(folder, 'manifest.json'), JSON.stringify({ sha256: '0'.repeat(64) }));
      await assert.rejects(createTransformersEmbedder({ modelPath: folder, threads: 1 }), (error: unknown) => {
        assert.ok(error instanceof AuraError && error.code === 'MODEL_LOAD', `MODEL_LOAD, got ${String(error)}`);
        assert.match(error.message, /manifest\.json records 0{64}/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await assert.rejects(createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 0 }), (error: unknown) => {
      assert.ok(error instanceof AuraError && error.code === 'CONFIG');
      return true;
    });
  });

  it('sizes onnxruntime’s intra-op pool from `threads` (one extra OS thread per extra intra-op thread)', { skip: process.platform !== 'linux' && 'counts threads through /proc' }, () => {
    requireModelFolder();
    // Two fresh processes doing identical work but for `threads`; the difference in OS threads is
    // the size of onnxruntime's intra-op pool (threads - 1 workers; the caller is the first).
    const script = [
      "import { readdirSync } from 'node:fs';",
      "import { createTransformersEmbedder } from './src/adapters/transformers-embedder.ts';",
      'const e = await createTransformersEmbedder({ modelPath: process.env.M, threads: Number(process.env.T) });',
      "await e.embed(['warm the pool up']);",
      "console.log('THREADS=' + readdirSync('/proc/self/task').length);",
      'await e.close();',
    ].join('\n');
    const count = (threads: number): number => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        env: { ...process.env, M: MODEL_DIR, T: String(threads) },
        encoding: 'utf8',
      });
      const m = /THREADS=(\d+)/.exec(r.stdout);
      assert.ok(m, `child with threads=${threads} failed: ${r.stderr}`);
      return Number(m[1]);
    };
    const one = count(1);
    const three = count(3);
    assert.equal(three - one, 2, `threads=3 should add 2 OS threads over threads=1 (got ${one} → ${three})`);
  });

  it('refuses to embed after close()', async () => {
    requireModelFolder();
    const e = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1 });
    await e.close();
    await assert.rejects(e.embed(['x']), /after close/);
  });
});

// bge-small-en-v1.5 as `stack up` lays it out: its manifest says CLS pooling and a query prefix.
// The reference pools by hand, told "cls" by this test, not by the manifest.
const BGE_DIR = resolve(process.env.BGE_MODEL_PATH || join(process.env.AURA_STACK_DIR || join(ROOT, '.cache/stack'), 'models', MODELS.bge.id));
const BGE_PREFIX = MODELS.bge.embedding.query_prefix;

describe('createTransformersEmbedder with the manifest of bge-small-en-v1.5 (CLS pooling, query prefix)', () => {
  const bge = () => {
    if (!existsSync(join(BGE_DIR, ONNX_FILE))) assert.fail(`bge-small-en-v1.5 is missing at ${BGE_DIR}: run \`aura-stream stack up\` or set BGE_MODEL_PATH`);
    return createTransformersEmbedder({ modelPath: BGE_DIR, threads: THREADS });
  };
  const texts = ['Slept badly, mood low.', SENTENCES[2] as string, 'Mostly yoga and stretching this week.'];
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A copy of the bge folder (files linked) whose manifest.json is changed by `edit`. */
  function variant(edit: (m: Record<string, any>) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'aura-bge-variant-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'onnx'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX_FILE]) copyFileSync(join(BGE_DIR, f), join(dir, f));
    const manifest = JSON.parse(readFileSync(join(BGE_DIR, 'manifest.json'), 'utf8')) as Record<string, any>;
    edit(manifest);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }

  it('pools the [CLS] token as the manifest says: equal to a direct onnxruntime-node CLS run (1e-4), far from the mean-pooled run', async () => {
    const e = await bge();
    try {
      assert.deepEqual([e.modelId, e.dimension, e.queryPrefix], [MODELS.bge.id, 384, BGE_PREFIX]);
      const got = await e.embed(texts);
      const cls = reference(texts, 'per-text', { modelDir: BGE_DIR, pooling: 'cls' });
      const mean = reference(texts, 'per-text', { modelDir: BGE_DIR, pooling: 'mean' });
      got.forEach((v, i) => {
        const diff = maxAbsDiff(v, cls.direct[i] as Float32Array);
        assert.ok(diff < 1e-4, `text ${i}: max abs diff ${diff} ≥ 1e-4 against the direct CLS run`);
        const c = cosine(v, mean.direct[i] as Float32Array);
        assert.ok(c < 0.99, `text ${i}: cosine ${c} with the mean-pooled vector; the test could not tell the poolings apart`);
      });
    } finally {
      await e.close();
    }
  });

  it('puts the query prefix before questions (embedQueries) and never before documents (embed)', async () => {
    const e = await bge();
    try {
      const docs = await e.embed(texts);
      const queries = await e.embedQueries(texts);
      const ref = reference(texts, 'per-text', { modelDir: BGE_DIR, pooling: 'cls', queryPrefix: BGE_PREFIX });
      const directQueries = ref.answer.directQueries!.map(ref.f32);
      texts.forEach((_, i) => {
        assert.ok(maxAbsDiff(docs[i]!, ref.direct[i]!) < 1e-4, `document ${i} is embedded without the prefix`);
        assert.ok(maxAbsDiff(queries[i]!, directQueries[i]!) < 1e-4, `query ${i} is embedded as prefix + text`);
        assert.ok(maxAbsDiff(queries[i]!, docs[i]!) > 1e-3, `query ${i} and document ${i} differ: the prefix was applied`);
      });
    } finally {
      await e.close();
    }
  });

  it('reads pooling from the manifest: the same files with pooling "mean" give the mean-pooled vectors and another manifest hash', async () => {
    const meanDir = variant((m) => (m.embedding.pooling = 'mean'));
    const restamped = variant((m) => (m.created_at = '2000-01-01T00:00:00.000Z'));
    const [a, b, c] = await Promise.all([bge(), createTransformersEmbedder({ modelPath: meanDir, threads: THREADS }), createTransformersEmbedder({ modelPath: restamped, threads: THREADS })]);
    try {
      const ref = reference(texts, 'per-text', { modelDir: BGE_DIR, pooling: 'mean' });
      const got = await b.embed(texts);
      got.forEach((v, i) => assert.ok(maxAbsDiff(v, ref.direct[i]!) < 1e-4, `text ${i}: pooling "mean" in the manifest gives the mean-pooled vector`));
      assert.match(a.manifestSha256, /^[0-9a-f]{64}$/);
      assert.notEqual(b.manifestSha256, a.manifestSha256, 'another pooling is another manifest hash');
      assert.equal(c.manifestSha256, a.manifestSha256, 'created_at alone does not change the hash');
      assert.equal(b.modelVersion, a.modelVersion, 'the ONNX file (model version) is the same');
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('refuses a manifest with an unknown pooling or a wrong dimension, naming the field', async () => {
    const maxPool = variant((m) => (m.embedding.pooling = 'max'));
    const wrongDim = variant((m) => (m.embedding.dimension = 768));
    await assert.rejects(createTransformersEmbedder({ modelPath: maxPool, threads: THREADS }), (e: unknown) => e instanceof AuraError && e.code === 'MODEL_LOAD' && /embedding\.pooling must be mean or cls/.test(e.message));
    await assert.rejects(createTransformersEmbedder({ modelPath: wrongDim, threads: THREADS }), (e: unknown) => e instanceof AuraError && e.code === 'MODEL_LOAD' && /dimension 768/.test(e.message));
  });
});
