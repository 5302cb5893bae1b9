import { Subject, share, type Observable, type Subscription } from 'rxjs';
import type { Config } from '../config.js';
import { AuraError, classify } from '../errors.js';
import { Lifecycle, lifecycle$, type LifecycleSignal, type OnIllegalMove, type Phases, type StageState } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { startHttpServer, type Readiness } from '../adapters/http-server.js';
import { DependencyMonitor, type Probe } from './dependency-monitor.js';

/** One running stage as the process sees it. */
export interface StageHandle {
  name: 'aggregate' | 'vectorize' | 'reindex';
  /** States as lifecycle$ derives them; read-only for the runtime. */
  lifecycle: Lifecycle;
  /** The runtime's drain/closed signals into the stage's lifecycle$. */
  signals: Subject<LifecycleSignal>;
  subscription?: Subscription;
  /** Extra readiness details (store in use, where). */
  details: () => Record<string, unknown>;
  /** Dependencies only this stage needs (e.g. its vector store), probed in the background for /readyz. */
  checks?: Record<string, Probe>;
  /** Stops fetching and closes clients; must not commit anything unfinished. */
  stop: () => Promise<void>;
}

/**
 * A running process logs an illegal lifecycle move and keeps its state (src/lifecycle.ts
 * OnIllegalMove); this is the one place that decides it for `run`, `demo` and the benchmarks.
 */
export function logIllegalMove(logger: Pick<Logger, 'error'>): OnIllegalMove {
  return (error) => logger.error({ err: error, code: error.code }, error.message);
}

/**
 * Runs a stage's event stream once: `onEvent` turns events into metrics and logs, and lifecycle$
 * (src/lifecycle.ts) turns them, with the runtime's signals, into the states of the stage's one
 * Lifecycle. `onIllegalMove` is `logIllegalMove(logger)` in a running process.
 */
export function runEvents<E>(
  events$: Observable<E>,
  phases: Phases<E>,
  onEvent: (e: E) => void,
  onIllegalMove?: OnIllegalMove,
): { lifecycle: Lifecycle; signals: Subject<LifecycleSignal>; subscription: Subscription; events$: Observable<E> } {
  const lifecycle = new Lifecycle(onIllegalMove);
  const signals = new Subject<LifecycleSignal>();
  const shared = events$.pipe(share());
  shared.pipe(lifecycle$(phases, signals, lifecycle)).subscribe();
  // A failure reaches lifecycle$ (failed); this subscriber only must not rethrow it.
  const subscription = shared.subscribe({ next: onEvent, error: () => undefined });
  return { lifecycle, signals, subscription, events$: shared };
}

/**
 * The one way a stage stops (run, demo, bench): drain (it stops moving by events), stop fetching
 * and close its clients, then closed: stopped, or failed with `failure` or the error of stopping.
 */
export async function stopStage(s: StageHandle, failure?: Error): Promise<void> {
  s.signals.next({ type: 'drain' });
  try {
    await s.stop();
    s.subscription?.unsubscribe();
    s.signals.next(failure ? { type: 'closed', error: failure } : { type: 'closed' });
  } catch (err) {
    s.signals.next({ type: 'closed', error: err as Error });
    throw err;
  }
}

export function trackState(handle: StageHandle, metrics: Metrics): void {
  const states: StageState[] = ['starting', 'restoring', 'running', 'draining', 'stopped', 'failed'];
  handle.lifecycle.state$.subscribe((s) => {
    for (const st of states) metrics.state.set({ stage: handle.name, state: st }, st === s ? 1 : 0);
  });
}

/**
 * /readyz: ready when every stage is `running` (joined its group and restored its partitions).
 * Shared dependencies (broker, registry, vector store) are probed and shown in the body but do not
 * decide readiness: when one is down every pod would turn unready at once, which takes no traffic
 * away (consumers pull, nothing routes to them) yet makes a PodDisruptionBudget refuse every
 * eviction and so blocks node drains. A stage that cannot reach its dependencies retries with
 * backoff or fails; a failed stage exits the process, which liveness and restarts handle.
 * `dependencies` are the last results of the background probes (DependencyMonitor): /readyz
 * reads them and never waits for a dependency.
 */
export function readiness(stages: readonly Pick<StageHandle, 'name' | 'lifecycle' | 'details'>[], dependencies: Record<string, string>): Readiness {
  const ready = stages.length > 0 && stages.every((s) => s.lifecycle.state === 'running');
  return { ready, details: { stages: Object.fromEntries(stages.map((s) => [s.name, { state: s.lifecycle.state, ...s.details() }])), dependencies } };
}

/**
 * Runs stages until SIGTERM/SIGINT or a fatal error: serves /metrics, /healthz, /readyz; on a signal
 * moves every stage to draining, stops fetching, lets in-flight work finish or abandons it
 * uncommitted, closes clients, and resolves with the exit code (0 clean, 1 failed or forced after
 * SHUTDOWN_TIMEOUT_MS, 130/143 on a second SIGINT/SIGTERM while draining).
 */
export async function supervise(options: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  stages: StageHandle[];
  /** Shared dependencies (broker, registry), probed in the background with the stages' own `checks`. */
  checks: Record<string, Probe>;
  /** Closes the clients the probes hold (the broker probe's admin client), after the last probe. */
  closeChecks?: () => Promise<void>;
  signal?: AbortSignal;
  /**
   * Ends the process at once with a status (the `run` command passes `process.exit`): used when
   * SHUTDOWN_TIMEOUT_MS runs out and on a second SIGTERM/SIGINT, where waiting any longer is the
   * fault. Without it (in-process callers) a forced shutdown only resolves with 1.
   */
  exit?: (code: number) => void;
}): Promise<number> {
  const { config, logger, metrics, stages } = options;
  const probes = Object.assign({}, options.checks, ...stages.map((st) => st.checks ?? {})) as Record<string, Probe>;
  const monitor = new DependencyMonitor(probes, {}, options.closeChecks ? [options.closeChecks] : []).start();
  const http =
    config.metricsPort >= 0
      ? await startHttpServer({
          port: config.metricsPort,
          registry: metrics.registry,
          readiness: async () => readiness(stages, monitor.snapshot()),
        })
      : undefined;
  if (http) logger.info({ port: http.port }, 'serving /metrics, /healthz, /readyz');

  return new Promise<number>((resolve) => {
    let finishing = false;
    const finish = async (reason: string, failure?: Error) => {
      if (finishing) return;
      finishing = true;
      logger.info({ reason }, 'draining');
      for (const s of stages) s.signals.next({ type: 'drain' });
      const forced = setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting without waiting further');
        resolve(1);
        options.exit?.(1);
      }, config.shutdownTimeoutMs);
      forced.unref();
      for (const s of stages) {
        try {
          await stopStage(s, failure);
        } catch (err) {
          logger.error({ err, stage: s.name }, 'error while stopping');
        }
      }
      await http?.close();
      await monitor.stop();
      clearTimeout(forced);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info({ states: stages.map((s) => `${s.name}:${s.lifecycle.state}`) }, 'stopped');
      resolve(failure ? 1 : 0);
    };
    const onSignal = (sig: NodeJS.Signals) => {
      if (!finishing) return void finish(sig);
      // A second signal while draining: the operator wants out now (status 128 + signal number).
      const code = 128 + (sig === 'SIGINT' ? 2 : 15);
      logger.warn({ signal: sig, code }, 'second signal while draining; exiting at once');
      resolve(code);
      options.exit?.(code);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    options.signal?.addEventListener('abort', () => void finish('abort'));
    for (const s of stages) {
      s.lifecycle.state$.subscribe({
        complete: () => {
          if (s.lifecycle.state === 'failed' && !finishing) {
            const e = s.lifecycle.failure ?? new AuraError('INTERNAL', 'stage failed');
            logger.fatal({ err: e, code: classify(e).code, stage: s.name }, `stage ${s.name} failed: ${e.message}`);
            void finish('failure', e);
          }
        },
      });
    }
  });
}
