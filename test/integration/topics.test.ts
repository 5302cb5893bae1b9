import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { ensureTopics } from '../../src/adapters/kafka/topics.js';
import { AuraError } from '../../src/errors.js';
import { createStageTopics, dropTestResources, requireStack, runCli, runStage, testKafka, testSerde, uniqueNames, type TestNames } from '../support/stack-env.js';
import { subjectPlan } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config.js';

describe('topics at start-up (real broker)', () => {
  let kafka: Kafka;
  const created: TestNames[] = [];

  before(async () => {
    await requireStack();
    kafka = testKafka('topics-test');
  });

  after(async () => {
    for (const n of created) await dropTestResources(kafka, n);
  });

  test('missing topics are created; the changelog copies the input\'s partition count and is compacted', async () => {
    const names = uniqueNames('topics-create', { partitions: 4 });
    created.push(names);
    await createStageTopics(kafka, names.env);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [names.inputTopic, names.changelogTopic, names.dlqTopic] });
      const counts = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
      assert.deepEqual(counts, { [names.inputTopic]: 4, [names.changelogTopic]: 4, [names.dlqTopic]: 4 }, 'partition counts');
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: names.changelogTopic, configNames: ['cleanup.policy'] }], includeSynonyms: false });
      assert.equal(configs.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'compact', 'the changelog is compacted');
    } finally {
      await admin.disconnect();
    }
  });

  test('a changelog whose partition count differs from the input\'s stops the start with TOPIC_MISMATCH naming both and the fix', async () => {
    const names = uniqueNames('topics-mismatch', { partitions: 3 });
    created.push(names);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: names.changelogTopic, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
      await assert.rejects(
        ensureTopics(admin, [{ topic: names.inputTopic, partitions: 3 }, { topic: names.changelogTopic, copyOf: names.inputTopic, compacted: true }], { create: true, replicationFactor: 1 }),
        (e: unknown) =>
          e instanceof AuraError &&
          e.code === 'TOPIC_MISMATCH' &&
          e.message.includes(`${names.changelogTopic} has 2 partitions`) &&
          e.message.includes(`${names.inputTopic} has 3`) &&
          /CHANGELOG_TOPIC/.test(e.message),
        'the mismatch is refused, not repaired',
      );
      const meta = await admin.fetchTopicMetadata({ topics: [names.changelogTopic] });
      assert.equal(meta.topics[0]?.partitions.length, 2, 'the changelog was left as it was');
    } finally {
      await admin.disconnect();
    }

    // The stage itself refuses to start, exits non-zero, and says why.
    const stage = await runStage(names.env, 'aggregate', { readyTimeoutMs: 60_000 }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    assert.ok(stage instanceof Error, 'the stage never became ready');
    assert.match(stage.message, /TOPIC_MISMATCH|has 2 partitions/, `the failure names the cause: ${stage.message.slice(0, 300)}`);
  });

  test('with CREATE_TOPICS=false, missing topics are a CONFIG error naming them and the setting', async () => {
    const names = uniqueNames('topics-nocreate');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await assert.rejects(
        ensureTopics(admin, [{ topic: names.inputTopic, partitions: 3 }], { create: false, replicationFactor: 1 }),
        (e: unknown) => e instanceof AuraError && e.code === 'CONFIG' && e.message.includes(names.inputTopic) && e.message.includes('CREATE_TOPICS=true'),
      );
    } finally {
      await admin.disconnect();
    }
  });

  test('`topics apply` creates every topic with min.insync.replicas, the changelog compacted with max.compaction.lag.ms, registers the schemas; a second run changes nothing and says so; the stages then start without creating or registering', async () => {
    const names = uniqueNames('topics-apply', { partitions: 3 });
    created.push(names);
    const env = { ...names.env, TOPIC_MIN_INSYNC_REPLICAS: '1', CHANGELOG_MAX_COMPACTION_LAG_MS: '3600000' };
    const config = loadConfig(env);
    const topics = [names.inputTopic, names.aggregatedTopic, names.vectorizedTopic, names.erasedTopic, names.dlqTopic, config.aggregatedDlqTopic, names.changelogTopic];
    const subjects = subjectPlan(config).map((p) => p.subject);

    const first = await runCli(['topics', 'apply'], env, 120_000);
    assert.equal(first.code, 0, `the first run succeeds (stderr: ${first.stderr})`);
    for (const t of topics) assert.match(first.stdout, new RegExp(`^created\\s+${t.replace(/\./g, '\\.')}  `, 'm'), `${t} created:\n${first.stdout}`);
    for (const s of subjects) assert.match(first.stdout, new RegExp(`^registered\\s+${s.replace(/\./g, '\\.')}  schema id \\d+`, 'm'), `${s} registered`);
    assert.match(first.stdout, /7 created or registered|14 created or registered/, first.stdout);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      assert.deepEqual(Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length])), Object.fromEntries(topics.map((t) => [t, 3])), 'TOPIC_PARTITIONS everywhere; the changelog copies the input');
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ type: 2, name, configNames: ['min.insync.replicas', 'cleanup.policy', 'max.compaction.lag.ms'] })) });
      for (const r of described.resources) {
        const entry = (n: string) => r.configEntries.find((e) => e.configName === n);
        assert.equal(entry('min.insync.replicas')?.configValue, '1', `${r.resourceName}: min.insync.replicas`);
        assert.equal(entry('min.insync.replicas')?.isDefault, false, `${r.resourceName}: min.insync.replicas set on the topic, not the broker default`);
        if (r.resourceName === names.changelogTopic) {
          assert.equal(entry('cleanup.policy')?.configValue, 'compact', 'the changelog is compacted');
          assert.equal(entry('max.compaction.lag.ms')?.configValue, '3600000', 'and bounds how long a tombstoned window stays readable');
        } else {
          assert.equal(entry('cleanup.policy')?.configValue, 'delete', `${r.resourceName} keeps every record until retention`);
        }
      }
    } finally {
      await admin.disconnect();
    }
    const serde = testSerde();
    for (const s of subjects) assert.ok(((await serde.client.getLatestSchemaMetadata(s)).id ?? 0) > 0, `${s} is registered`);

    const second = await runCli(['topics', 'apply'], env, 120_000);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /^(created|registered|differs)/m, `the second run creates and registers nothing:\n${second.stdout}`);
    assert.equal(second.stdout.match(/^unchanged /gm)?.length, topics.length + subjects.length, 'every topic and subject reported unchanged');
    assert.match(second.stdout, /nothing changed: every topic and schema is as planned/);

    const drift = await runCli(['topics', 'apply'], { ...env, CHANGELOG_MAX_COMPACTION_LAG_MS: '7200000' }, 120_000);
    assert.equal(drift.code, 1, 'a setting that differs from the plan exits 1');
    assert.match(drift.stdout, new RegExp(`^differs\\s+${names.changelogTopic.replace(/\./g, '\\.')}  max\\.compaction\\.lag\\.ms=3600000, planned 7200000.*not altered`, 'm'), drift.stdout);

    // Production mode: no topic creation, no schema registration by the stage.
    const stage = await runStage({ ...env, CREATE_TOPICS: 'false', REGISTER_SCHEMAS: 'false' }, 'aggregate', { readyTimeoutMs: 90_000 });
    assert.equal(await stage.stop(), 0, 'the aggregate stage ran on the applied topics and looked its schemas up');
  });

  test('with REGISTER_SCHEMAS=false a schema nobody registered is a CONFIG error naming `topics apply`', async () => {
    const names = uniqueNames('topics-noreg');
    created.push(names);
    const run = await runCli(['run', 'aggregate'], { ...names.env, REGISTER_SCHEMAS: 'false' }, 90_000);
    assert.notEqual(run.code, 0, 'the stage does not start');
    assert.match(run.stderr, /CONFIG: .* is not registered under subject .* REGISTER_SCHEMAS=false: register the schemas first with `aura-stream topics apply`/, run.stderr.slice(-1500));
  });
});
