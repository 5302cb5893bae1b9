import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { ensureTopics } from '../../src/adapters/kafka/topics.js';
import { AuraError } from '../../src/errors.js';
import { createStageTopics, dropTestResources, requireStack, runStage, testKafka, uniqueNames, type TestNames } from '../support/stack-env.js';

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
});
