import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { decodeWindow } from '../../src/adapters/codecs.js';
import { DLQ_HEADERS } from '../../src/pipeline/index.js';
import { HEAVY_NOTE_LENGTH } from '../../src/workload/index.js';
import { oracleOf } from '../support/oracle-input.js';
import { decodeSnapshots, lastSnapshotPerUser } from '../support/snapshots.js';
import {
  OffsetProbe,
  createStageTopics,
  dropTestResources,
  killAllStages,
  readTopic,
  removeDir,
  requireStack,
  runCli,
  runStage,
  stageCodec,
  testKafka,
  testSerde,
  uniqueNames,
  type TestNames,
} from '../support/stack-env.js';

/**
 * Heavy users on the real stack, under both guarantees: `aura-stream produce --profile heavy` puts
 * USERS users with more than 512 events each, every one carrying a 200-character note, within two
 * days (one window), on 2 partitions, so every window reaches the 512-event cap and each 250-record
 * chunk touches every user of its partition (12). A full window is ~170 KB of changelog; a chunk's
 * changelog passes 1 MiB, which crashed the stage before writes were cut by bytes. The stage must
 * now consume everything, account for every record (accepted + late + duplicate + dead-lettered =
 * input) and end with the oracle's snapshots.
 */

const USERS = 24;
/** 620 per user: with 1% late, 1% duplicates and the spread between users, each has well over 512 valid events. */
const EVENTS = USERS * 620;
const DAY = 86_400_000;

/** `produce` prints "<class>  <count>  <share>" rows; the count of one class. */
function sentCount(stdout: string, cls: string): number {
  const row = stdout.split('\n').find((l) => l.trim().startsWith(`${cls} `));
  assert.ok(row, `produce printed a ${cls} row:\n${stdout}`);
  return Number(row.trim().split(/\s+/)[1]);
}

describe('heavy users: every window at the 512-event cap, 200-character notes, many users per chunk', { timeout: 900_000 }, () => {
  let kafka: Kafka;
  const created: TestNames[] = [];

  before(async () => {
    await requireStack();
    kafka = testKafka('heavy-test');
  });

  after(async () => {
    killAllStages();
    for (const names of created) {
      await dropTestResources(kafka, names.env);
      removeDir(names.stateDir);
    }
  });

  test('produce touches only the topic it writes: a mismatched changelog of the same application does not stop it, and no other topic is created', async () => {
    const names = uniqueNames('produce-only', { partitions: 3 });
    created.push(names);
    // The application's changelog exists with a partition count its (future) input will not have.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: names.changelogTopic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      const run = await runCli(['produce', '--users', '5', '--events', '60', '--seed', 'only'], { ...names.env, TOPIC_PARTITIONS: '3' });
      assert.equal(run.code, 0, `produce exits 0 (stderr: ${run.stderr.slice(-600)})`);
      assert.match(run.stdout, new RegExp(`sent to ${names.inputTopic.replaceAll('.', '\\.')}`));
      const topics = new Set(await admin.listTopics());
      assert.ok(topics.has(names.inputTopic), 'the input topic was created');
      for (const other of [names.aggregatedTopic, names.dlqTopic, names.vectorizedTopic]) assert.ok(!topics.has(other), `${other} was not created by produce`);
      const [meta] = (await admin.fetchTopicMetadata({ topics: [names.inputTopic] })).topics;
      assert.equal(meta?.partitions.length, 3, 'TOPIC_PARTITIONS=3 was honoured');
      assert.equal((await readTopic(kafka, names.inputTopic)).length, 60, 'every record sent');
    } finally {
      await admin.disconnect();
    }
  });

  for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
    test(`${guarantee}: ${EVENTS} heavy records consumed to the end, every record accounted for, final snapshots equal the oracle`, { timeout: 420_000 }, async (t) => {
      const names = uniqueNames(`heavy-${guarantee === 'exactly_once' ? 'eos' : 'alos'}`, { partitions: 2, guarantee });
      created.push(names);
      await createStageTopics(kafka, names.env);
      const start = new Date(Date.now() - 3 * DAY).toISOString();
      const produced = await runCli(['produce', '--profile', 'heavy', '--users', String(USERS), '--events', String(EVENTS), '--seed', `heavy-${guarantee}`, '--late', '0.01', '--duplicate', '0.01', '--poison', '0.002', '--start', start], names.env);
      assert.equal(produced.code, 0, `produce --profile heavy exits 0 (stderr: ${produced.stderr.slice(-600)})`);
      const sent = { valid: sentCount(produced.stdout, 'valid'), late: sentCount(produced.stdout, 'late'), duplicate: sentCount(produced.stdout, 'duplicate'), poison: sentCount(produced.stdout, 'poison') };
      assert.equal(sent.valid + sent.late + sent.duplicate + sent.poison, EVENTS);

      const probe = new OffsetProbe(kafka);
      const stage = await runStage(names.env, 'aggregate', { readyTimeoutMs: 120_000 });
      let counted: Record<string, number>;
      try {
        await probe.waitCaughtUp(names, 360_000);
        counted = {};
        for (const outcome of ['accepted', 'late', 'duplicate', 'dlq']) counted[outcome] = await stage.metric('aura_records_total', { stage: 'aggregate', outcome });
      } finally {
        await probe.close();
      }
      assert.equal(await stage.stop(), 0, 'the stage exits 0 on SIGTERM');
      const lines = stage.logLines();
      assert.deepEqual(lines.filter((l) => l.level >= 60).map((l) => l.msg), [], 'nothing fatal');
      assert.ok(!lines.some((l) => /larger than the max message size/.test(JSON.stringify(l))), 'no request was refused for its size');

      const serde = testSerde();
      const input = await readTopic(kafka, names.inputTopic);
      const expected = await oracleOf(input, await stageCodec(serde, names));
      const snapshots = await decodeSnapshots(serde, await readTopic(kafka, names.aggregatedTopic, { readCommitted: true }));
      const dlq = await readTopic(kafka, names.dlqTopic, { readCommitted: true });
      const changelog = await readTopic(kafka, names.changelogTopic, { readCommitted: true });
      const windowBytes = changelog.map((r) => r.value?.length ?? 0);
      t.diagnostic(
        `${input.length} records: accepted ${counted.accepted}, late ${counted.late}, duplicate ${counted.duplicate}, dead-lettered ${counted.dlq}; ` +
          `${snapshots.length} snapshots, ${changelog.length} changelog records of up to ${Math.max(...windowBytes)} bytes (before compression)`,
      );

      // Every record accounted for, by the stage's own counters and by the oracle.
      assert.equal(input.length, EVENTS);
      assert.equal(counted.accepted! + counted.late! + counted.duplicate! + counted.dlq!, EVENTS, 'accepted + late + duplicate + dead-lettered = every input record');
      assert.deepEqual(
        { accepted: counted.accepted, late: counted.late, duplicate: counted.duplicate, dlq: counted.dlq },
        { accepted: expected.oracle.accepted, late: expected.oracle.late, duplicate: expected.oracle.duplicate, dlq: expected.poison.length },
        'the stage counted what the oracle derives',
      );
      assert.deepEqual({ late: expected.oracle.late, duplicate: expected.oracle.duplicate, poison: expected.poison.length }, { late: sent.late, duplicate: sent.duplicate, poison: sent.poison }, 'and what produce sent');
      assert.equal(dlq.length, sent.poison, 'the DLQ holds exactly the poison');
      assert.ok(dlq.every((r) => r.headers[DLQ_HEADERS.code]?.toString() !== 'RECORD_TOO_LARGE'), 'nothing was too large to write');

      // Outputs: one snapshot per accepted event (at least one under at_least_once), final snapshots = oracle.
      const triggers = snapshots.map((s) => s.snapshot.trigger_event_id);
      assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'the snapshots are triggered by exactly the accepted events');
      if (guarantee === 'exactly_once') assert.equal(snapshots.length, expected.oracle.accepted, 'exactly one snapshot per accepted event');
      const last = lastSnapshotPerUser(snapshots);
      assert.deepEqual(last, expected.oracle.finalSnapshot, 'final snapshots equal the oracle');

      // It was heavy: every user at the cap, notes of 200 characters, full windows in the changelog.
      assert.equal(last.size, USERS);
      for (const [user, s] of last) assert.equal(s.event_count, 512, `${user}'s window is at the cap`);
      assert.ok([...last.values()].every((s) => s.recent_notes.length > 0 && s.recent_notes.every((n) => n.length === HEAVY_NOTE_LENGTH)), 'recent notes are 200 characters');
      const full = changelog.map((r) => decodeWindow(r.value!)).filter((w) => w.entries.length === 512);
      assert.ok(full.length >= USERS, `full windows were written to the changelog (${full.length})`);
      assert.ok(Math.max(...windowBytes) > 100_000, 'a full window is over 100 KB, so a chunk\'s changelog is over 1 MiB');
    });
  }
});
