import { Worker } from 'node:worker_threads';
import { AuraError, type ErrorCode } from '../errors.js';
import type { LoadReport, TransformersEmbedder, TransformersEmbedderOptions } from './embedder-types.js';

/**
 * The caller's side of the embedding worker (src/adapters/embedder-worker.ts): one worker thread
 * per process owns every loaded model, this side posts texts and receives vectors, so a forward
 * pass never blocks the caller's event loop.
 *
 * One thread, not one per embedder: onnxruntime-node 1.21 keeps process-global N-API references
 * (the Tensor constructor), so sessions in two threads of one process abort the process
 * ("Cannot create a handle without a HandleScope"). Every embedder of the process shares the
 * worker; the last `close()` terminates it. For the same reason the caller's thread must not run
 * the model itself (`inference: 'in-thread'`) while the worker lives.
 *
 * The caller's thread loads the binding (never runs it) before the first worker starts and keeps
 * it loaded: once the only thread that loaded it exits, a later worker cannot load it again in
 * this process ("Module did not self-register"), so a closed or crashed worker could never be
 * replaced.
 *
 * Contract:
 * - A load failure rejects with the worker's MODEL_LOAD error (the in-thread message); a worker
 *   that dies before the model is ready rejects with MODEL_LOAD too.
 * - A worker that dies later (uncaught error, out of memory, exit) rejects every pending and every
 *   later `embed` of every embedder on it with INTERNAL naming the cause: never zero or made-up
 *   vectors, never a hang. The next embedder created starts a fresh worker.
 * - `close()` releases the embedder's session in the worker; the last one terminates the worker
 *   (at the latest CLOSE_TIMEOUT_MS after asking). `embed` after `close()` rejects.
 * - The worker keeps the process alive only while a request is pending.
 */

/** Everything the worker needs to load a model (no functions: it crosses a thread). */
export type WorkerOptions = Omit<TransformersEmbedderOptions, 'logger' | 'onWorker'>;

export type ToWorker =
  | { type: 'load'; id: number; options: WorkerOptions; where: string }
  | { type: 'embed'; id: number; model: number; texts: string[] }
  | { type: 'unload'; id: number; model: number };

export type FromWorker =
  | { type: 'loaded'; id: number; model: number; report: LoadReport }
  | { type: 'embedded'; id: number; vectors: Float32Array[] }
  | { type: 'unloaded'; id: number }
  | { type: 'failed'; id: number; error: WireError };

/** An error as it crosses the thread boundary (structured clone drops AuraError's code). */
export interface WireError {
  code: ErrorCode;
  message: string;
}

type ToWorkerBody = ToWorker extends infer M ? (M extends ToWorker ? Omit<M, 'id'> : never) : never;

const CLOSE_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: (m: FromWorker) => void;
  reject: (e: Error) => void;
}

/** The process's embedding thread, its requests in flight and the embedders using it. */
class EmbeddingThread {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  users = 0;
  dead: AuraError | undefined;
  private stopping = false;

  constructor(onGone: (t: EmbeddingThread) => void) {
    this.worker = spawnWorker();
    const die = (error: AuraError) => {
      if (this.dead) return;
      this.dead = error;
      onGone(this);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    this.worker.on('message', (m: FromWorker) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.type === 'failed') p.reject(new AuraError(m.error.code, m.error.message));
      else p.resolve(m);
    });
    this.worker.on('error', (err) => {
      die(new AuraError('INTERNAL', `the embedding worker thread failed: ${err.message}. No vectors are made up; the stage stops (restart the process)`, { cause: err }));
    });
    this.worker.on('messageerror', (err) => {
      die(new AuraError('INTERNAL', `a message from the embedding worker could not be read: ${err.message}`, { cause: err }));
    });
    this.worker.on('exit', (code) => {
      die(
        this.stopping
          ? new AuraError('INTERNAL', 'embedder used after close()')
          : new AuraError('INTERNAL', `the embedding worker thread exited (code ${code}) while in use. No vectors are made up; the stage stops (restart the process)`),
      );
    });
  }

  /** Sends a request; resolves with the worker's answer, rejects with its error or the thread's death. */
  request<T extends FromWorker>(message: ToWorkerBody): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (m: FromWorker) => void, reject });
      this.worker.ref();
      this.worker.postMessage({ ...message, id });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }
}

let current: EmbeddingThread | undefined;

/** Loads a model in the process's embedding thread (started on first use). */
export async function startEmbedderWorker(
  options: WorkerOptions,
  where: string,
  onWorker?: (worker: Worker) => void,
): Promise<TransformersEmbedder & { loadReport: LoadReport }> {
  let thread: EmbeddingThread;
  try {
    await import('onnxruntime-node');
    thread = current ??= new EmbeddingThread((t) => {
      if (current === t) current = undefined;
    });
  } catch (error) {
    throw new AuraError('MODEL_LOAD', `could not load embedding model from ${where}: the embedding worker did not start: ${(error as Error).message}`, { cause: error });
  }
  thread.users += 1;
  onWorker?.(thread.worker);
  const release = async () => {
    thread.users -= 1;
    if (thread.users === 0) {
      if (current === thread) current = undefined;
      await thread.stop();
    }
  };

  let loaded: Extract<FromWorker, { type: 'loaded' }>;
  try {
    loaded = await thread.request<Extract<FromWorker, { type: 'loaded' }>>({ type: 'load', options, where });
  } catch (error) {
    await release();
    if (error instanceof AuraError && error.code === 'MODEL_LOAD') throw error;
    throw new AuraError('MODEL_LOAD', `could not load embedding model from ${where}: the embedding worker failed while loading: ${(error as Error).message}`, { cause: error });
  }
  const { model, report } = loaded;
  let closed = false;

  return {
    ...report,
    inference: 'worker',
    loadReport: report,
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (closed) throw new AuraError('INTERNAL', 'embedder used after close()');
      if (texts.length === 0) return [];
      const { vectors } = await thread.request<Extract<FromWorker, { type: 'embedded' }>>({ type: 'embed', model, texts });
      if (vectors.length !== texts.length) throw new AuraError('INTERNAL', `the embedding worker returned ${vectors.length} vectors for ${texts.length} texts`);
      return vectors;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!thread.dead) {
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
        await Promise.race([thread.request({ type: 'unload', model }).catch(() => undefined), timeout]);
      }
      await release();
    },
  };
}

/**
 * From the compiled build the worker is the `.js` file next to this one. From the TypeScript
 * sources (tsx) a worker thread does not inherit tsx's loader hooks (not even with `--import tsx`
 * in its execArgv), so a small bootstrap registers tsx inside the worker before importing the
 * `.ts` file.
 */
function spawnWorker(): Worker {
  const here = import.meta.url;
  // `--input-type` (a `node -e` caller's) applies to string input only; a file worker refuses it.
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  if (!here.endsWith('.ts')) return new Worker(new URL('./embedder-worker.js', here), { name: 'aura-embedder', execArgv });
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./embedder-worker.ts', here).href;
  const bootstrap = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, name: 'aura-embedder', execArgv });
}
