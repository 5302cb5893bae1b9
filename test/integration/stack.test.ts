import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { SchemaRegistryClient } from '@confluentinc/schemaregistry';
import { Kafka, logLevel } from 'kafkajs';
import { GLOBAL_COMPATIBILITY, MODEL_ID, stackStatus, stackUp, type StackInfo } from '../../src/stack/index.js';

/*
 * Runs against the local stack that scripts/test.sh starts (`aura-stream stack up`), on the ports
 * and cache folder of the environment (AURA_STACK_DIR, AURA_KAFKA_PORT, AURA_REGISTRY_PORT …).
 * It starts nothing itself, except to prove that `stackUp` on a running stack starts nothing.
 */

const quiet = { print: (): void => undefined, log: (): void => undefined };
let info: StackInfo;
let kafka: Kafka;

before(async () => {
  info = await stackStatus(quiet);
  if (!info.ok) {
    const table = info.processes.map((p) => `  ${p.name}: ${p.running ? 'running' : 'not running'}, ${p.reachable ? 'reachable' : 'unreachable'} (${p.detail})`).join('\n');
    assert.fail(`the local stack is not up; start it with \`npm run stack:up\` (scripts/test.sh does this before the tests):\n${table}\n  model: ${info.modelSha256 ? 'ready' : 'missing'} at ${info.modelPath}`);
  }
  kafka = new Kafka({ clientId: 'stack-test', brokers: [info.kafkaBrokers], logLevel: logLevel.NOTHING });
});

describe('local stack', () => {
  it('Kafka answers kafkajs admin metadata naming the one loopback broker', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(
        cluster.brokers.map((b) => `${b.host}:${b.port}`),
        [info.kafkaBrokers],
        'metadata should list exactly the broker the stack advertises',
      );
      assert.equal(cluster.controller, cluster.brokers[0]?.nodeId, 'the combined node should be its own controller');
      const meta = readFileSync(join(info.dir, 'kafka', 'data', 'meta.properties'), 'utf8');
      assert.match(meta, new RegExp(`cluster\\.id=${cluster.clusterId}\\b`), 'the broker should serve the cluster formatted in the cache folder');
    } finally {
      await admin.disconnect();
    }
  });

  it('kafkajs 2.2.4 commits a transaction with sendOffsets on the one-node broker', async () => {
    const topic = `aura-stack-test-${randomUUID()}`;
    const groupId = `aura-stack-test-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ transactionalId: `aura-stack-test-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId: `${groupId}-reader` });
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ key: 'k', value: 'committed' }] });
      await committed.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }] });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted' }] });
      await aborted.abort();

      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.equal(offsets?.partitions[0]?.offset, '1', 'the offset sent inside the committed transaction should be the group offset');

      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString() ?? '');
            resolve();
          },
        });
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
      clearTimeout(timer);
      // the aborted record sits after the committed one; give a read_uncommitted bug time to show it
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(seen, ['committed'], 'a read_committed consumer should see the committed record and not the aborted one');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteGroups([groupId, `${groupId}-reader`]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it(`the registry answers at /apis/ccompat/v7 with global compatibility ${GLOBAL_COMPATIBILITY}`, async () => {
    assert.match(info.schemaRegistryUrl, /^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/, 'the URL handed to the app should be the ccompat base');
    const client = new SchemaRegistryClient({ baseURLs: [info.schemaRegistryUrl] });
    assert.equal(await client.getDefaultCompatibility(), GLOBAL_COMPATIBILITY, 'ccompat GET /config should report the global level');
    const base = info.schemaRegistryUrl.replace(/\/apis\/ccompat\/v7$/, '');
    const rule = (await (await fetch(`${base}/apis/registry/v3/admin/rules/COMPATIBILITY`)).json()) as { config?: string };
    assert.equal(rule.config, GLOBAL_COMPATIBILITY, 'the registry-native global COMPATIBILITY rule, which is what enforces it, should match');
  });

  it('the registry refuses an incompatible second version of a subject with 409', async () => {
    const client = new SchemaRegistryClient({ baseURLs: [info.schemaRegistryUrl] });
    const subject = `aura-stack-test-${randomUUID()}-value`;
    const v1 = { type: 'record', name: 'Probe', namespace: 'aura.stack.test', fields: [{ name: 'a', type: 'string' }] };
    const compatible = { ...v1, fields: [...v1.fields, { name: 'b', type: 'int', default: 0 }] };
    const incompatible = { ...v1, fields: [...v1.fields, { name: 'c', type: 'int' }] };
    try {
      await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v1) });
      await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(compatible) });
      await assert.rejects(
        client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(incompatible) }),
        (err: { status?: number }) => err.status === 409,
        'a new required field without a default breaks BACKWARD and must be refused',
      );
      assert.deepEqual(await client.getAllVersions(subject), [1, 2], 'the refused schema should not become a version');
    } finally {
      await client.deleteSubject(subject).catch(() => undefined);
      await client.deleteSubject(subject, true).catch(() => undefined);
    }
  });

  it('stackStatus reports both servers running, reachable, and the model folder', () => {
    for (const name of ['kafka', 'registry'] as const) {
      const p = info.processes.find((x) => x.name === name);
      assert.ok(p, `status should list ${name}`);
      assert.ok(p.running && p.pid !== null, `${name} should run under a recorded pid (${p.detail})`);
      assert.ok(p.reachable, `${name} should answer (${p.detail})`);
    }
    const onnx = readFileSync(join(info.modelPath, 'onnx', 'model_quantized.onnx'));
    assert.equal(createHash('sha256').update(onnx).digest('hex'), info.modelSha256, 'manifest.json should carry the sha256 of the ONNX file');
  });

  it('the default model folder loads offline in transformers.js and gives 384-dim unit vectors, pooled as its manifest says', async () => {
    const { env, pipeline } = await import('@huggingface/transformers');
    assert.equal(basename(info.modelPath), MODEL_ID, 'EMBEDDING_MODEL_PATH names the default model\'s folder');
    const manifest = JSON.parse(readFileSync(join(info.modelPath, 'manifest.json'), 'utf8')) as { embedding: { pooling: 'mean' | 'cls' } };
    env.localModelPath = join(info.modelPath, '..');
    env.allowRemoteModels = false;
    const extract = await pipeline('feature-extraction', basename(info.modelPath), { dtype: 'q8', session_options: { intraOpNumThreads: 1 } });
    try {
      const out = await extract(['I slept well and feel rested.', 'After a good night of sleep I am refreshed.', 'The invoice was paid by bank transfer.'], { pooling: manifest.embedding.pooling, normalize: true });
      assert.deepEqual(out.dims, [3, 384], 'one 384-dim vector per text');
      const [a, b, c] = out.tolist() as number[][];
      const dot = (x: number[], y: number[]): number => x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0);
      for (const v of [a, b, c]) assert.ok(Math.abs(Math.sqrt(dot(v ?? [], v ?? [])) - 1) < 1e-4, 'vectors should be L2-normalised');
      assert.ok(dot(a ?? [], b ?? []) > dot(a ?? [], c ?? []) + 0.2, 'a paraphrase should score well above an unrelated sentence');
    } finally {
      await extract.dispose();
    }
  });

  it('stackUp on a running stack starts nothing (same pids)', async () => {
    const again = await stackUp(quiet);
    assert.deepEqual(
      again.processes.map((p) => [p.name, p.pid]),
      info.processes.map((p) => [p.name, p.pid]),
      'a second up should adopt the running servers, not start new ones',
    );
    assert.equal(again.kafkaBrokers, info.kafkaBrokers);
    assert.equal(again.schemaRegistryUrl, info.schemaRegistryUrl);
  });
});
