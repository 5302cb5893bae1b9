import type { Admin, Kafka } from 'kafkajs';

/** Reaches one dependency once; resolves when it answered, rejects with why not. */
export type Probe = () => Promise<unknown>;

export interface DependencyMonitorOptions {
  /** Time between the end of one probe of a dependency and the start of the next; default 5000. */
  intervalMs?: number;
  /** A probe still unanswered after this long is reported `unreachable: no answer within …`; default 3000. */
  timeoutMs?: number;
  /** Injectable clock and timers for tests. */
  setTimer?: (fn: () => void, ms: number) => { unref?: () => void };
  clearTimer?: (t: unknown) => void;
}

/**
 * Dependency checks for /readyz, run in the background (issue 17: a probe answered inline made
 * /readyz wait out the broker's connect retries, and every scrape opened another admin client).
 *
 * Contract:
 * - `snapshot()` never waits: it returns the last result per dependency — `unknown` before the
 *   first probe ends, `ok`, or `unreachable: <reason>`.
 * - At most one probe per dependency is in flight at any time, however often /readyz is asked
 *   and however long a probe hangs: the next starts `intervalMs` after the previous settled.
 *   So a dependency costs at most one client and one request at a time.
 * - A probe unanswered after `timeoutMs` is reported `unreachable: no answer within <t> ms`
 *   while it keeps running; it is not abandoned and not duplicated.
 * - `stop()` ends the timers and waits for probes in flight, then closes what `onStop` names.
 */
export class DependencyMonitor {
  private readonly results = new Map<string, string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<unknown>();
  private stopped = false;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly setTimer: NonNullable<DependencyMonitorOptions['setTimer']>;
  private readonly clearTimer: NonNullable<DependencyMonitorOptions['clearTimer']>;

  constructor(
    private readonly probes: Record<string, Probe>,
    options: DependencyMonitorOptions = {},
    private readonly onStop: Array<() => Promise<void>> = [],
  ) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
    for (const name of Object.keys(probes)) this.results.set(name, 'unknown');
  }

  /** Starts probing every dependency now, then every `intervalMs` after each probe settles. */
  start(): this {
    for (const name of Object.keys(this.probes)) this.run(name);
    return this;
  }

  /** The last result per dependency; never waits. */
  snapshot(): Record<string, string> {
    return Object.fromEntries(this.results);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clearTimer(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled(this.onStop.map((close) => close()));
  }

  private schedule(fn: () => void, ms: number): unknown {
    const t = this.setTimer(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
    return t;
  }

  private run(name: string): void {
    if (this.stopped) return;
    const probe = this.probes[name]!;
    let settled = false;
    const slow = this.schedule(() => {
      if (!settled) this.results.set(name, `unreachable: no answer within ${this.timeoutMs} ms`);
    }, this.timeoutMs);
    const done = (async () => {
      try {
        await probe();
        this.results.set(name, 'ok');
      } catch (err) {
        this.results.set(name, `unreachable: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        settled = true;
        this.timers.delete(slow);
        this.clearTimer(slow);
      }
    })();
    this.inFlight.add(done);
    void done.then(() => {
      this.inFlight.delete(done);
      this.schedule(() => this.run(name), this.intervalMs);
    });
  }
}

/**
 * The broker probe: one admin client for the life of the process, connected on first use and
 * again after a failure (disconnected then, so a dead connection is not kept), asked for the
 * cluster's brokers. `close` disconnects it.
 */
export function brokerProbe(kafka: Kafka): { probe: Probe; close: () => Promise<void> } {
  let admin: Admin | undefined;
  let connected = false;
  return {
    probe: async () => {
      admin ??= kafka.admin();
      try {
        if (!connected) {
          await admin.connect();
          connected = true;
        }
        await admin.describeCluster();
      } catch (err) {
        connected = false;
        await admin.disconnect().catch(() => undefined);
        throw err;
      }
    },
    close: async () => {
      connected = false;
      await admin?.disconnect().catch(() => undefined);
    },
  };
}
