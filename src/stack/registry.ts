import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AuraError } from '../errors.js';
import type { StackPaths } from './options.js';
import type { JavaRuntime } from './prerequisites.js';

/** The compatibility every schema of the project evolves under (docs/ARCHITECTURE.md §2). */
export const GLOBAL_COMPATIBILITY = 'BACKWARD_TRANSITIVE';
export const CCOMPAT_PATH = '/apis/ccompat/v7';

export const registryBaseUrl = (port: number): string => `http://127.0.0.1:${port}`;
export const ccompatUrl = (port: number): string => `${registryBaseUrl(port)}${CCOMPAT_PATH}`;

/** `apicurio/.unpacked` holds the version the folder was unpacked from. */
function findQuarkusRun(dir: string, depth = 3): string | undefined {
  const direct = join(dir, 'quarkus-run.jar');
  if (existsSync(direct)) return direct;
  if (depth === 0) return undefined;
  for (const name of readdirSync(dir)) {
    const sub = join(dir, name);
    if (statSync(sub).isDirectory()) {
      const found = findQuarkusRun(sub, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Unpacks the `all` tarball once per version and returns the path of `quarkus-run.jar` (its folder
 * inside the tarball differs between Apicurio versions, so it is searched for).
 */
export function ensureApicurioUnpacked(paths: StackPaths, version: string): string {
  const marker = join(paths.apicurioHome, '.unpacked');
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === version) {
    const jar = findQuarkusRun(paths.apicurioHome);
    if (jar) return jar;
  }
  const tmp = `${paths.apicurioHome}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const r = spawnSync('tar', ['-xzf', paths.apicurioTarball, '-C', tmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new AuraError('STACK', `could not unpack ${paths.apicurioTarball}: ${r.error?.message ?? r.stderr.trim()}; delete it and run \`stack up\` again to fetch it anew`);
  }
  if (!findQuarkusRun(tmp)) {
    throw new AuraError('STACK', `${paths.apicurioTarball} holds no quarkus-run.jar; is apicurio.version in deploy/stack/pom.xml a 3.x Quarkus build?`);
  }
  rmSync(paths.apicurioHome, { recursive: true, force: true });
  renameSync(tmp, paths.apicurioHome);
  writeFileSync(marker, `${version}\n`);
  const jar = findQuarkusRun(paths.apicurioHome);
  if (!jar) throw new AuraError('INTERNAL', `quarkus-run.jar vanished from ${paths.apicurioHome}`);
  return jar;
}

/**
 * Apicurio on loopback with its default in-memory H2 storage (schemas are lost on stop: tests
 * register what they need). Its Quarkus management interface (health, metrics) is enabled at
 * build time and would listen on 0.0.0.0:9000, a port other tools use; it cannot be switched off
 * at run time, so it is moved to loopback on a free port the OS picks (nothing here uses it).
 */
export function registryArgv(java: JavaRuntime, quarkusRunJar: string, port: number): { argv: string[]; cwd: string } {
  return {
    argv: [
      java.bin,
      '-Xms128m',
      '-Xmx512m',
      // a development registry: C1-only JIT and the serial GC start faster on a small machine
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${port}`,
      '-Dquarkus.management.host=127.0.0.1',
      '-Dquarkus.management.port=0',
      '-jar',
      quarkusRunJar,
    ],
    cwd: dirname(quarkusRunJar),
  };
}

export interface RegistryProbe {
  readonly ok: boolean;
  readonly version?: string;
  readonly compatibility?: string;
  readonly error?: string;
}

async function http(method: string, url: string, body?: unknown, timeoutMs = 5000): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: res.status, json };
}

/** Ready = `GET /apis/ccompat/v7/subjects` answers 200 with a JSON array. */
export async function probeRegistry(port: number): Promise<RegistryProbe> {
  try {
    const subjects = await http('GET', `${ccompatUrl(port)}/subjects`);
    if (subjects.status !== 200 || !Array.isArray(subjects.json)) {
      return { ok: false, error: `GET ${CCOMPAT_PATH}/subjects answered ${subjects.status}` };
    }
    const config = await http('GET', `${ccompatUrl(port)}/config`);
    const info = await http('GET', `${registryBaseUrl(port)}/apis/registry/v3/system/info`);
    return {
      ok: true,
      compatibility: (config.json as { compatibilityLevel?: string } | undefined)?.compatibilityLevel ?? '?',
      version: (info.json as { version?: string } | undefined)?.version ?? '?',
    };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * Sets the global compatibility to BACKWARD_TRANSITIVE through the Confluent-compatible API and
 * checks it from both sides. Measured on Apicurio 3.3.3: ccompat `PUT /config` creates the global
 * COMPATIBILITY rule of Apicurio's own API (`/apis/registry/v3/admin/rules/COMPATIBILITY`) and
 * registration then refuses an incompatible version with 409 — so the ccompat call alone is
 * enough there. The v3 rule is still read back, and created or corrected if ccompat did not do it
 * (an older or differently configured Apicurio), because without it nothing is enforced.
 */
export async function configureRegistry(port: number): Promise<void> {
  const base = ccompatUrl(port);
  const put = await http('PUT', `${base}/config`, { compatibility: GLOBAL_COMPATIBILITY });
  if (put.status !== 200) {
    throw new AuraError('STACK', `PUT ${CCOMPAT_PATH}/config answered ${put.status}: ${JSON.stringify(put.json)}`);
  }
  const got = await http('GET', `${base}/config`);
  const level = (got.json as { compatibilityLevel?: string } | undefined)?.compatibilityLevel;
  if (level !== GLOBAL_COMPATIBILITY) {
    throw new AuraError('STACK', `GET ${CCOMPAT_PATH}/config says ${JSON.stringify(got.json)} after setting ${GLOBAL_COMPATIBILITY}`);
  }
  const rules = `${registryBaseUrl(port)}/apis/registry/v3/admin/rules`;
  const rule = await http('GET', `${rules}/COMPATIBILITY`);
  const ruleConfig = (rule.json as { config?: string } | undefined)?.config;
  if (rule.status === 404) {
    const created = await http('POST', rules, { ruleType: 'COMPATIBILITY', config: GLOBAL_COMPATIBILITY });
    if (created.status >= 300) throw new AuraError('STACK', `POST ${rules} answered ${created.status}: ${JSON.stringify(created.json)}`);
  } else if (rule.status === 200 && ruleConfig !== GLOBAL_COMPATIBILITY) {
    const updated = await http('PUT', `${rules}/COMPATIBILITY`, { config: GLOBAL_COMPATIBILITY });
    if (updated.status >= 300) throw new AuraError('STACK', `PUT ${rules}/COMPATIBILITY answered ${updated.status}: ${JSON.stringify(updated.json)}`);
  } else if (rule.status !== 200) {
    throw new AuraError('STACK', `GET ${rules}/COMPATIBILITY answered ${rule.status}: ${JSON.stringify(rule.json)}`);
  }
}
