// Paths of the deployment tools that scripts/install-tools.sh installs (promtool, prometheus, the
// Python venv with kubernetes-validate). Not a test file. A missing tool fails the test with the
// command that installs it: nothing is skipped.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './stack-env.js';

const INSTALL = 'run `bash scripts/install-tools.sh` (npm test does)';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

export function tool(name: 'promtool' | 'prometheus' | 'kubectl'): string {
  const path = onPath(name);
  if (!path) throw new Error(`${name} not found on PATH: ${name === 'kubectl' ? 'install kubectl (it renders the Kustomize overlays offline)' : INSTALL}`);
  return path;
}

/** The venv's python, with kubernetes-validate and cloudcoil-models-keda. */
export function venvPython(): string {
  const path = join(ROOT, '.cache', 'tools', 'venv', 'bin', 'python');
  if (!existsSync(path)) throw new Error(`no venv at ${path}: ${INSTALL}`);
  return path;
}

/** The venv's python with Qdrant's embedded engine (scripts/install-qdrant-engine.sh, called by install-tools.sh). */
export function qdrantEnginePython(): string {
  const path = join(ROOT, '.cache', 'tools', 'qdrant-venv', 'bin', 'python');
  if (!existsSync(path)) throw new Error(`no Qdrant engine venv at ${path}: ${INSTALL}`);
  return path;
}

export function run(cmd: string, args: string[], input?: string, env?: Record<string, string>): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', input, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}
