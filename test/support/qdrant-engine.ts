import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startQdrantDouble, type QdrantDoubleOptions, type QdrantServer } from './qdrant-double.js';
import { qdrantEnginePython } from './tools.js';

/**
 * Qdrant's own engine for tests: `qdrant-edge-py` (installed by scripts/install-qdrant-engine.sh)
 * behind the REST shim `qdrant-engine-shim.py`, with the OpenAPI-validating front of
 * qdrant-double.ts in proxy mode before it. Clients talk to the front (`url`); every request and
 * every response is validated against `test/fixtures/qdrant/openapi-v1.19.json` there, in the same
 * code that validates the double's own answers, so both are held to one reading of the document.
 *
 * The shim listens on a loopback port the OS picks, in its own temporary data folder (one shard
 * folder per collection, on tmpfs where there is one), and is stopped by `close()` (SIGTERM, then SIGKILL after 5 s); it also
 * exits by itself when this process dies (its stdin closes). Start-up takes ~0.2 s: share one
 * engine per test file and give each test its own collection.
 */
export type QdrantEngine = QdrantServer & {
  /** The shim's own URL, behind the front: only for a test that must bypass validation. */
  readonly engineUrl: string;
};

const SHIM = fileURLToPath(new URL('./qdrant-engine-shim.py', import.meta.url));
const START_TIMEOUT_MS = 30_000;
/**
 * The engine fsyncs every index creation and collection (~0.1 s each on a disk, 13 indexes per
 * collection): on tmpfs those are free. Test data is small and thrown away.
 */
const DATA_PARENT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

function waitForPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => fail(new Error(`the Qdrant engine shim printed no port within ${START_TIMEOUT_MS} ms; stderr: ${stderr()}`)), START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    function fail(err: Error): void {
      clearTimeout(timer);
      lines.close();
      reject(err);
    }
    lines.on('line', (line) => {
      const m = /^QDRANT_SHIM_PORT=(\d+)$/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      lines.close();
      resolvePort(Number(m[1]));
    });
    child.once('exit', (code, signal) => fail(new Error(`the Qdrant engine shim exited (${code ?? signal}) before it listened; stderr: ${stderr()}`)));
    child.once('error', (err) => fail(err));
  });
}

export async function startQdrantEngine(options: Omit<QdrantDoubleOptions, 'upstream'> = {}): Promise<QdrantEngine> {
  const python = qdrantEnginePython();
  const data = mkdtempSync(join(DATA_PARENT, 'aura-qdrant-engine-'));
  // stdin stays an open pipe: the shim ends when it closes, i.e. when this process is gone.
  const child = spawn(python, [SHIM, '--data', data], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    process.stderr.write(chunk);
  });
  let port: number;
  try {
    port = await waitForPort(child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    throw err;
  }
  const engineUrl = `http://127.0.0.1:${port}`;
  const front = await startQdrantDouble({ ...options, upstream: engineUrl });
  const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));

  return {
    url: front.url,
    port: front.port,
    engineUrl,
    requests: front.requests,
    responseViolations: front.responseViolations,
    setUnavailable: (down, mode) => front.setUnavailable(down, mode),
    setDelayMs: (ms) => front.setDelayMs(ms),
    async close() {
      await front.close();
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      rmSync(data, { recursive: true, force: true });
    },
  };
}
