import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localStackModel } from '../src/config.js';

/** Shared plumbing of the benchmark scripts: environment knobs, percentiles, the results file. */

const RESULTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'results');

/** A positive integer from the environment, or `fallback` when unset or empty. */
export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be an integer ≥ 1, got "${raw}"`);
  return n;
}

/** Nearest-rank percentile of sorted values (NaN for none). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** The machine a result was measured on; the load average says how shared it was. */
export function hostInfo(loadavgBefore: number[], loadavgAfter: number[] = loadavg()): Record<string, unknown> {
  return { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model, loadavgBefore, loadavgAfter };
}

/** Writes `bench/results/<name>-<start time>.json` and returns its path. */
export function writeResults(name: string, startedAt: Date, body: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** The model the stages would load: EMBEDDING_MODEL_PATH, else EMBEDDING_MODEL's folder in the local stack (default bge-small). */
export function stageModelPath(): string {
  const fromEnv = process.env['EMBEDDING_MODEL_PATH'];
  if (fromEnv) return resolve(fromEnv);
  const dir = localStackModel(process.env);
  if (!dir) throw new Error('no model in the local stack: run `node bin/aura-stream.js stack up` or set EMBEDDING_MODEL_PATH');
  return dir;
}
