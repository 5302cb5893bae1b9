import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { topicRecordSubject, topicSubject } from '../../src/adapters/avro-serde.js';
import { erase } from '../../src/cli/erase.js';
import { ERASURE_COMPLETED_FULL_NAME, USER_DELETED_FULL_NAME, erasureSignatureValid, type ErasureCompleted, type UserDeleted } from '../../src/contracts/erasure.js';
import { TEST_ERASURE_KEY, erasureCompleted as confirmation } from '../support/erasure-records.js';
import { ROOT, configOf, dropTestResources, readTopic, removeDir, requireStack, runCli, testKafka, testSerde, uniqueNames, waitFor, within, type TestNames } from '../support/stack-env.js';

/**
 * `aura-stream erase` on the real stack (Kafka + registry), as a child process: the request it
 * produces, and `--wait` against confirmations this test produces itself (no stage runs here;
 * erasure-e2e.test.ts runs the stages).
 */

const REQUEST_LINE = /^erasure ([0-9a-f-]{36}) of user (\S+): UserDeleted at (\S+) partition (\d+) offset (\d+)$/m;

describe('erase on the real stack (Kafka + registry, the CLI as a child process)', { timeout: 120_000 }, () => {
  let kafka: Kafka;
  const toDrop: TestNames[] = [];

  before(async () => {
    await requireStack();
    kafka = testKafka('erase-cli');
  });

  after(async () => {
    // The erased topic is not one of the stage topics dropTestResources knows.
    const admin = kafka.admin();
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const erased = toDrop.map(erasedTopicOf).filter((t) => existing.has(t));
    if (erased.length > 0) await admin.deleteTopics({ topics: erased, timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
    for (const names of toDrop) {
      await dropTestResources(kafka, names);
      removeDir(names.stateDir);
    }
  });

  const erasedTopicOf = (names: TestNames) => `${names.applicationId}.erased`;
  function fresh(label: string): TestNames & { env: Record<string, string> } {
    const names = uniqueNames(label, { partitions: 3 });
    names.env.ERASED_TOPIC = erasedTopicOf(names);
    names.env.LOG_LEVEL = 'warn';
    toDrop.push(names);
    return names;
  }

  it('produces one UserDeleted keyed by the user that decodes with the registry as the request printed', async () => {
    const names = fresh('erase-cli');
    const beforeMs = Date.now();
    const run = await runCli(['erase', '--user', 'u-erase-1', '--reason', 'TICKET-42', '--requester', 'alice@ops'], names.env, 60_000);
    const afterMs = Date.now();
    assert.equal(run.code, 0, `erase exits 0 (stderr: ${run.stderr})`);
    const m = REQUEST_LINE.exec(run.stdout);
    assert.ok(m, `erase prints the erasure id, topic, partition and offset (stdout: ${run.stdout})`);
    const [, erasureId, user, topic, partition, offset] = m;
    assert.deepEqual([user, topic], ['u-erase-1', names.inputTopic], 'the user and the user-events topic');

    const records = await readTopic(kafka, names.inputTopic);
    assert.equal(records.length, 1, 'exactly one record was produced');
    const [r] = records;
    assert.deepEqual([r!.partition, r!.offset], [Number(partition), offset], 'it sits where erase said');
    assert.equal(r!.key?.toString('utf8'), 'u-erase-1', 'keyed by the user id, so it follows the user\'s events in their partition');
    const serde = testSerde();
    const decoded = await serde.decode(r!.value);
    assert.equal(decoded.fullName, USER_DELETED_FULL_NAME, 'a UserDeleted');
    const registered = await serde.client.getLatestSchemaMetadata(topicRecordSubject(names.inputTopic, USER_DELETED_FULL_NAME));
    assert.equal(decoded.schemaId, registered.id, 'encoded with the schema registered under <input topic>-aura360.events.UserDeleted (TopicRecordNameStrategy)');
    const v = decoded.value as Record<string, unknown>;
    assert.deepEqual([v['event_id'], v['user_id'], v['reason']], [erasureId, 'u-erase-1', 'TICKET-42'], 'event_id is the printed erasure id; user and reason as given');
    const requestedAt = v['requested_at'] as number;
    assert.ok(requestedAt >= beforeMs && requestedAt <= afterMs, `requested_at is the time of the request (${requestedAt} within [${beforeMs}, ${afterMs}])`);
    assert.equal(r!.headers['trace_id']?.toString('utf8'), v['trace_id'], 'the trace id travels as a header too');
    assert.equal(v['requester'], 'alice@ops', 'who asked is recorded');
    const request = { ...(v as unknown as UserDeleted), type: 'UserDeleted' as const };
    assert.ok(erasureSignatureValid(request, TEST_ERASURE_KEY), 'signed with the ERASURE_SIGNING_KEY the stages verify');
    assert.ok(!erasureSignatureValid({ ...request, user_id: 'u-erase-other' }, TEST_ERASURE_KEY), 'a signature for this user only');
  });

  it('refuses to erase without ERASURE_SIGNING_KEY (CONFIG, naming the variable), producing nothing', async () => {
    const names = fresh('erase-nokey');
    const { ERASURE_SIGNING_KEY: _key, ...env } = names.env;
    const run = await runCli(['erase', '--user', 'u-erase-5'], { ...env, ERASURE_SIGNING_KEY: '' }, 60_000);
    assert.equal(run.code, 2, `exits 2, as every CONFIG error (stdout: ${run.stdout})`);
    assert.match(run.stderr, /CONFIG: ERASURE_SIGNING_KEY is not set/, run.stderr);
    assert.doesNotMatch(run.stdout, REQUEST_LINE, 'no request printed');
  });

  it('--wait gives up after --timeout-ms with a TIMEOUT naming what to check, and still printed the request', async () => {
    const names = fresh('erase-timeout');
    const started = Date.now();
    const run = await runCli(['erase', '--user', 'u-erase-2', '--wait', '--timeout-ms', '4000'], names.env, 60_000);
    assert.equal(run.code, 1, `erase --wait exits 1 when nothing confirms (stdout: ${run.stdout})`);
    const m = REQUEST_LINE.exec(run.stdout);
    assert.ok(m, 'the request line is printed before waiting, so the erasure id is known');
    assert.match(run.stderr, new RegExp(`TIMEOUT: no ErasureCompleted for erasure ${m[1]} on ${erasedTopicOf(names).replace(/\./g, '\\.')} within 4000 ms`), run.stderr);
    assert.match(run.stderr, /aura-stream run vectorize/, 'names the stage to check');
    assert.ok(Date.now() - started >= 4000, 'it waited the whole timeout');
  });

  it('--wait returns once an ErasureCompleted with its erasure id arrives, ignoring others', async () => {
    const names = fresh('erase-wait');
    const erased = erasedTopicOf(names);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: erased, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const serde = testSerde();
    const subject = topicSubject(erased);
    await serde.register(subject, ERASURE_COMPLETED_FULL_NAME);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const confirm = (c: ErasureCompleted) => producer.send({ topic: erased, acks: -1, messages: [{ key: c.user_id, value: serde.encode(subject, ERASURE_COMPLETED_FULL_NAME, c) }] });
    try {
      // Older confirmations on the topic (an earlier erasure of the same user) are not the answer.
      await confirm({ ...confirmation('00000000-0000-4000-8000-000000000001', 'u-erase-3'), points_deleted: 99 });

      const child = spawn(process.execPath, [join(ROOT, 'bin', 'aura-stream.js'), 'erase', '--user', 'u-erase-3', '--wait', '--timeout-ms', '60000'], {
        cwd: ROOT,
        env: { ...process.env, ...names.env, AURA_FROM_SOURCE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const exited = new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
      try {
        const erasureId = await waitFor('erase to print the request', () => REQUEST_LINE.exec(stdout)?.[1], { timeoutMs: 60_000, intervalMs: 100 });
        // Another erasure's confirmation first, then this one's.
        await confirm({ ...confirmation('00000000-0000-4000-8000-000000000002', 'u-other'), points_deleted: 98 });
        await confirm({ ...confirmation(erasureId, 'u-erase-3'), points_deleted: 7, cache_entries_deleted: 2, store: 'qdrant', collection: 'aura_context' });
        const code = await within(exited, 30_000, 'hung' as const);
        assert.equal(code, 0, `erase --wait exits 0 once confirmed (stdout: ${stdout} stderr: ${stderr})`);
      } finally {
        child.kill('SIGKILL');
      }
      assert.match(stdout, /confirmed by the vectorize stage: store qdrant \(collection aura_context\), 7 point\(s\) deleted, 2 embedding-cache entries deleted/, 'prints the matching confirmation, not an older or another one');
      const admin2 = kafka.admin();
      await admin2.connect();
      const { groups } = await admin2.listGroups();
      await admin2.disconnect();
      assert.deepEqual(groups.map((g) => g.groupId).filter((g) => g.startsWith(`${names.applicationId}-erase-`)), [], 'the throwaway group of the wait is deleted after it');
    } finally {
      await producer.disconnect();
    }
  });

  it('in process: the request goes where the configuration says and the call returns its position', async () => {
    const names = fresh('erase-inproc');
    const e = await erase({ user: 'u-erase-4', wait: false, timeoutMs: 1 }, configOf(names.env));
    assert.equal(e.topic, names.inputTopic, 'the configured INPUT_TOPIC');
    assert.ok(e.partition >= 0 && e.partition < 3 && BigInt(e.offset) >= 0n, `a real position (${e.partition}/${e.offset})`);
    assert.equal(e.completed, undefined, 'no confirmation asked for');
  });
});
