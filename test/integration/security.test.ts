import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type AclEntry, type Kafka } from 'kafkajs';
import { createRegistryClient, registryError } from '../../src/adapters/avro-serde.js';
import { createKafka, kafkaConnection } from '../../src/adapters/kafka/client.js';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { STORE_TIMEOUT_MS } from '../support/compiled-options.js';
import { loadConfig, type Config } from '../../src/config.js';
import { kafkaError } from '../../src/adapters/kafka/errors.js';
import { createLogger } from '../../src/logger.js';
import { DLQ_HEADERS } from '../../src/pipeline/index.js';
import { produceWorkload } from '../../src/workload/index.js';
import { startAuthProxy, type AuthProxy } from '../support/auth-proxy.js';
import { oracleOf } from '../support/oracle-input.js';
import { startOwnBroker, type OwnBroker } from '../support/own-broker.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import { lastSnapshotPerUser } from '../support/snapshots.js';
import {
  OffsetProbe,
  ROOT,
  STACK,
  dropTestResources,
  killAllStages,
  readTopic,
  removeDir,
  requireStack,
  runStage,
  sleep,
  stageCodec,
  testSerde,
  uniqueNames,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import { makeTestCerts, type TestCerts } from '../support/test-certs.js';
import { TEST_ERASURE_KEY } from '../support/erasure-records.js';
import { MODEL_PATH, assertDoubleClean, assertPointsEqualOracle, endsOf, pointsOracle, readSnapshots, requireModel, vectorizeGroupOf, waitCommittedThrough } from '../support/vectorize-env.js';

/**
 * Secured connections end to end (issue 10): a Kafka broker of this test's own (the shared stack
 * is never touched) with a SASL_SSL listener that requires client certificates, SCRAM users
 * written at format time and the StandardAuthorizer with exactly the ACLs docs/security.md lists;
 * certificates made here with openssl. Both stages run as child processes of the real CLI with
 * every secret given through its `_FILE` twin; the registry sits behind a proxy that demands basic
 * auth (Apicurio's own auth needs an identity server); Qdrant (its engine behind the validating front) is served over HTTPS
 * with a private CA and an API key. The outputs must equal the oracle; no secret may appear in
 * /readyz or the logs; a wrong password must stop the stage at start with an AUTH error.
 */

const DAY = 86_400_000;
// One principal per stage (issue 17), plus the one that runs `topics apply` and the one that runs `erase`.
const APP_USER = { name: 'aura-aggregate', password: 'scram-256-S3CRET' };
const VECTORIZE_USER = { name: 'aura-vectorize', password: 'scram-256-vec-S3CRET' };
const ERASE_USER = { name: 'aura-erase', password: 'scram-256-erase-S3CRET' };
const TOPICS_USER = { name: 'aura-topics', password: 'scram-256-topics-S3CRET' };
const USER_512 = { name: 'aura-512', password: 'scram-512-S3CRET' };
const PLAIN_USER = { name: 'aura-plain', password: 'plain-S3CRET' };
const REGISTRY_BASIC = 'registry-user:registry-S3CRET';
const REGISTRY_TOKEN = 'bearer-token-S3CRET';
const QDRANT_KEY = 'qdrant-key-S3CRET';
// kafkajs is CommonJS: its enums are reached through the default export
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
const SECRETS = [APP_USER.password, VECTORIZE_USER.password, ERASE_USER.password, TOPICS_USER.password, REGISTRY_BASIC.split(':')[1]!, QDRANT_KEY, TEST_ERASURE_KEY];

/** The ACLs a secured cluster needs for one APPLICATION_ID, one principal per role (mirrors docs/security.md "Kafka ACLs"). */
function requiredAcls(config: Config, principals: { topics: string; aggregate: string; vectorize: string; erase: string }): AclEntry[] {
  const { READ, WRITE, DESCRIBE, CREATE, DELETE, DESCRIBE_CONFIGS } = AclOperationTypes;
  const entry = (principal: string, resourceType: AclEntry['resourceType'], resourceName: string, operation: AclEntry['operation'], resourcePatternType: AclEntry['resourcePatternType'] = ResourcePatternTypes.LITERAL): AclEntry => ({
    resourceType,
    resourceName,
    resourcePatternType,
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  const topic = (principal: string, name: string, ...ops: Array<AclEntry['operation']>) => ops.map((op) => entry(principal, AclResourceTypes.TOPIC, name, op));
  const all = [config.inputTopic, config.aggregatedTopic, config.vectorizedTopic, config.erasedTopic, config.changelogTopic, config.inputDlqTopic, config.aggregatedDlqTopic];
  const { topics, aggregate, vectorize, erase } = principals;
  return [
    // topics apply: creates the topics, reads their settings back
    ...all.flatMap((t) => topic(topics, t, CREATE, DESCRIBE, DESCRIBE_CONFIGS)),
    // aggregate
    ...topic(aggregate, config.inputTopic, READ, DESCRIBE),
    ...topic(aggregate, config.aggregatedTopic, WRITE, DESCRIBE, DESCRIBE_CONFIGS),
    ...topic(aggregate, config.changelogTopic, READ, WRITE, DESCRIBE, DESCRIBE_CONFIGS),
    ...topic(aggregate, config.inputDlqTopic, WRITE, DESCRIBE, DESCRIBE_CONFIGS),
    entry(aggregate, AclResourceTypes.GROUP, config.aggregateGroupId, READ),
    entry(aggregate, AclResourceTypes.GROUP, `${config.applicationId}-restore-`, READ, ResourcePatternTypes.PREFIXED),
    entry(aggregate, AclResourceTypes.GROUP, `${config.applicationId}-restore-`, DELETE, ResourcePatternTypes.PREFIXED),
    entry(aggregate, AclResourceTypes.TRANSACTIONAL_ID, `${config.applicationId}-`, WRITE, ResourcePatternTypes.PREFIXED),
    entry(aggregate, AclResourceTypes.TRANSACTIONAL_ID, `${config.applicationId}-`, DESCRIBE, ResourcePatternTypes.PREFIXED),
    // vectorize
    ...topic(vectorize, config.aggregatedTopic, READ, DESCRIBE),
    ...topic(vectorize, config.vectorizedTopic, WRITE, DESCRIBE),
    ...topic(vectorize, config.erasedTopic, WRITE, DESCRIBE),
    ...topic(vectorize, config.aggregatedDlqTopic, WRITE, DESCRIBE),
    entry(vectorize, AclResourceTypes.GROUP, config.vectorizeGroupId, READ),
    // erase (and --wait)
    ...topic(erase, config.inputTopic, WRITE, DESCRIBE),
    ...topic(erase, config.erasedTopic, READ, DESCRIBE),
    entry(erase, AclResourceTypes.GROUP, `${config.applicationId}-erase-`, READ, ResourcePatternTypes.PREFIXED),
    entry(erase, AclResourceTypes.GROUP, `${config.applicationId}-erase-`, DELETE, ResourcePatternTypes.PREFIXED),
  ];
}

/** Runs the CLI to its exit (bounded); returns the exit code and everything it wrote. */
function runToExit(env: Record<string, string>, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'aura-stream.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env, METRICS_PORT: '0', AURA_FROM_SOURCE: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

describe('secured connections: Kafka SASL_SSL (SCRAM, PLAIN, client certificates, ACLs), registry auth, Qdrant over TLS', { timeout: 900_000 }, () => {
  let certs: TestCerts;
  let broker: OwnBroker;
  let harness: Kafka;
  let proxy: AuthProxy;
  let double: QdrantEngine;
  let names: TestNames;
  let secureEnv: Record<string, string>;
  /** secureEnv as each principal: its own SASL user and password file. */
  let envOf: Record<'aggregate' | 'vectorize' | 'erase' | 'topics', Record<string, string>>;
  const children: StageProcess[] = [];

  before(async () => {
    await requireStack();
    requireModel();
    names = uniqueNames('sec', { partitions: 3 });
    certs = makeTestCerts(join(names.stateDir, 'certs'));
    broker = await startOwnBroker({
      secure: {
        certs,
        scramUsers: [
          ...[APP_USER, VECTORIZE_USER, ERASE_USER, TOPICS_USER].map((u) => ({ mechanism: 'SCRAM-SHA-256' as const, name: u.name, password: u.password })),
          { mechanism: 'SCRAM-SHA-512', name: USER_512.name, password: USER_512.password },
        ],
        plainUsers: { [PLAIN_USER.name]: PLAIN_USER.password },
        authorizer: { superUsers: [] },
      },
    });
    harness = createKafka({ brokers: [broker.internal], clientId: 'security-harness', logger: createLogger('error') });
    proxy = await startAuthProxy(STACK.registryUrl, `Basic ${Buffer.from(REGISTRY_BASIC).toString('base64')}`);
    double = await startQdrantEngine({ tls: { cert: certs.serverCert, key: certs.serverKey }, apiKey: QDRANT_KEY });
    const secret = (name: string, value: string) => {
      const path = join(names.stateDir, name);
      writeFileSync(path, `${value}\n`);
      return path;
    };
    secureEnv = {
      ...names.env,
      KAFKA_BROKERS: broker.secure!,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      KAFKA_SASL_USERNAME: APP_USER.name,
      KAFKA_SASL_PASSWORD_FILE: secret('kafka-password', APP_USER.password),
      KAFKA_SSL_CA_FILE: certs.files.ca,
      KAFKA_SSL_CERT_FILE: certs.files.clientCert,
      KAFKA_SSL_KEY_FILE: certs.files.clientKey,
      SCHEMA_REGISTRY_URL: proxy.url,
      // The authenticating proxy listens on plain http (loopback): the explicit opt-in the stages demand for that.
      ALLOW_INSECURE_CREDENTIALS: 'true',
      SCHEMA_REGISTRY_BASIC_AUTH_FILE: secret('registry-auth', REGISTRY_BASIC),
      QDRANT_URL: double.url,
      QDRANT_API_KEY_FILE: secret('qdrant-key', QDRANT_KEY),
      QDRANT_CA_FILE: certs.files.ca,
      ERASURE_SIGNING_KEY: '',
      ERASURE_SIGNING_KEY_FILE: secret('erasure-key', TEST_ERASURE_KEY),
      VECTOR_COLLECTION: 'secured',
      EMBEDDING_MODEL_PATH: MODEL_PATH,
    };
    const as = (user: { name: string; password: string }) => ({ ...secureEnv, KAFKA_SASL_USERNAME: user.name, KAFKA_SASL_PASSWORD_FILE: secret(`kafka-password-${user.name}`, user.password) });
    // Production mode: topics and schemas come from `topics apply`; the stages neither create nor register.
    const stage = { CREATE_TOPICS: 'false', REGISTER_SCHEMAS: 'false' };
    envOf = { aggregate: { ...as(APP_USER), ...stage }, vectorize: { ...as(VECTORIZE_USER), ...stage }, erase: { ...as(ERASE_USER), ...stage }, topics: as(TOPICS_USER) };
    const admin = harness.admin();
    await admin.connect();
    try {
      await admin.createAcls({
        acl: requiredAcls(loadConfig(secureEnv), { topics: `User:${TOPICS_USER.name}`, aggregate: `User:${APP_USER.name}`, vectorize: `User:${VECTORIZE_USER.name}`, erase: `User:${ERASE_USER.name}` }),
      });
    } finally {
      await admin.disconnect();
    }
  });

  after(async () => {
    killAllStages();
    await Promise.all(children.map((c) => c.exited));
    await double?.close();
    await proxy?.close();
    if (names) await dropTestResources(harness, { ...names.env, KAFKA_BROKERS: broker?.internal ?? '' });
    await broker?.close();
    if (names) removeDir(names.stateDir);
  });

  test('both stages run over SASL_SSL (SCRAM-SHA-256, client certificate, ACLs only), each as its own principal, on topics made by `topics apply`, with every secret from a file; outputs equal the oracle; erase works as its own principal; no secret in /readyz or logs', async (t) => {
    const applied = await runToExit(envOf.topics, ['topics', 'apply'], 120_000);
    assert.equal(applied.code, 0, `topics apply as ${TOPICS_USER.name} creates the topics and registers the schemas:\n${applied.output.slice(-2000)}`);
    assert.match(applied.output, /^created\s+/m, 'it created the topics');
    const sent = await produceWorkload(harness, testSerde(), { topic: names.inputTopic, seed: 'security', users: 6, events: 240, rate: 0, startMs: Date.now() - 10 * DAY, lateFraction: 0.02, duplicateFraction: 0.02, poisonFraction: 0.02, windowDays: 7, maxEvents: 512 });

    const started = Date.now();
    const aggregate = await runStage(envOf.aggregate, 'aggregate', { label: 'sec-aggregate', readyTimeoutMs: 180_000 });
    children.push(aggregate);
    const vectorize = await runStage(envOf.vectorize, 'vectorize', { label: 'sec-vectorize', readyTimeoutMs: 180_000 });
    children.push(vectorize);
    t.diagnostic(`both stages ready over SASL_SSL after ${Date.now() - started} ms`);

    const probe = new OffsetProbe(harness);
    try {
      await probe.waitCaughtUp(names, 180_000);
    } finally {
      await probe.close();
    }
    const serde = testSerde();
    let snapshots = await readSnapshots(harness, serde, names.aggregatedTopic);
    for (const deadline = Date.now() + 30_000; snapshots.length < sent.valid && Date.now() < deadline; ) {
      await sleep(1000);
      snapshots = await readSnapshots(harness, serde, names.aggregatedTopic);
    }
    await waitCommittedThrough(harness, vectorizeGroupOf(names), names.aggregatedTopic, endsOf(snapshots), 300_000, async () => {
      if (vectorize.child.exitCode !== null) throw new Error(`vectorize exited early; log in ${vectorize.logFile}`);
    });

    const readiness = await Promise.all([aggregate, vectorize].map(async (s) => {
      const res = await fetch(`http://127.0.0.1:${s.port}/readyz`);
      return { status: res.status, body: await res.text() };
    }));
    for (const r of readiness) {
      assert.equal(r.status, 200, r.body);
      for (const secret of [...SECRETS, certs.clientKey.split('\n')[1]!]) assert.ok(!r.body.includes(secret), `/readyz carries no secret: ${r.body}`);
    }
    assert.match(readiness[1]!.body, /"vectorStore":"ok"/, 'vectorize reaches Qdrant over TLS');

    const input = await readTopic(harness, names.inputTopic); // the workload, before the erasure below joins it
    // erase as its own principal: Write on the input, Read on the erased topic and its own throwaway groups.
    const victim = snapshots[0]!.snapshot.user_id;
    const erased = await runToExit(envOf.erase, ['erase', '--user', victim, '--reason', 'SEC-1', '--requester', 'security-test', '--wait', '--timeout-ms', '120000'], 180_000);
    assert.equal(erased.code, 0, `erase --wait as ${ERASE_USER.name}:\n${erased.output.slice(-2000)}`);
    assert.match(erased.output, /confirmed by the vectorize stage: store qdrant \(collection secured\), \d+ point\(s\) deleted/, erased.output.slice(-1000));
    assert.equal(await aggregate.stop(), 0, 'aggregate stops cleanly');
    assert.equal(await vectorize.stop(), 0, 'vectorize stops cleanly');
    for (const s of [aggregate, vectorize]) {
      const log = readFileSync(s.logFile, 'utf8');
      for (const secret of [...SECRETS, certs.clientKey.split('\n')[1]!]) assert.ok(!log.includes(secret), `${s.logFile} carries no secret`);
    }

    const expected = await oracleOf(input, await stageCodec(serde, names));
    const triggers = snapshots.map((s) => s.snapshot.trigger_event_id);
    assert.equal(snapshots.length, expected.oracle.accepted, 'one committed snapshot per accepted event');
    assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'triggered by exactly the accepted events');
    assert.deepEqual(lastSnapshotPerUser(snapshots), expected.oracle.finalSnapshot, 'final snapshots equal the oracle');
    const dlq = await readTopic(harness, names.dlqTopic, { readCommitted: true });
    const dlqPositions = new Set(dlq.map((d) => `${d.headers[DLQ_HEADERS.partition]?.toString()}/${d.headers[DLQ_HEADERS.offset]?.toString()}`));
    assert.deepEqual(dlqPositions, new Set(expected.poison.map((p) => `${p.record.partition}/${p.record.offset}`)), 'the DLQ holds exactly the poison');

    const sink = new QdrantSink({ url: double.url, collection: 'secured', apiKey: QDRANT_KEY, ca: certs.ca, timeoutMs: STORE_TIMEOUT_MS });
    const points = await sink.scroll();
    await sink.close();
    assertPointsEqualOracle(points, pointsOracle(snapshots.filter((x) => x.snapshot.user_id !== victim)), 'Qdrant over TLS, without the erased user');
    assertDoubleClean(double, 'Qdrant over TLS');

    assert.ok(proxy.seen.length > 0, 'the stages used the registry through the authenticating proxy');
    assert.equal(proxy.refused, 0, 'every registry request carried the basic-auth credentials');
    t.diagnostic(`accepted ${expected.oracle.accepted}, poison ${expected.poison.length}, points ${points.length}, registry requests ${proxy.seen.length}, total ${Date.now() - started} ms`);
  });

  test('PLAIN and SCRAM-SHA-512 users connect too; a wrong CA or a missing client certificate is an AUTH error naming the fix', async () => {
    const base = { KAFKA_BROKERS: broker.secure!, KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SSL_CA_FILE: certs.files.ca, KAFKA_SSL_CERT_FILE: certs.files.clientCert, KAFKA_SSL_KEY_FILE: certs.files.clientKey };
    const connect = async (env: Record<string, string>) => {
      const kafka = createKafka({ ...kafkaConnection(loadConfig({ ...base, ...env })), clientId: 'security-probe', logger: createLogger('silent'), retry: { retries: 2, initialRetryTime: 200 } });
      const admin = kafka.admin();
      try {
        await admin.connect();
        return (await admin.describeCluster()).brokers.length;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    };
    assert.equal(await connect({ KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: PLAIN_USER.name, KAFKA_SASL_PASSWORD: PLAIN_USER.password }), 1);
    assert.equal(await connect({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: USER_512.name, KAFKA_SASL_PASSWORD: USER_512.password }), 1);
    const scram = { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: APP_USER.name, KAFKA_SASL_PASSWORD: APP_USER.password };
    const failure = async (env: Record<string, string>) => kafkaError(await connect({ ...scram, ...env }).then(() => assert.fail('connected'), (e: unknown) => e));
    const wrongCa = await failure({ KAFKA_SSL_CA_FILE: certs.files.otherCa });
    assert.equal(wrongCa.code, 'AUTH', wrongCa.message);
    assert.match(wrongCa.message, /TLS certificate is not trusted.*KAFKA_SSL_CA/);
    const noCert = await failure({ KAFKA_SSL_CERT_FILE: '', KAFKA_SSL_KEY_FILE: '' });
    assert.equal(noCert.code, 'AUTH', noCert.message);
    assert.match(noCert.message, /refused this client's TLS certificate.*KAFKA_SSL_CERT and KAFKA_SSL_KEY/);
  });

  test('a wrong Kafka password or wrong registry credentials stop the stage at start with AUTH, naming the variable, never the value', async (t) => {
    for (const stage of ['aggregate', 'vectorize'] as const) {
      const wrong = { ...secureEnv, KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: 'wrong-S3CRET-password' };
      const r = await runToExit(wrong, ['run', stage], 120_000);
      t.diagnostic(`${stage} with a wrong Kafka password exited ${r.code} after ${r.ms} ms`);
      assert.equal(r.code, 1, `${stage} exits 1:\n${r.output.slice(-2000)}`);
      assert.match(r.output, /aura-stream: AUTH: Kafka refused the SASL credentials: .*SCRAM.*Fix: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
      assert.ok(!r.output.includes('wrong-S3CRET-password'), 'the wrong password is not echoed');
    }
    const badRegistry = { ...secureEnv, SCHEMA_REGISTRY_BASIC_AUTH_FILE: '', SCHEMA_REGISTRY_BASIC_AUTH: 'registry-user:wrong-S3CRET' };
    const r = await runToExit(badRegistry, ['run', 'aggregate'], 120_000);
    assert.equal(r.code, 1, r.output.slice(-2000));
    assert.match(r.output, /AUTH: .*schema registry refused the credentials \(HTTP 401\).*SCHEMA_REGISTRY_BASIC_AUTH/);
    assert.ok(!r.output.includes('wrong-S3CRET'), 'the registry password is not echoed');
  });

  test('registry bearer token: sent as Authorization: Bearer; a refused token is AUTH', async () => {
    proxy.setExpected(`Bearer ${REGISTRY_TOKEN}`);
    try {
      const good = createRegistryClient(proxy.url, { bearerToken: REGISTRY_TOKEN });
      const [seen, refused] = [proxy.seen.length, proxy.refused];
      assert.ok(Array.isArray(await good.getAllSubjects()), 'subjects listed through the proxy');
      assert.ok(proxy.seen.length > seen && proxy.refused === refused, 'the request got through');
      assert.equal(proxy.seen.at(-1), `Bearer ${REGISTRY_TOKEN}`);
      const bad = createRegistryClient(proxy.url, { bearerToken: 'stale-token' });
      const err = await bad.getAllSubjects().then(() => assert.fail('accepted'), (e: unknown) => registryError(e, 'listing subjects'));
      assert.equal(err.code, 'AUTH', err.message);
      assert.match(err.message, /SCHEMA_REGISTRY_BEARER_TOKEN/);
    } finally {
      proxy.setExpected(`Basic ${Buffer.from(REGISTRY_BASIC).toString('base64')}`);
    }
  });
});
