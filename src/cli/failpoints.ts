import { writeSync } from 'node:fs';
import { AuraError } from '../errors.js';

/**
 * Failpoints for crash tests: the process kills itself with SIGKILL (what `kill -9`, an OOM kill or
 * a node loss does: no handler, no flush, no commit) right before or right after one port call, so
 * a test can stop a stage between two of its steps and check that a restart still ends correct.
 *
 *   AURA_FAILPOINT=<stage>.<point>:<before|after>[,<stage>.<point>:<before|after>…]   default: unset (off)
 *
 * e.g. `aggregate.write:after` (the transaction committed, the LMDB apply not done),
 * `vectorize.delete:after` (the store deleted the points, the confirmation not sent),
 * `vectorize.send:after` (the confirmations sent, the offsets not committed).
 * Which points exist is decided where the stages are composed (run-aggregate.ts, run-vectorize.ts):
 * a well-formed name that no port declares never fires. The first armed call kills the process; a
 * restart without the variable carries on. A test hook only: no configuration row, never set in
 * production.
 */
export const FAILPOINT_ENV = 'AURA_FAILPOINT';

const NAME = /^[a-z][a-z0-9-]*\.[a-zA-Z][a-zA-Z0-9_-]*:(before|after)$/;

/** The armed failpoint names of `raw` (comma-separated); a CONFIG error names a malformed one. */
export function parseFailpoints(raw: string | undefined): Set<string> {
  const names = (raw ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const n of names) {
    if (!NAME.test(n)) throw new AuraError('CONFIG', `${FAILPOINT_ENV}=${JSON.stringify(raw)}: "${n}" is not a failpoint name: expected <stage>.<point>:before or :after, e.g. aggregate.write:after`);
  }
  return new Set(names);
}

/** Says which failpoint fired (synchronously: nothing written later survives SIGKILL), then dies. */
function die(name: string): never {
  writeSync(2, `${JSON.stringify({ level: 60, time: Date.now(), msg: `failpoint ${name}: killing this process with SIGKILL`, failpoint: name })}\n`);
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before kill() returns to a process signalling itself; never reached.
  throw new AuraError('INTERNAL', `failpoint ${name}: SIGKILL did not end the process`);
}

/**
 * `port` with the calls of `methods` (method name → point name, or a list where both are the same)
 * guarded by the failpoints armed in `env` for `stage`: `<stage>.<point>:before` dies before the
 * call, `:after` once it returned (an async method: once its promise resolved; a rejected call does
 * not fire). Methods the port does not have are skipped, so a point can be declared before its
 * method exists. Unarmed (the normal case), `port` itself is returned: no proxy, no cost. Every
 * other member reads through to `port` (methods bound to it, so private fields keep working).
 */
export function withFailpoints<T extends object>(port: T, stage: string, methods: Readonly<Record<string, string>> | readonly string[], env: NodeJS.ProcessEnv = process.env): T {
  const armed = parseFailpoints(env[FAILPOINT_ENV]);
  if (armed.size === 0) return port;
  const points = new Map<string, { before: string | undefined; after: string | undefined }>();
  const pairs: Array<[string, string]> = Array.isArray(methods) ? (methods as readonly string[]).map((m) => [m, m]) : Object.entries(methods);
  for (const [method, point] of pairs) {
    const before = `${stage}.${point}:before`;
    const after = `${stage}.${point}:after`;
    if (typeof (port as Record<string, unknown>)[method] !== 'function') continue;
    if (armed.has(before) || armed.has(after)) points.set(method, { before: armed.has(before) ? before : undefined, after: armed.has(after) ? after : undefined });
  }
  if (points.size === 0) return port;
  return new Proxy(port, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      const point = typeof prop === 'string' ? points.get(prop) : undefined;
      if (!point) return fn.bind(target);
      return (...args: unknown[]) => {
        if (point.before) die(point.before);
        const result = fn.apply(target, args);
        if (!point.after) return result;
        const after = point.after;
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') return Promise.resolve(result).then((v: unknown) => (die(after), v));
        die(after);
      };
    },
  });
}
