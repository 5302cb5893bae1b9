/**
 * The local stack without Docker (deploy/stack/NOTES.md): Kafka (KRaft, one combined node) and Apicurio
 * Registry fetched with Maven into a git-ignored cache and run on loopback, plus the embedding
 * model laid out for transformers.js. The CLI maps `aura-stream stack up|down|status` onto
 * `stackUp`, `stackDown` and `stackStatus`; `status` should exit non-zero when `info.ok` is false.
 *
 * Cache layout (`AURA_STACK_DIR`, default `<project root>/.cache/stack`):
 *   fetched.json            what Maven last fetched (pom sha256, versions)
 *   kafka/libs/*.jar        broker classpath          kafka/config/  server.properties, log4j2.properties
 *   kafka/data/             formatted KRaft log (kept across restarts)
 *   artifacts/              Apicurio tarball and model jar as fetched
 *   apicurio/               unpacked Apicurio (quarkus-run.jar)
 *   models/<model id>/      one folder per embedding model (all-MiniLM-L6-v2-q, bge-small-en-v1.5-q);
 *                           EMBEDDING_MODEL picks one, EMBEDDING_MODEL_PATH names a folder directly;
 *                           its layout.json records the layout, and `up` lays a folder out again
 *                           when that record is missing or differs from what this code writes
 *   logs/<name>.log         server stdout+stderr (previous run: <name>.log.1)
 *   run/<name>.json         pid files (see process.ts); run/stack.lock while up/down runs
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AuraError } from '../errors.js';
import { ensureFetched, readFetchStamp, readPom, type StackVersions } from './fetch.js';
import { ensureKafkaFormatted, kafkaArgv, kafkaStartHint, probeKafka, warmUpKafka, writeKafkaConfig } from './kafka.js';
import { ensureModels, MODELS, modelDir, readModelManifest } from './model.js';
import { compileStackOptions, stackPaths, type CompiledStackOptions, type StackOptions, type StackPaths } from './options.js';
import { selectJava, type JavaSelection } from './prerequisites.js';
import { isOurs, logFile, portFree, readPidRecord, removePidRecord, startDetached, stopProcess, tailFile, withLock, type PidRecord, type ServerName } from './process.js';
import { ccompatUrl, configureRegistry, ensureApicurioUnpacked, probeRegistry, registryArgv } from './registry.js';

export type { StackOptions } from './options.js';
export type { StackVersions } from './fetch.js';
export { MODEL_ID } from './model.js';
export { GLOBAL_COMPATIBILITY } from './registry.js';

export interface StackProcessInfo {
  readonly name: ServerName;
  /** pid from the pid file; null when there is none */
  readonly pid: number | null;
  /** the recorded pid is alive and still runs the command line this stack started */
  readonly running: boolean;
  /** the port answers its protocol (Kafka metadata, registry subjects) */
  readonly reachable: boolean;
  readonly ports: readonly number[];
  readonly address: string;
  readonly log: string;
  /** e.g. "cluster 3kq…" or "Apicurio 3.3.3, BACKWARD_TRANSITIVE", or why it is not reachable */
  readonly detail: string;
}

export interface StackInfo {
  /** `KAFKA_BROKERS` for the app, e.g. 127.0.0.1:19092 */
  readonly kafkaBrokers: string;
  /** `SCHEMA_REGISTRY_URL` for the app, e.g. http://127.0.0.1:18081/apis/ccompat/v7 */
  readonly schemaRegistryUrl: string;
  /** `EMBEDDING_MODEL_PATH` for the app */
  readonly modelPath: string;
  /** sha256 of the model's ONNX file, when the folder is laid out */
  readonly modelSha256: string | null;
  /** Every model the stack lays out (the default one included): folder and ONNX sha256 (null = missing). */
  readonly models: ReadonlyArray<{ readonly id: string; readonly path: string; readonly sha256: string | null }>;
  readonly dir: string;
  readonly processes: readonly StackProcessInfo[];
  /** versions from deploy/stack/pom.xml */
  readonly versions: StackVersions;
  /** both servers run (started by this stack) and answer, and every model folder is laid out */
  readonly ok: boolean;
}

const SERVERS: readonly ServerName[] = ['kafka', 'registry'];

const portsOf = (opts: CompiledStackOptions, name: ServerName): number[] =>
  name === 'kafka' ? [opts.kafkaPort, opts.kafkaControllerPort] : [opts.registryPort];

const PORT_VARS: Record<ServerName, string> = { kafka: 'AURA_KAFKA_PORT / AURA_KAFKA_CONTROLLER_PORT', registry: 'AURA_REGISTRY_PORT' };

async function probe(opts: CompiledStackOptions, name: ServerName): Promise<{ ok: boolean; detail: string }> {
  if (name === 'kafka') {
    const p = await probeKafka(opts.kafkaPort);
    return { ok: p.ok, detail: p.ok ? `cluster ${p.clusterId ?? '?'}` : `no answer: ${p.error ?? '?'}` };
  }
  const p = await probeRegistry(opts.registryPort);
  return { ok: p.ok, detail: p.ok ? `Apicurio ${p.version ?? '?'}, global compatibility ${p.compatibility ?? '?'}` : `no answer: ${p.error ?? '?'}` };
}

async function collect(opts: CompiledStackOptions, paths: StackPaths): Promise<StackInfo> {
  const processes = await Promise.all(
    SERVERS.map(async (name): Promise<StackProcessInfo> => {
      const rec = readPidRecord(paths, name);
      const running = rec !== undefined && isOurs(rec);
      const answer = await probe(opts, name);
      const detail = answer.ok && !running ? `${answer.detail}; but not a process this stack started (${rec ? `pid ${rec.pid} is gone` : 'no pid file'})` : answer.detail;
      return {
        name,
        pid: rec?.pid ?? null,
        running,
        reachable: answer.ok,
        ports: portsOf(opts, name),
        address: name === 'kafka' ? `127.0.0.1:${opts.kafkaPort}` : ccompatUrl(opts.registryPort),
        log: logFile(paths, name),
        detail,
      };
    }),
  );
  const manifest = readModelManifest(paths);
  const models = Object.values(MODELS).map((spec) => ({ id: spec.id, path: modelDir(paths, spec), sha256: readModelManifest(paths, spec)?.onnx_sha256 ?? null }));
  const versions = readFetchStamp(paths)?.versions ?? readPom(opts.pomPath).versions;
  return {
    kafkaBrokers: `127.0.0.1:${opts.kafkaPort}`,
    schemaRegistryUrl: ccompatUrl(opts.registryPort),
    modelPath: modelDir(paths),
    modelSha256: manifest?.onnx_sha256 ?? null,
    models,
    dir: paths.dir,
    processes,
    versions,
    ok: processes.every((p) => p.running && p.reachable) && models.every((m) => m.sha256 !== null),
  };
}

/** The three variables the app reads, as `KEY=value` lines. */
export function stackEnvLines(info: StackInfo): string[] {
  return [`KAFKA_BROKERS=${info.kafkaBrokers}`, `SCHEMA_REGISTRY_URL=${info.schemaRegistryUrl}`, `EMBEDDING_MODEL_PATH=${info.modelPath}`];
}

/** Human-readable status table. */
export function formatStackInfo(info: StackInfo): string[] {
  const lines = info.processes.map((p) => {
    const state = p.running ? 'running' : 'stopped';
    const pid = p.pid === null ? '-' : String(p.pid);
    return `${p.name.padEnd(9)}${state.padEnd(9)}pid ${pid.padEnd(8)}${p.address.padEnd(42)}${p.reachable ? 'reachable' : 'unreachable'} (${p.detail})`;
  });
  for (const m of info.models) {
    const tag = m.path === info.modelPath ? ', default' : '';
    lines.push(`${'model'.padEnd(9)}${(m.sha256 ? 'ready' : 'missing').padEnd(9)}${m.path}${m.sha256 ? ` (onnx sha256 ${m.sha256.slice(0, 16)}…${tag})` : ''}`);
  }
  lines.push(`versions: Kafka ${info.versions.kafka}, Apicurio Registry ${info.versions.apicurio}, model jars MiniLM ${info.versions.minilm}, bge-small ${info.versions.bge}; cache ${info.dir}`);
  return lines;
}

async function waitReady(opts: CompiledStackOptions, paths: StackPaths, rec: PidRecord, deadline: number): Promise<number> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const answer = await probe(opts, rec.name);
    if (answer.ok) return (Date.now() - started) / 1000;
    last = answer.detail;
    if (!isOurs(rec)) {
      removePidRecord(paths, rec.name);
      const tail = tailFile(rec.log, 30);
      throw new AuraError('STACK', `${rec.name} (pid ${rec.pid}) exited before it answered; last lines of ${rec.log}:\n${tail}${rec.name === 'kafka' ? kafkaStartHint(paths, tail) : ''}`);
    }
    if (Date.now() > deadline) {
      throw new AuraError(
        'STACK',
        `${rec.name} (pid ${rec.pid}) did not answer within ${Math.round(opts.timeoutMs / 1000)}s (AURA_STACK_TIMEOUT_MS; last probe: ${last}); it is left running, \`stack down\` stops it; last lines of ${rec.log}:\n${tailFile(rec.log, 30)}`,
      );
    }
    await sleep(500);
  }
}

/**
 * Starts whatever is not running and returns once both servers answer. Idempotent: a server
 * this stack already runs is only probed, never started twice. Fetches with Maven on first use.
 * Prints `KAFKA_BROKERS=…`, `SCHEMA_REGISTRY_URL=…`, `EMBEDDING_MODEL_PATH=…`.
 */
export async function stackUp(options: StackOptions = {}): Promise<StackInfo> {
  const opts = compileStackOptions(options);
  const paths = stackPaths(opts.dir);
  const began = Date.now();
  await withLock(paths, opts.timeoutMs, async () => {
    const toStart = SERVERS.filter((name) => {
      const rec = readPidRecord(paths, name);
      if (rec && isOurs(rec)) {
        const want = portsOf(opts, name);
        if (Array.isArray(rec.ports) && rec.ports.join() !== want.join()) {
          throw new AuraError('STACK', `${name} already runs (pid ${rec.pid}) on port(s) ${rec.ports.join(', ')}, not ${want.join(', ')} as ${PORT_VARS[name]} now ask; run \`stack down\` first to change ports`);
        }
        opts.log(`${name}: already running (pid ${rec.pid})`);
        return false;
      }
      if (rec) removePidRecord(paths, name);
      return true;
    });
    let java: JavaSelection | undefined;
    if (toStart.length > 0) {
      java = selectJava(opts.javaHome, opts.env);
      for (const name of toStart) {
        for (const port of portsOf(opts, name)) {
          if (!(await portFree(port))) {
            throw new AuraError('STACK', `port ${port} on 127.0.0.1 is in use by a process this stack did not start, so ${name} cannot listen there; stop that process or choose another port with ${PORT_VARS[name]}`);
          }
        }
      }
    }
    const { stamp } = await ensureFetched(opts, paths);
    const model = ensureModels(paths, stamp.versions, opts.log);
    model.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection first
    const deadline = Date.now() + opts.timeoutMs;
    const started: PidRecord[] = [];
    if (java && toStart.includes('kafka')) {
      writeKafkaConfig(opts, paths);
      const { formatted, clusterId } = await ensureKafkaFormatted(java.kafka, opts, paths);
      if (formatted) opts.log(`kafka: formatted ${paths.kafkaData} (cluster ${clusterId})`);
      const rec = startDetached(paths, 'kafka', kafkaArgv(java.kafka, paths), paths.dir, portsOf(opts, 'kafka'), opts.env);
      opts.log(`kafka: started pid ${rec.pid} (Kafka ${stamp.versions.kafka}, Java ${java.kafka.version}), log ${rec.log}`);
      started.push(rec);
    }
    if (java && toStart.includes('registry')) {
      const jar = ensureApicurioUnpacked(paths, stamp.versions.apicurio);
      const { argv, cwd } = registryArgv(java.registry, jar, opts.registryPort);
      const rec = startDetached(paths, 'registry', argv, cwd, portsOf(opts, 'registry'), opts.env);
      opts.log(`registry: started pid ${rec.pid} (Apicurio ${stamp.versions.apicurio}, Java ${java.registry.version}), log ${rec.log}`);
      started.push(rec);
    }
    const waits = SERVERS.map(async (name) => {
      const fresh = started.find((r) => r.name === name);
      const rec = fresh ?? readPidRecord(paths, name);
      if (!rec) throw new AuraError('INTERNAL', `no pid file for ${name} after start`);
      const seconds = await waitReady(opts, paths, rec, deadline);
      if (name === 'kafka' && fresh) await warmUpKafka(opts.kafkaPort, Math.max(10_000, deadline - Date.now()));
      if (name === 'registry') await configureRegistry(opts.registryPort);
      if (fresh) opts.log(`${name}: ready after ${seconds.toFixed(1)}s`);
    });
    const results = await Promise.allSettled([...waits, model]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) throw new AuraError('STACK', failed.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n'));
  });
  const info = await collect(opts, paths);
  if (!info.ok) {
    throw new AuraError('STACK', `stack up finished but the stack is not healthy:\n${formatStackInfo(info).join('\n')}`);
  }
  opts.log(`stack up in ${((Date.now() - began) / 1000).toFixed(1)}s`);
  for (const line of stackEnvLines(info)) opts.print(line);
  return info;
}

/**
 * Stops the servers this stack started: only a pid from its pid files, and only while that pid
 * still runs the recorded command line. SIGTERM, then SIGKILL after 30 s (or AURA_STACK_TIMEOUT_MS
 * if lower). Data (Kafka's log, the fetched files) stays; the registry's in-memory schemas do not.
 */
export async function stackDown(options: StackOptions = {}): Promise<StackInfo> {
  const opts = compileStackOptions(options);
  const paths = stackPaths(opts.dir);
  await withLock(paths, opts.timeoutMs, async () => {
    await Promise.all(
      SERVERS.map(async (name) => {
        const rec = readPidRecord(paths, name);
        if (!rec) {
          opts.log(`${name}: not running (no pid file)`);
          return;
        }
        if (!isOurs(rec)) {
          opts.log(`${name}: pid ${rec.pid} no longer runs the command this stack started; nothing to stop`);
          removePidRecord(paths, name);
          return;
        }
        const how = await stopProcess(rec, Math.min(30_000, opts.timeoutMs));
        removePidRecord(paths, name);
        opts.log(`${name}: ${how === 'stopped' ? 'stopped' : 'killed after SIGTERM timed out'} (pid ${rec.pid})`);
      }),
    );
  });
  return collect(opts, paths);
}

/** What runs, on which ports, and whether it answers. Prints the table; never starts or fetches anything. */
export async function stackStatus(options: StackOptions = {}): Promise<StackInfo> {
  const opts = compileStackOptions(options);
  const info = await collect(opts, stackPaths(opts.dir));
  for (const line of formatStackInfo(info)) opts.print(line);
  if (info.ok) for (const line of stackEnvLines(info)) opts.print(line);
  return info;
}
