// The Kubernetes manifests under deploy/k8s: each resource file and the rendered base and example
// overlay validated offline (scripts/validate-manifests.py: Kubernetes OpenAPI schemas from
// kubernetes-validate, KEDA CRD models from cloudcoil-models-keda, strict), then the operating rules
// docs/operations.md promises, asserted on the rendered documents.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { ROOT } from '../support/stack-env.js';
import { run, tool, venvPython } from '../support/tools.js';

interface Row {
  source: string;
  kind: string;
  name: string;
  ok: boolean;
  error?: string;
  document: Record<string, any>;
}

function validate(args: string[], input?: string): { status: number | null; rows: Row[]; stderr: string } {
  const r = run(venvPython(), [join(ROOT, 'scripts', 'validate-manifests.py'), ...args], input);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Row);
  return { status: r.status, rows, stderr: r.stderr };
}

function render(dir: string): string {
  const r = run(tool('kubectl'), ['kustomize', dir]);
  assert.equal(r.status, 0, `kubectl kustomize ${dir}: ${r.stderr}`);
  return r.stdout;
}

const failures = (rows: Row[]) => rows.filter((r) => !r.ok).map((r) => `${r.source} ${r.kind}/${r.name}: ${r.error}`);
const base = join('deploy', 'k8s', 'base');
const overlay = join('deploy', 'k8s', 'overlays', 'example');
const secure = join('deploy', 'k8s', 'overlays', 'secure');

describe('deploy/k8s manifests', () => {
  // One validator run (loading the schemas is the slow part) over the resource files and both
  // rendered outputs; the tests below read its rows.
  const tmp = mkdtempSync(join(tmpdir(), 'aura-k8s-'));
  let rows: Row[] = [];
  const files: string[] = [];
  before(() => {
    const kustomization = readFileSync(join(ROOT, base, 'kustomization.yaml'), 'utf8');
    files.push(...[...kustomization.matchAll(/^ {2}- (\S+\.yaml)$/gm)].map((m) => join(base, m[1]!)));
    files.push(join(base, 'secret.example.yaml'), join(overlay, 'namespace.yaml'));
    const secureFiles = ['triggerauthentication.yaml', 'secrets.example.yaml'].map((f) => join(secure, f));
    // a copy of the base config with other names: the ScaledObjects must follow (replacements)
    const renamed = join(tmp, 'renamed');
    mkdirSync(renamed);
    // the example overlay's kustomization as a user would copy it, plus a ConfigMap patch
    const example = readFileSync(join(ROOT, overlay, 'kustomization.yaml'), 'utf8').replaceAll('../../base', relative(renamed, join(ROOT, base))).replace(/^patches:\n  - path: config.yaml\n  - path: vectorize-resources.yaml\n/m, 'patches:\n  - path: names.yaml\n').replace(/^  - namespace.yaml\n/m, '');
    assert.ok(example.includes('names.yaml') && example.includes('replacements:'), example);
    writeFileSync(join(renamed, 'kustomization.yaml'), example);
    writeFileSync(join(renamed, 'names.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aura-stream-config}\ndata: {APPLICATION_ID: other, INPUT_TOPIC: other.events, AGGREGATED_TOPIC: other.aggregated, AGGREGATE_GROUP_ID: other-agg, VECTORIZE_GROUP_ID: other-vec}\n');
    for (const [name, dir] of [['base', base], ['overlay', overlay], ['secure', secure], ['renamed', renamed]] as const) writeFileSync(join(tmp, `${name}.yaml`), render(dir));
    const result = validate([...files, ...secureFiles, ...['base', 'overlay', 'secure', 'renamed'].map((n) => join(tmp, `${n}.yaml`))]);
    assert.ok(result.rows.length > 0, `the validator ran: ${result.stderr}`);
    rows = result.rows;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const from = (source: string) => rows.filter((r) => r.source === source);

  it('every resource file of the base validates on its own', () => {
    const own = rows.filter((r) => files.includes(r.source));
    assert.deepEqual(failures(own), []);
    assert.deepEqual(own.map((r) => r.kind).sort(), ['ConfigMap', 'Deployment', 'Deployment', 'Deployment', 'Namespace', 'NetworkPolicy', 'NetworkPolicy', 'PodDisruptionBudget', 'PodDisruptionBudget', 'ScaledObject', 'ScaledObject', 'Secret', 'Service']);
  });

  it('the secure overlay\'s own files validate: two TriggerAuthentications and the seven Secrets it mounts', () => {
    const own = rows.filter((r) => r.source.startsWith(secure));
    assert.deepEqual(failures(own), []);
    assert.deepEqual(own.map((r) => r.kind).sort(), ['Secret', 'Secret', 'Secret', 'Secret', 'Secret', 'Secret', 'Secret', 'TriggerAuthentication', 'TriggerAuthentication']);
  });

  for (const name of ['base', 'overlay', 'secure']) {
    it(`the ${name} renders with kustomize and every rendered document validates`, () => {
      const rendered = from(join(tmp, `${name}.yaml`));
      assert.deepEqual(failures(rendered), []);
      assert.ok(rendered.length >= 7, `rendered ${rendered.length} documents`);
    });
  }

  it('the validator rejects what a cluster would: wrong types, unknown fields, missing triggers, unknown kinds', () => {
    const bad = [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: two\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec:\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {terminationGracePeriod: 45, containers: [{name: c, image: i}]}}',
      'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: c}\nspec:\n  scaleTargetRef: {name: x}\n  maxReplicaCounts: 6\n  triggers: [{type: kafka, metadata: {topic: t}}]',
      'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: d}\nspec:\n  scaleTargetRef: {name: x}',
      'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: e}\nspec:\n  scaleTargetRef: {name: x}\n  triggers: [{type: kafka, metadata: {lagThreshold: 10}}]',
      'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: f}\nspec: {}',
    ].join('\n---\n');
    const { status, rows } = validate(['-'], bad);
    assert.equal(status, 1);
    assert.deepEqual(
      rows.map((r) => [r.name, r.ok]),
      ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => [n, false]),
    );
    assert.match(rows[0]!.error!, /replicas/);
    assert.match(rows[1]!.error!, /terminationGracePeriod/);
    assert.match(rows[2]!.error!, /spec\.maxReplicaCounts/);
    assert.match(rows[3]!.error!, /triggers/);
    assert.match(rows[4]!.error!, /lagThreshold/);
    assert.match(rows[5]!.error!, /no schema/);
  });

  it('the example overlay keeps the operating rules: one Deployment per stage, probes, shutdown, state, scaling within partitions', () => {
    const docs = from(join(tmp, 'overlay.yaml')).map((r) => r.document);
    const of = (kind: string) => docs.filter((d) => d.kind === kind);
    const configMap = of('ConfigMap')[0]!.data as Record<string, string>;
    // the ConfigMap is a valid configuration of the app (plus the model path the image sets)
    const config = loadConfig({ ...configMap, EMBEDDING_MODEL_PATH: '/app/models/all-MiniLM-L6-v2-q' });
    assert.equal(config.topicPartitions, 12);
    const inputOf = { aggregate: config.inputTopic, vectorize: config.aggregatedTopic };
    const groupOf = { aggregate: config.aggregateGroupId, vectorize: config.vectorizeGroupId };

    const deployments = of('Deployment').filter((d) => d.spec.template.spec.containers[0].args[0] === 'run');
    assert.deepEqual(deployments.map((d) => d.spec.template.spec.containers[0].args).sort(), [['run', 'aggregate'], ['run', 'vectorize']], 'never `run all`');
    for (const d of deployments) {
      const stage = d.spec.template.spec.containers[0].args[1] as 'aggregate' | 'vectorize';
      const pod = d.spec.template;
      const c = pod.spec.containers[0];
      assert.equal(d.spec.replicas, undefined, `${stage}: replicas left to KEDA`);
      assert.ok(pod.spec.terminationGracePeriodSeconds * 1000 > config.shutdownTimeoutMs, `${stage}: grace period above SHUTDOWN_TIMEOUT_MS`);
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.deepEqual(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]), [['metrics', config.metricsPort]]);
      assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
      assert.equal(Number(pod.metadata.annotations['prometheus.io/port']), config.metricsPort);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(pod.spec.securityContext.runAsNonRoot, true);
      const stateMount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === config.stateDir);
      assert.ok(stateMount, `${stage}: STATE_DIR ${config.stateDir} is mounted`);
      assert.ok(pod.spec.volumes.find((v: { name: string }) => v.name === stateMount.name).emptyDir, `${stage}: STATE_DIR on emptyDir`);
      assert.deepEqual(c.envFrom.map((e: Record<string, { name: string }>) => Object.values(e)[0]!.name), ['aura-stream-config', 'aura-stream-secrets']);
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, `${stage}: resources`);

      const pdb = of('PodDisruptionBudget').find((p) => p.metadata.name === d.metadata.name)!;
      assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels, `${stage}: PDB selects the stage's pods`);
      assert.equal(pdb.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow');

      const so = of('ScaledObject').find((s) => s.spec.scaleTargetRef.name === d.metadata.name)!;
      assert.ok(so, `${stage}: a ScaledObject targets the Deployment`);
      assert.ok(so.spec.maxReplicaCount <= config.topicPartitions, `${stage}: maxReplicaCount ${so.spec.maxReplicaCount} <= partitions ${config.topicPartitions}`);
      assert.equal(so.spec.triggers.length, 1);
      const t = so.spec.triggers[0];
      assert.equal(t.type, 'kafka');
      assert.equal(t.metadata.consumerGroup, groupOf[stage]);
      assert.equal(t.metadata.topic, inputOf[stage]);
      assert.equal(t.metadata.bootstrapServersFromEnv, 'KAFKA_BROKERS');
      assert.ok(Number(t.metadata.activationLagThreshold) > config.topicPartitions, `${stage}: the marker lag of 1 per partition never activates`);
      assert.ok(so.spec.fallback.failureThreshold >= 1 && so.spec.fallback.replicas >= so.spec.minReplicaCount && so.spec.fallback.replicas <= so.spec.maxReplicaCount, `${stage}: a fallback replica count within min..max when the lag cannot be read`);
    }
  });

  it('KEDA watches the topics and groups named in aura-stream-config: renaming them in a copy of the example overlay renames them in the ScaledObjects', () => {
    const docs = from(join(tmp, 'renamed.yaml')).map((r) => r.document);
    assert.deepEqual(failures(from(join(tmp, 'renamed.yaml'))), []);
    const config = loadConfig({ ...docs.find((d) => d.kind === 'ConfigMap')!.data, EMBEDDING_MODEL_PATH: '/m' });
    const trigger = (name: string) => docs.find((d) => d.kind === 'ScaledObject' && d.metadata.name === name)!.spec.triggers[0].metadata;
    assert.deepEqual([trigger('aura-stream-aggregate').topic, trigger('aura-stream-aggregate').consumerGroup], [config.inputTopic, config.aggregateGroupId]);
    assert.deepEqual([trigger('aura-stream-vectorize').topic, trigger('aura-stream-vectorize').consumerGroup], [config.aggregatedTopic, config.vectorizeGroupId]);
    assert.deepEqual([config.inputTopic, config.aggregateGroupId, config.vectorizeGroupId], ['other.events', 'other-agg', 'other-vec'], 'the patch took');
  });

  it('the sizes follow the formula of docs/operations.md (Sizing): ephemeral-storage covers the emptyDirs, aggregate memory covers its cache bound', () => {
    const bytes = (q: string) => {
      const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
      assert.ok(m, `a quantity in Ki/Mi/Gi: ${q}`);
      return Number(m[1]) * { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, '': 1 }[m[2] ?? '']!;
    };
    // measured (docs/operations.md): idle RSS of the aggregate stage, bytes in flight, LMDB per user
    const IDLE = 135 * 1024 ** 2;
    const IN_FLIGHT = 60 * 1024 ** 2;
    const LMDB_PER_DEFAULT_USER = 5.5 * 1024;
    for (const name of ['base', 'overlay', 'secure']) {
      const docs = from(join(tmp, `${name}.yaml`)).map((r) => r.document);
      const data = docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>;
      assert.ok(data.AGGREGATE_CACHE_MAX_BYTES, `${name}: the cache bound is set next to the memory limit it sizes`);
      const config = loadConfig({ AGGREGATE_CACHE_MAX_BYTES: data.AGGREGATE_CACHE_MAX_BYTES, EMBEDDING_MODEL_PATH: '/m' });
      for (const d of docs.filter((x) => x.kind === 'Deployment')) {
        const c = d.spec.template.spec.containers[0];
        const emptyDirs = (d.spec.template.spec.volumes as { emptyDir?: { sizeLimit: string } }[]).filter((v) => v.emptyDir).map((v) => bytes(v.emptyDir!.sizeLimit));
        const request = bytes(c.resources.requests['ephemeral-storage']);
        assert.ok(request >= emptyDirs.reduce((a, b) => a + b, 0), `${name} ${d.metadata.name}: ephemeral-storage request ${request} covers the emptyDirs ${emptyDirs}`);
        assert.ok(bytes(c.resources.limits['ephemeral-storage']) > request, `${name} ${d.metadata.name}: room for logs above the request`);
        if (d.metadata.name === 'aura-stream-aggregate') {
          const needed = 1.25 * (IDLE + config.aggregateCacheMaxBytes + IN_FLIGHT);
          assert.ok(bytes(c.resources.limits.memory) >= needed, `${name}: memory limit ${c.resources.limits.memory} >= 1.25 x (idle + AGGREGATE_CACHE_MAX_BYTES + in flight) = ${(needed / 1024 ** 2).toFixed(0)} MiB`);
          assert.ok(bytes(c.resources.requests.memory) <= bytes(c.resources.limits.memory));
          const state = (d.spec.template.spec.volumes as { name: string; emptyDir?: { sizeLimit: string } }[]).find((v) => v.name === 'state')!;
          assert.ok(bytes(state.emptyDir!.sizeLimit) / (1.5 * LMDB_PER_DEFAULT_USER) >= 200_000, `${name}: the state volume holds 200k default-profile users`);
        }
      }
    }
  });

  it('the query service runs `serve` hardened like the stages, with its tokens from a mounted Secret, behind a Service on its port', () => {
    const docs = from(join(tmp, 'overlay.yaml')).map((r) => r.document);
    const serve = docs.find((d) => d.kind === 'Deployment' && d.spec.template.spec.containers[0].args[0] === 'serve')!;
    assert.ok(serve, 'a Deployment runs `aura-stream serve`');
    const pod = serve.spec.template;
    const c = pod.spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    const configMap = docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>;
    const config = loadConfig({ ...configMap, ...env, SEARCH_TOKENS_FILE: '', SEARCH_TOKENS: 'a-token-of-sixteen-chars:*' });
    const http = c.ports.find((p: { name: string }) => p.name === 'http');
    assert.equal(http.containerPort, config.servePort, 'the container port is SERVE_PORT');
    assert.equal(config.serveHost, '0.0.0.0', 'listens on the pod address');
    assert.deepEqual([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ['/healthz', '/readyz', 'http']);
    assert.equal(Number(pod.metadata.annotations['prometheus.io/port']), config.servePort, '/metrics is on the serve port');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(pod.spec.automountServiceAccountToken, false);
    const tokens = c.volumeMounts.find((m: { mountPath: string }) => env['SEARCH_TOKENS_FILE'].startsWith(`${m.mountPath}/`));
    assert.ok(tokens?.readOnly, 'SEARCH_TOKENS_FILE lies in a read-only mount');
    assert.equal(pod.spec.volumes.find((v: { name: string }) => v.name === tokens.name).secret.secretName, 'aura-stream-search-tokens');
    const service = docs.find((d) => d.kind === 'Service')!;
    assert.deepEqual(service.spec.selector, serve.spec.selector.matchLabels, 'the Service selects the serve pods');
    assert.equal(service.spec.ports[0].targetPort, 'http');
  });

  it('the NetworkPolicy selects exactly the stage pods and lets in only the metrics port', () => {
    for (const name of ['base', 'secure']) {
      const docs = from(join(tmp, `${name}.yaml`)).map((r) => r.document);
      const policy = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'aura-stream-stages')!;
      assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
      for (const d of docs.filter((x) => x.kind === 'Deployment' && x.spec.template.spec.containers[0].args[0] === 'run')) {
        const labels = d.spec.template.metadata.labels as Record<string, string>;
        const selected = (policy.spec.podSelector.matchExpressions as { key: string; operator: string; values: string[] }[]).every((e) => e.operator === 'In' && e.values.includes(labels[e.key]!));
        assert.ok(selected, `${name}: ${d.metadata.name} is selected`);
      }
      assert.deepEqual(policy.spec.ingress.flatMap((i: { ports: { port: number }[] }) => i.ports.map((p) => p.port)), [9464]);
      const egressPorts = policy.spec.egress.flatMap((e: { ports: { port: number }[] }) => e.ports.map((p) => p.port));
      assert.ok(egressPorts.includes(53), `${name}: DNS`);
    }
    const secured = from(join(tmp, 'secure.yaml')).map((r) => r.document).find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'aura-stream-stages')!;
    assert.ok(secured.spec.egress.every((e: { to?: unknown[] }) => (e.to ?? []).length > 0), 'secure: every egress rule names its destination');
  });

  it('the secure overlay: SASL_SSL, https, no topic creation, one principal per stage from mounted Secrets, KEDA authenticated with it', () => {
    const docs = from(join(tmp, 'secure.yaml')).map((r) => r.document);
    const configMap = docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>;
    const kafkaSecretOf: Record<string, string> = {};
    const dir = mkdtempSync(join(tmp, 'files-'));
    for (const d of docs.filter((x) => x.kind === 'Deployment' && x.spec.template.spec.containers[0].args[0] === 'run')) {
      const stage = d.spec.template.spec.containers[0].args[1] as string;
      const { env, secretOf } = mountedEnv(d, configMap, dir, stage);
      assert.ok(Object.keys(secretOf).length >= 4, `${stage}: credentials and CA from files (${Object.keys(secretOf).join(', ')})`);
      kafkaSecretOf[stage] = secretOf.KAFKA_SASL_USERNAME_FILE!;
      const config = loadConfig({ ...env, EMBEDDING_MODEL_PATH: '/app/models/m' });
      assert.equal(config.kafkaSecurityProtocol, 'SASL_SSL');
      assert.ok(config.kafkaSaslUsername && config.kafkaSaslPassword && config.kafkaSslCa, `${stage}: SASL credentials and the CA are read from the files`);
      assert.match(config.schemaRegistryUrl, /^https:/);
      assert.match(config.qdrantUrl!, /^https:/);
      assert.equal(config.createTopics, false);
      assert.equal(config.registerSchemas, false, `${stage}: schemas are registered by \`topics apply\`, not by the stage`);
      if (stage === 'aggregate') assert.ok(config.erasureSigningKey, 'aggregate: the erasure signing key from its file, or every erasure is dead-lettered');
      if (stage === 'vectorize') assert.ok(config.qdrantApiKey, 'vectorize: the Qdrant key from its file');

      const so = docs.find((x) => x.kind === 'ScaledObject' && x.spec.scaleTargetRef.name === d.metadata.name)!;
      const trigger = so.spec.triggers[0];
      assert.equal(trigger.metadata.sasl, 'scram_sha512', `${stage}: KEDA's SASL mechanism matches KAFKA_SASL_MECHANISM`);
      assert.equal(config.kafkaSaslMechanism?.toLowerCase().replaceAll('-', '_').replace('sha_', 'sha'), trigger.metadata.sasl, `${stage}: KAFKA_SASL_MECHANISM ${config.kafkaSaslMechanism} in KEDA's spelling`);
      assert.equal(trigger.metadata.tls, 'enable');
      const auth = docs.find((x) => x.kind === 'TriggerAuthentication' && x.metadata.name === trigger.authenticationRef.name)!;
      assert.ok(auth, `${stage}: its TriggerAuthentication is rendered`);
      const refs = Object.fromEntries((auth.spec.secretTargetRef as { parameter: string; name: string; key: string }[]).map((r) => [r.parameter, r.name]));
      assert.deepEqual(Object.keys(refs).sort(), ['ca', 'password', 'username']);
      assert.equal(refs.username, kafkaSecretOf[stage], `${stage}: KEDA uses the stage's own principal`);
    }
    assert.notEqual(kafkaSecretOf.aggregate, kafkaSecretOf.vectorize, 'one principal per stage');
  });

  it('the example Secrets name the principals docs/security.md grants ACLs to', () => {
    const acls = readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8');
    const usernames = from(join(secure, 'secrets.example.yaml'))
      .map((r) => r.document)
      .filter((d) => d.kind === 'Secret' && d.metadata.name.endsWith('-kafka'))
      .map((d) => d.stringData.username as string);
    assert.deepEqual(usernames.sort(), ['aura-aggregate', 'aura-vectorize']);
    for (const user of usernames) assert.ok(acls.includes(`--allow-principal User:${user}`), `docs/security.md grants ACLs to User:${user}`);
  });

  it('the secure overlay: serve reads Qdrant over https with its key and the CA from mounted Secrets, and needs no Kafka principal', () => {
    const docs = from(join(tmp, 'secure.yaml')).map((r) => r.document);
    const configMap = docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>;
    const serve = docs.find((d) => d.kind === 'Deployment' && d.spec.template.spec.containers[0].args[0] === 'serve')!;
    const { env, secretOf } = mountedEnv(serve, configMap, mkdtempSync(join(tmp, 'serve-files-')), 'serve');
    assert.deepEqual(Object.keys(secretOf).sort(), ['KAFKA_SSL_CA_FILE', 'QDRANT_API_KEY_FILE', 'QDRANT_CA_FILE', 'SEARCH_TOKENS_FILE'], 'serve: the files it reads, each from a mounted Secret');
    assert.equal(secretOf.QDRANT_API_KEY_FILE, 'aura-stream-qdrant');
    const withModel = { ...env, EMBEDDING_MODEL_PATH: '/app/models/m' };
    const config = loadConfig(withModel, { kafka: false });
    assert.match(config.qdrantUrl!, /^https:/);
    assert.ok(config.qdrantApiKey && config.qdrantCa, 'serve: the Qdrant key and the CA are read from the files');
    assert.equal(config.searchTokens.length, 1, 'serve: its tokens from the mounted Secret');
    assert.throws(() => loadConfig(withModel), /KAFKA_SASL_USERNAME/, 'a Kafka client would need a principal: serve is exempt because it opens none');
  });
});

/**
 * The environment a container of a rendered Deployment sees: the ConfigMap, its own `env`, and every
 * `_FILE` path replaced by a local stand-in after checking that the path lies in a read-only mount of
 * a Secret volume holding that file. `secretOf` names the Secret behind each `_FILE` variable.
 */
function mountedEnv(d: Row['document'], configMap: Record<string, string>, dir: string, who: string): { env: Record<string, string>; secretOf: Record<string, string> } {
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  assert.deepEqual(c.envFrom.map((e: Record<string, { name: string }>) => Object.keys(e)[0]), ['configMapRef'], `${who}: no Secret as environment`);
  const env: Record<string, string> = { ...configMap };
  for (const e of c.env as { name: string; value: string }[]) env[e.name] = e.value;
  const secretOf: Record<string, string> = {};
  for (const [key, path] of Object.entries(env).filter(([k]) => k.endsWith('_FILE'))) {
    const mount = (c.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[]).find((m) => path.startsWith(`${m.mountPath}/`));
    assert.ok(mount?.readOnly, `${who}: ${key}=${path} is in a read-only mount`);
    const volume = (pod.volumes as { name: string; secret?: { secretName: string; items?: { path: string }[] } }[]).find((v) => v.name === mount!.name)!;
    const items = volume.secret?.items;
    assert.ok(volume.secret && (items === undefined || items.some((i) => `${mount!.mountPath}/${i.path}` === path)), `${who}: ${path} is a file of Secret ${volume.secret?.secretName}`);
    secretOf[key] = volume.secret!.secretName;
    // the app reads the files: stand-ins with the right shape
    const file = join(dir, `${who}-${key}`);
    writeFileSync(file, key.includes('CA') ? TEST_PEM : key.includes('BASIC_AUTH') ? 'user:pass' : key === 'ERASURE_SIGNING_KEY_FILE' ? 'k'.repeat(44) : key === 'SEARCH_TOKENS_FILE' ? 'agents-token-0123456789:*' : 'value');
    env[key] = file;
  }
  return { env, secretOf };
}

// A syntactically valid PEM block (the config checks the shape, the TLS stack the content).
const TEST_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n-----END CERTIFICATE-----\n';
