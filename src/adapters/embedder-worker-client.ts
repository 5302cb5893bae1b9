import { Worker } from 'node:worker_threads';
import { AuraError, type ErrorCode } from '../errors.js';
import type { LoadReport, TransformersEmbedder, TransformersEmbedderOptions } from './embedder-types.js';

/**
 * The caller's side of the embedding worker (src/adapters/embedder-worker.ts): one worker thread
 * per process owns every loaded model, this side posts texts and receives vectors, so a forward
 * pass never blocks the caller's event loop.
 *
 * One thread for the life of the process, shared by every embedder. onnxruntime-node 1.21 keeps
 * process-global native state, and we saw each of these abort the process:
 * - sessions in two threads ("Cannot create a handle without a HandleScope"), so the caller's
 *   thread must not run the model itself (`inference: 'in-thread'`) while the worker lives;
 * - a second thread loading the binding after the first one exited ("Module did not
 *   self-register"), so the caller's thread loads the binding (never runs it) and keeps it loaded;
 * - a worker stopped (terminated, or left to exit) and another started: heap corruption or a
 *   segfault in the next one. So the thread is never stopped or replaced: the last `close()`
 *   releases the sessions and leaves the idle thread detached (it does not hold the process
 *   open), and the next embedder of the process reuses it.
 *
 * Contract:
 * - A load failure rejects with the worker's MODEL_LOAD error (the in-thread message); a worker
 *   that dies before the model is ready rejects with MODEL_LOAD too.
 * - A worker that dies later (uncaught error, out of memory, exit) rejects every pending and every
 *   later `embed` of every embedder on it with INTERNAL naming the cause: never zero or made-up
 *   vectors, never a hang. Later loads in the process fail with MODEL_LOAD (restart the process).
 * - `close()` releases the embedder's session in the worker (waiting at most CLOSE_TIMEOUT_MS);
 *   `embed` after `close()` rejects.
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
  dead: AuraError | undefined;

  constructor() {
    this.worker = spawnWorker();
    this.worker.unref();
    const die = (error: AuraError) => {
      if (this.dead) return;
      this.dead = error;
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
      die(new AuraError('INTERNAL', `the embedding worker thread exited (code ${code}). No vectors are made up; the stage stops (restart the process)`));
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
    thread = current ??= new EmbeddingThread();
  } catch (error) {
    throw new AuraError('MODEL_LOAD', `could not load embedding model from ${where}: the embedding worker did not start: ${(error as Error).message}`, { cause: error });
  }
  onWorker?.(thread.worker);
  if (thread.dead) {
    throw new AuraError('MODEL_LOAD', `could not load embedding model from ${where}: this process's embedding thread died earlier (${thread.dead.message}); restart the process`);
  }

  let loaded: Extract<FromWorker, { type: 'loaded' }>;
  try {
    loaded = await thread.request<Extract<FromWorker, { type: 'loaded' }>>({ type: 'load', options, where });
  } catch (error) {
    if (error instanceof AuraError && error.code === 'MODEL_LOAD') throw error;
    throw new AuraError('MODEL_LOAD', `could not load embedding model from ${where}: the embedding worker failed while loading: ${(error as Error).message}`, { cause: error });
  }
  const { model, report } = loaded;
  let closed = false;
  const embed = async (texts: string[]): Promise<Float32Array[]> => {
    if (closed) throw new AuraError('INTERNAL', 'embedder used after close()');
    if (texts.length === 0) return [];
    const { vectors } = await thread.request<Extract<FromWorker, { type: 'embedded' }>>({ type: 'embed', model, texts });
    if (vectors.length !== texts.length) throw new AuraError('INTERNAL', `the embedding worker returned ${vectors.length} vectors for ${texts.length} texts`);
    return vectors;
  };

  return {
    ...report,
    inference: 'worker',
    loadReport: report,
    embed,
    embedQueries: (texts: string[]) => embed(texts.map((t) => report.queryPrefix + t)),
    async close() {
      if (closed) return;
      closed = true;
      if (!thread.dead) {
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
        await Promise.race([thread.request({ type: 'unload', model }).catch(() => undefined), timeout]);
      }
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
  // Otherwise the worker inherits the parent's options as they are: an explicit list is checked
  // flag by flag, and Node 24's test runner hands its children per-process flags
  // (`--secure-heap=0`, `--node-snapshot`…) that a worker refuses (ERR_WORKER_INVALID_EXEC_ARGV).
  const filtered = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  const execArgv = filtered.length === process.execArgv.length ? {} : { execArgv: filtered };
  if (!here.endsWith('.ts')) return new Worker(new URL('./embedder-worker.js', here), { name: 'aura-embedder', ...execArgv });
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./embedder-worker.ts', here).href;
  const bootstrap = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, name: 'aura-embedder', ...execArgv });
}
