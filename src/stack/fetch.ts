import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuraError } from '../errors.js';
import type { CompiledStackOptions, StackPaths } from './options.js';
import { MODELS, modelJarPath } from './model.js';
import { checkMaven } from './prerequisites.js';
import { runToLog, tailFile } from './process.js';

/** Versions pinned in deploy/stack/pom.xml `<properties>`, the only place they are written. */
export interface StackVersions {
  readonly kafka: string;
  readonly log4j: string;
  readonly slf4j: string;
  readonly apicurio: string;
  readonly minilm: string;
  readonly bge: string;
}

/** `fetched.json`: written last, so its presence means the fetch completed. */
export interface FetchStamp {
  readonly pomSha256: string;
  readonly versions: StackVersions;
  readonly maven: string;
  readonly fetchedAt: string;
  readonly seconds: number;
}

export function readPom(pomPath: string): { sha256: string; versions: StackVersions } {
  const xml = readFileSync(pomPath, 'utf8');
  const prop = (name: string): string => {
    const m = new RegExp(`<${name.replace(/\./g, '\\.')}>\\s*([^<\\s]+)\\s*</${name.replace(/\./g, '\\.')}>`).exec(xml);
    if (!m?.[1]) throw new AuraError('STACK', `${pomPath} has no <${name}> property`);
    return m[1];
  };
  return {
    sha256: createHash('sha256').update(xml).digest('hex'),
    versions: {
      kafka: prop('kafka.version'),
      log4j: prop('log4j.version'),
      slf4j: prop('slf4j.version'),
      apicurio: prop('apicurio.version'),
      minilm: prop('minilm.version'),
      bge: prop('bge.version'),
    },
  };
}

export function readFetchStamp(paths: StackPaths): FetchStamp | undefined {
  try {
    return JSON.parse(readFileSync(paths.fetchStamp, 'utf8')) as FetchStamp;
  } catch {
    return undefined;
  }
}

function complete(paths: StackPaths): boolean {
  return (
    existsSync(paths.apicurioTarball) &&
    Object.values(MODELS).every((spec) => existsSync(modelJarPath(paths, spec))) &&
    existsSync(paths.kafkaLibs) &&
    readdirSync(paths.kafkaLibs).some((f) => f.startsWith('kafka_2.13-'))
  );
}

/**
 * Makes sure the cache holds the jars and artifacts the pom names. Runs Maven only when the pom
 * changed since the last complete fetch, or a fetched file is missing; Maven resolves through its
 * own local repository (~/.m2), so a second checkout on the same machine copies without downloading.
 */
export async function ensureFetched(opts: CompiledStackOptions, paths: StackPaths): Promise<{ stamp: FetchStamp; fetched: boolean }> {
  const pom = readPom(opts.pomPath);
  const stamp = readFetchStamp(paths);
  if (stamp && stamp.pomSha256 === pom.sha256 && complete(paths)) return { stamp, fetched: false };

  const maven = checkMaven(opts.env);
  opts.log(`fetching Kafka ${pom.versions.kafka}, Apicurio Registry ${pom.versions.apicurio} and the embedding models (MiniLM ${pom.versions.minilm}, bge-small ${pom.versions.bge}) with Maven ${maven} …`);
  const started = Date.now();
  rmSync(paths.fetchTmp, { recursive: true, force: true });
  mkdirSync(paths.logs, { recursive: true });
  const log = join(paths.logs, 'fetch.log');
  const code = await runToLog(
    'mvn',
    ['-B', '-ntp', '-f', opts.pomPath, `-Dstack.fetch.dir=${paths.fetchTmp}`, 'dependency:copy-dependencies@kafka-libs', 'dependency:copy@artifacts'],
    log,
    opts.env,
    opts.timeoutMs * 5,
  );
  if (code !== 0) {
    throw new AuraError('STACK', `Maven could not fetch the stack (exit ${code}); see ${log}:\n${tailFile(log, 25)}`);
  }
  // Swap in the new files only after Maven finished: a stale jar left in kafka/libs would land on the
  // broker's classpath.
  rmSync(paths.kafkaLibs, { recursive: true, force: true });
  mkdirSync(join(paths.kafkaLibs, '..'), { recursive: true });
  renameSync(join(paths.fetchTmp, 'kafka-libs'), paths.kafkaLibs);
  mkdirSync(paths.artifacts, { recursive: true });
  for (const name of readdirSync(join(paths.fetchTmp, 'artifacts'))) {
    renameSync(join(paths.fetchTmp, 'artifacts', name), join(paths.artifacts, name));
  }
  rmSync(paths.fetchTmp, { recursive: true, force: true });
  const fresh: FetchStamp = {
    pomSha256: pom.sha256,
    versions: pom.versions,
    maven,
    fetchedAt: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  writeFileSync(paths.fetchStamp, `${JSON.stringify(fresh, null, 2)}\n`);
  opts.log(`fetched in ${fresh.seconds}s`);
  return { stamp: fresh, fetched: true };
}
