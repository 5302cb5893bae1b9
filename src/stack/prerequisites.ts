import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { AuraError } from '../errors.js';

export interface JavaRuntime {
  /** absolute path of the `java` executable */
  readonly bin: string;
  /** feature release: 17, 21, 25 … */
  readonly major: number;
  /** as printed by `java -version`, e.g. "17.0.15" */
  readonly version: string;
}

const FIX =
  'install a JDK 17+ and Maven, e.g. `apt-get install openjdk-17-jdk-headless maven` ' +
  '(Apicurio Registry 3.3 needs Java 21+: install one beside it, e.g. Temurin 21 or 25, ' +
  'and it is found in /usr/lib/jvm or through AURA_STACK_JAVA_HOME), or use deploy/docker-compose.yml';

/**
 * `java -version` writes to stderr, e.g. `openjdk version "17.0.15" 2025-04-15` or
 * `java version "1.8.0_392"`; the feature release is the first number, or the second after "1.".
 */
export function parseJavaVersion(output: string): { major: number; version: string } | undefined {
  const m = /version "([^"]+)"/.exec(output);
  if (!m?.[1]) return undefined;
  const version = m[1];
  const parts = version.split(/[._+-]/).map(Number);
  const major = parts[0] === 1 ? parts[1] : parts[0];
  return major !== undefined && Number.isInteger(major) ? { major, version } : undefined;
}

function probe(bin: string): JavaRuntime | undefined {
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return undefined;
  const parsed = parseJavaVersion(`${r.stderr}\n${r.stdout}`);
  return parsed ? { bin, ...parsed } : undefined;
}

/**
 * Java executables in order of preference: the stack's own override, `JAVA_HOME`, the first `java` on PATH,
 * then the JDKs installed side by side in the usual folders (newest version first).
 */
function candidates(javaHome: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  if (javaHome) out.push(join(javaHome, 'bin', 'java'));
  if (env.JAVA_HOME) out.push(join(env.JAVA_HOME, 'bin', 'java'));
  const onPath = (env.PATH ?? '').split(delimiter).map((d) => join(d, 'java')).find((p) => existsSync(p));
  if (onPath) out.push(onPath);
  for (const root of ['/usr/lib/jvm', '/Library/Java/JavaVirtualMachines']) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort().reverse()) {
      for (const bin of [join(root, name, 'bin', 'java'), join(root, name, 'Contents', 'Home', 'bin', 'java')]) {
        if (existsSync(bin)) out.push(bin);
      }
    }
  }
  return [...new Set(out)];
}

export interface JavaSelection {
  /** runs Kafka (17+) */
  readonly kafka: JavaRuntime;
  /** runs Apicurio Registry (21+) */
  readonly registry: JavaRuntime;
}

/**
 * Picks, for each server, the first Java in order of preference that is new enough. Throws
 * AuraError STACK naming the fix when none is.
 */
export function selectJava(javaHome: string | undefined, env: NodeJS.ProcessEnv, need = { kafka: 17, registry: 21 }): JavaSelection {
  const found: JavaRuntime[] = [];
  const seen = new Set<string>();
  for (const bin of candidates(javaHome, env)) {
    // the same JDK is often reachable through several symlinked folders; probe it once
    let real = bin;
    try {
      real = realpathSync(bin);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const rt = probe(bin);
    if (rt) found.push(rt);
  }
  const describe = found.length ? `found: ${found.map((j) => `Java ${j.version} (${j.bin})`).join(', ')}` : 'no `java` found';
  if (javaHome && !found.some((j) => j.bin === join(javaHome, 'bin', 'java'))) {
    throw new AuraError('STACK', `AURA_STACK_JAVA_HOME=${javaHome} holds no working bin/java; ${FIX}`);
  }
  const kafka = found.find((j) => j.major >= need.kafka);
  const registry = found.find((j) => j.major >= need.registry);
  if (!kafka) throw new AuraError('STACK', `the local stack needs Java ${need.kafka}+ for Kafka (${describe}); ${FIX}`);
  if (!registry) throw new AuraError('STACK', `the local stack needs Java ${need.registry}+ for Apicurio Registry (${describe}); ${FIX}`);
  return { kafka, registry };
}

/** Throws AuraError STACK naming the fix when `mvn` cannot run. Only needed to fetch. */
export function checkMaven(env: NodeJS.ProcessEnv): string {
  const r = spawnSync('mvn', ['-v'], { encoding: 'utf8', timeout: 60_000, env });
  if (r.error || r.status !== 0) {
    const why = r.error ? (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? '`mvn` is not on PATH' : r.error.message : `\`mvn -v\` exited ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`;
    throw new AuraError('STACK', `the local stack fetches its servers with Maven, but ${why}; ${FIX}`);
  }
  return (/Apache Maven (\d[\w.-]*)/.exec(r.stdout)?.[1]) ?? 'unknown';
}
