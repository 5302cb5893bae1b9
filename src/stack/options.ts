import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuraError } from '../errors.js';

/** What a caller of `stackUp`/`stackDown`/`stackStatus` may pass; every field has a default. */
export interface StackOptions {
  /** Environment to read the defaults from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Cache folder for jars, unpacked servers, data, logs and pid files. Default: `AURA_STACK_DIR`, else `<project root>/.cache/stack`. */
  dir?: string;
  /** Kafka client listener on 127.0.0.1. Default: `AURA_KAFKA_PORT`, else 19092. */
  kafkaPort?: number;
  /** KRaft controller listener on 127.0.0.1. Default: `AURA_KAFKA_CONTROLLER_PORT`, else 19093. */
  kafkaControllerPort?: number;
  /** Apicurio Registry HTTP port on 127.0.0.1. Default: `AURA_REGISTRY_PORT`, else 18081. */
  registryPort?: number;
  /** How long `up` waits for each server to answer, and `down` for each to exit. Default: `AURA_STACK_TIMEOUT_MS`, else 180000. */
  timeoutMs?: number;
  /** A JDK to prefer over `JAVA_HOME`/`PATH`. Default: `AURA_STACK_JAVA_HOME`, else none. */
  javaHome?: string;
  /** Where the result goes: the `KEY=value` lines of `up`, the table of `status`. Default: stdout. */
  print?: (line: string) => void;
  /** Where progress goes (kept off stdout so `up`'s output can be sourced). Default: stderr. */
  log?: (line: string) => void;
}

/** Options after defaults and validation. */
export interface CompiledStackOptions {
  readonly projectRoot: string;
  readonly pomPath: string;
  readonly dir: string;
  readonly kafkaPort: number;
  readonly kafkaControllerPort: number;
  readonly registryPort: number;
  readonly timeoutMs: number;
  readonly javaHome: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly print: (line: string) => void;
  readonly log: (line: string) => void;
}

/** The folder holding package.json, found upwards from this module (works from src/ and dist/). */
export function findProjectRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'deploy', 'stack', 'pom.xml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new AuraError('STACK', `cannot find the project root (a folder with package.json and deploy/stack/pom.xml) above ${from}`);
    dir = parent;
  }
}

function port(env: NodeJS.ProcessEnv, name: string, given: number | undefined, fallback: number): number {
  const raw = given ?? (env[name] !== undefined && env[name] !== '' ? Number(env[name]) : fallback);
  if (!Number.isInteger(raw) || raw < 1 || raw > 65535) {
    throw new AuraError('CONFIG', `${name} must be a TCP port (an integer 1-65535), got ${JSON.stringify(env[name] ?? given)}`);
  }
  return raw;
}

export function compileStackOptions(options: StackOptions = {}): CompiledStackOptions {
  const env = options.env ?? process.env;
  const projectRoot = findProjectRoot();
  const dir = resolve(options.dir ?? (env.AURA_STACK_DIR || join(projectRoot, '.cache', 'stack')));
  const kafkaPort = port(env, 'AURA_KAFKA_PORT', options.kafkaPort, 19092);
  const kafkaControllerPort = port(env, 'AURA_KAFKA_CONTROLLER_PORT', options.kafkaControllerPort, 19093);
  const registryPort = port(env, 'AURA_REGISTRY_PORT', options.registryPort, 18081);
  const ports = [kafkaPort, kafkaControllerPort, registryPort];
  if (new Set(ports).size !== ports.length) {
    throw new AuraError('CONFIG', `AURA_KAFKA_PORT, AURA_KAFKA_CONTROLLER_PORT and AURA_REGISTRY_PORT must differ, got ${ports.join(', ')}`);
  }
  const timeoutMs = options.timeoutMs ?? (env.AURA_STACK_TIMEOUT_MS ? Number(env.AURA_STACK_TIMEOUT_MS) : 180_000);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new AuraError('CONFIG', `AURA_STACK_TIMEOUT_MS must be a positive number of milliseconds, got ${JSON.stringify(env.AURA_STACK_TIMEOUT_MS)}`);
  }
  return {
    projectRoot,
    pomPath: join(projectRoot, 'deploy', 'stack', 'pom.xml'),
    dir,
    kafkaPort,
    kafkaControllerPort,
    registryPort,
    timeoutMs,
    javaHome: options.javaHome ?? (env.AURA_STACK_JAVA_HOME || undefined),
    env,
    print: options.print ?? ((line) => process.stdout.write(`${line}\n`)),
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}

/** Fixed layout of the cache folder; every path the stack reads or writes is named here. */
export function stackPaths(dir: string) {
  return {
    dir,
    /** `{ pomSha256, versions, fetchedAt }` of the last complete fetch */
    fetchStamp: join(dir, 'fetched.json'),
    fetchTmp: join(dir, 'fetch.tmp'),
    kafkaLibs: join(dir, 'kafka', 'libs'),
    kafkaConfig: join(dir, 'kafka', 'config', 'server.properties'),
    kafkaLog4j: join(dir, 'kafka', 'config', 'log4j2.properties'),
    kafkaData: join(dir, 'kafka', 'data'),
    artifacts: join(dir, 'artifacts'),
    apicurioTarball: join(dir, 'artifacts', 'apicurio-registry-app-all.tar.gz'),
    apicurioHome: join(dir, 'apicurio'),
    models: join(dir, 'models'),
    logs: join(dir, 'logs'),
    run: join(dir, 'run'),
    lock: join(dir, 'run', 'stack.lock'),
  };
}

export type StackPaths = ReturnType<typeof stackPaths>;
