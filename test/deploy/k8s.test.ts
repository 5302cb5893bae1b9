// The Kubernetes manifests under deploy/k8s: each resource file and the rendered base and example
// overlay validated offline (scripts/validate-manifests.py: Kubernetes OpenAPI schemas from
// kubernetes-validate, KEDA CRD models from cloudcoil-models-keda, strict), then the operating rules
// the README promises, asserted on the rendered documents.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    for (const [name, dir] of [['base', base], ['overlay', overlay]] as const) writeFileSync(join(tmp, `${name}.yaml`), render(dir));
    const result = validate([...files, join(tmp, 'base.yaml'), join(tmp, 'overlay.yaml')]);
    assert.ok(result.rows.length > 0, `the validator ran: ${result.stderr}`);
    rows = result.rows;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const from = (source: string) => rows.filter((r) => r.source === source);

  it('every resource file of the base validates on its own', () => {
    const own = rows.filter((r) => files.includes(r.source));
    assert.deepEqual(failures(own), []);
    assert.deepEqual(own.map((r) => r.kind).sort(), ['ConfigMap', 'Deployment', 'Deployment', 'Deployment', 'Namespace', 'PodDisruptionBudget', 'PodDisruptionBudget', 'ScaledObject', 'ScaledObject', 'Secret', 'Service']);
  });

  for (const name of ['base', 'overlay']) {
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
});
