import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { AuraError } from '../../src/errors.js';
import { createTransformersEmbedder, ONNX_FILE } from '../../src/adapters/transformers-embedder.js';
import { MODELS } from '../../src/stack/model.js';

// The embedding worker thread with the real model: what happens around the vectors (the vectors
// themselves are checked against the in-thread path in transformers-embedder.test.ts). Its own
// file, so its own process: the crash test kills the process's one embedding thread.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// MiniLM, pinned: what is tested is the worker around the vectors, whichever model; MiniLM is the
// faster of the two (~0.6× bge-small's time per text).
const MODEL_DIR = resolve(process.env.MINILM_MODEL_PATH || join(process.env.AURA_STACK_DIR || join(ROOT, '.cache/stack'), 'models', MODELS.minilm.id));

function requireModelFolder(): void {
  if (!existsSync(join(MODEL_DIR, ONNX_FILE))) assert.fail(`the embedding model is missing at ${MODEL_DIR}: run \`aura-stream stack up\` or set MINILM_MODEL_PATH`);
}

const LONG = Array.from({ length: 24 }, (_, i) => `Day ${i}: a long walk by the river, then yoga; mood good, slept well, a calm evening with the family and friends. `.repeat(3));

/** Resolves when `worker` has exited (or at once when it already has). */
const exited = (worker: Worker) => new Promise<number>((r) => (worker.threadId === -1 ? r(0) : worker.once('exit', r)));

describe('embedding worker thread (real model)', () => {
  it('keeps the caller’s event loop turning while a batch embeds', async () => {
    requireModelFolder();
    const e = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1 });
    try {
      // A timer chain on the caller's thread: with the model on this thread (per-text) the loop
      // turns only between forward passes; in the worker it turns throughout.
      let ticks = 0;
      let ticking = true;
      const tick = () => {
        ticks += 1;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const embedding = e.embed(LONG).then((v) => ((ticking = false), v));
      const vectors = await embedding;
      assert.equal(vectors.length, LONG.length);
      assert.ok(ticks > LONG.length * 4, `the caller's loop turned only ${ticks} times while ${LONG.length} texts embedded`);
    } finally {
      await e.close();
    }
  });

  it('embedders of one process share one worker thread; it outlives their close and serves the next one', async () => {
    requireModelFolder();
    const workers: Worker[] = [];
    const a = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1, onWorker: (w) => workers.push(w) });
    const b = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1, forwardPass: 'per-batch', onWorker: (w) => workers.push(w) });
    assert.equal(workers[0], workers[1], 'one thread for both (onnxruntime-node 1.21 must not run in two threads)');
    const [first] = await a.embed(['still here']);
    await a.close();
    assert.equal((await b.embed(['still here'])).length, 1, 'the other embedder goes on');
    await b.close();
    await assert.rejects(b.embed(['x']), /after close/);
    // Never stopped or replaced (a restarted onnxruntime thread corrupts the heap): the next
    // embedder of the process gets the same thread, and the same bytes.
    const c = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1, onWorker: (w) => workers.push(w) });
    try {
      assert.equal(workers[2], workers[0], 'the same thread again');
      assert.ok(workers[0]!.threadId > 0, 'still running');
      assert.deepEqual((await c.embed(['still here']))[0], first);
    } finally {
      await c.close();
    }
  });

  it('a model that fails to load in the worker stops with MODEL_LOAD naming the path and the fix; the thread serves the next load', async () => {
    requireModelFolder();
    const bad = join(ROOT, 'no-such-model-folder');
    await assert.rejects(createTransformersEmbedder({ modelPath: bad, threads: 1 }), (err: unknown) => {
      assert.ok(err instanceof AuraError && err.code === 'MODEL_LOAD', `MODEL_LOAD, got ${String(err)}`);
      assert.ok(err.message.includes(bad) && err.message.includes('aura-stream stack up'), err.message);
      return true;
    });
    const good = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1 });
    assert.equal((await good.embed(['fine'])).length, 1);
    await good.close();
  });

  it('a crashed worker rejects the pending and every later embed with INTERNAL, never vectors or a hang; later loads ask for a restart (runs last: it kills the process’s thread)', async () => {
    requireModelFolder();
    let worker: Worker | undefined;
    const e = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1, onWorker: (w) => (worker = w) });
    assert.ok(worker, 'the worker was handed out');
    assert.equal((await e.embed(['a calm evening'])).length, 1);
    const pending = e.embed(LONG);
    // A request the worker does not understand fails the thread (uncaught), with one in flight.
    worker.postMessage({ type: 'no-such-request' });
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof AuraError && err.code === 'INTERNAL', `INTERNAL, got ${String(err)}`);
      assert.match(err.message, /embedding worker thread failed: unknown request/);
      assert.equal(err.action, 'fail', 'the stage stops on it');
      return true;
    });
    await assert.rejects(e.embed(['a calm evening']), /embedding worker thread failed/, 'later calls fail too, at once');
    await exited(worker);
    await e.close();

    await assert.rejects(createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1 }), (err: unknown) => {
      assert.ok(err instanceof AuraError && err.code === 'MODEL_LOAD' && /died earlier.*restart the process/.test(err.message), String(err));
      return true;
    });
  });

});
