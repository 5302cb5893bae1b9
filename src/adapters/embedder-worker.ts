import { parentPort } from 'node:worker_threads';
import { classify } from '../errors.js';
import type { FromWorker, ToWorker, WireError } from './embedder-worker-client.js';
import { loadError, loadInThread } from './transformers-embedder.js';

/**
 * Entry of the embedding worker thread (started by src/adapters/embedder-worker-client.ts): loads
 * models in-thread on request and answers requests one at a time in arrival order. Vectors are
 * moved to the caller (transferred buffers), not copied or converted, so they are the in-thread
 * bytes.
 */

if (!parentPort) throw new Error('embedder-worker.ts runs only as a worker thread');
const port = parentPort;

const wire = (error: unknown): WireError => {
  const e = classify(error);
  return { code: e.code, message: e.message };
};
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const models = new Map<number, Awaited<ReturnType<typeof loadInThread>>>();
let nextModel = 1;

async function answer(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'load':
      try {
        const embedder = await loadInThread(m.options);
        const model = nextModel++;
        models.set(model, embedder);
        post({ type: 'loaded', id: m.id, model, report: embedder.loadReport });
      } catch (error) {
        post({ type: 'failed', id: m.id, error: wire(loadError(m.where, error)) });
      }
      return;
    case 'embed':
      try {
        const embedder = models.get(m.model);
        if (!embedder) throw new Error(`no model ${m.model} in the embedding worker`);
        const vectors = await embedder.embed(m.texts);
        post({ type: 'embedded', id: m.id, vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
      } catch (error) {
        post({ type: 'failed', id: m.id, error: wire(error) });
      }
      return;
    case 'unload':
      await models.get(m.model)?.close().catch(() => undefined);
      models.delete(m.model);
      post({ type: 'unloaded', id: m.id });
      return;
  }
}

const KNOWN = new Set<string>(['load', 'embed', 'unload'] satisfies Array<ToWorker['type']>);
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  // A request this side does not understand is a bug on the other: fail the thread loudly (the
  // caller rejects everything pending) rather than leave a request unanswered.
  if (!KNOWN.has((m as { type?: string } | null)?.type ?? '')) throw new Error(`unknown request ${JSON.stringify(m)}`);
  queue = queue.then(() => answer(m));
});
