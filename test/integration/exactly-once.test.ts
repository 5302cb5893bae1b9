import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Kafka } from 'kafkajs';
import { decodeWindow } from '../../src/adapters/codecs.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { DLQ_HEADERS } from '../../src/pipeline/index.js';
import { generateEvents, summarize, type GeneratedRecord } from '../../src/workload/index.js';
import { oracleOf } from '../support/oracle-input.js';
import { decodeSnapshots, lastSnapshotPerUser } from '../support/snapshots.js';
import {
  OffsetProbe,
  brokerApiVersions,
  createStageTopics,
  dropTestResources,
  killAllStages,
  produceGenerated,
  readTopic,
  removeDir,
  requireStack,
  runStage,
  stageCodec,
  testKafka,
  testSerde,
  uniqueNames,
  waitFor,
  type TestNames,
} from '../support/stack-env.js';

/**
 * Exactly-once on the real stack (docs/ARCHITECTURE.md §3): the `aggregate` stage runs as a child process,
 * is SIGKILLed in the middle of its input (mostly inside a transaction), and is restarted on the
 * same STATE_DIR until it has consumed everything.
 * The outputs must then equal an oracle computed from the input log: nothing lost, nothing doubled.
 *
 * A SIGKILLed consumer stays a group member until its session times out (30 s), so a restart waits
 * that long for its assignment: these tests take a minute or two.
 */

const DAY = 86_400_000;
const EVENTS = 3000;

interface Outcome {
  names: TestNames;
  generated: GeneratedRecord[];
  /** Committed input records when each SIGKILL hit. */
  killedAt: number[];
}

/**
 * Puts a seeded workload on a fresh topic, runs the stage over it and SIGKILLs the stage once the
 * group has committed each of `killFractions` of the input (and not all of it), restarting it on the
 * same STATE_DIR each time; finally waits until everything is consumed and stops it (SIGTERM).
 * Working through a backlog, the stage has transactions open nearly all the time (three partitions
 * at once, 100 records each), so a kill mostly lands inside one.
 */
async function runWithKills(t: TestContext, kafka: Kafka, label: string, guarantee: 'exactly_once' | 'at_least_once', killFractions: number[]): Promise<Outcome> {
  const names = uniqueNames(label, { partitions: 3, guarantee });
  // Small fetches and transactions: the group commits in ~30 steps of 100 records, so a kill lands
  // mid-stream however fast the host is. With the defaults (1 MiB fetches, 5 000 records per
  // transaction) a partition's 1 000 records are one commit, and a fast run could finish between probes.
  Object.assign(names.env, { AGGREGATE_FETCH_MAX_BYTES: '16384', AGGREGATE_TX_MAX_RECORDS: '100' });
  await createStageTopics(kafka, names.env);
  const generated = [...generateEvents({ seed: label, users: 50, events: EVENTS, startMs: Date.now() - 10 * DAY - 3_600_000 })];
  await produceGenerated(kafka, testSerde(), names.inputTopic, generated);
  const probe = new OffsetProbe(kafka);
  const killedAt: number[] = [];
  try {
    let stage = await runStage(names.env, 'aggregate', { label: 'run-1' });
    for (const [i, fraction] of killFractions.entries()) {
      const target = Math.floor(EVENTS * fraction);
      const committed = await waitFor(`group to commit ${target} records before kill ${i + 1}`, async () => {
        const c = await probe.committed(names.groupId, names.inputTopic);
        return c >= target ? c : undefined;
      }, { timeoutMs: 120_000, intervalMs: 25 });
      stage.kill('SIGKILL');
      const exit = await stage.exited;
      assert.equal(exit.signal, 'SIGKILL', `run ${i + 1} was killed`);
      const after = await probe.committed(names.groupId, names.inputTopic);
      assert.ok(after < EVENTS, `kill ${i + 1} hit mid-stream: ${after} of ${EVENTS} records committed`);
      killedAt.push(after);
      t.diagnostic(`SIGKILL ${i + 1} after the group had committed ${committed}/${EVENTS} input records (${after} when it was dead)`);
      stage = await runStage(names.env, 'aggregate', { label: `run-${i + 2}`, readyTimeoutMs: 120_000 });
      // Regression: readiness used to be claimed before the join, which waits out the dead member's session.
      assert.ok(stage.logLines().some((l) => l.msg === 'joined consumer group'), `run ${i + 2} is ready only after it joined the group`);
    }
    await probe.waitCaughtUp(names, 120_000);
    assert.equal(await stage.stop(), 0, 'the last run exits 0 on SIGTERM');
  } finally {
    await probe.close();
  }
  return { names, generated, killedAt };
}

/** What the run left on the topics, and what it should have left (the oracle over the input log). */
async function collect(kafka: Kafka, names: TestNames) {
  const serde = testSerde();
  const input = await readTopic(kafka, names.inputTopic);
  const committedOut = await readTopic(kafka, names.aggregatedTopic, { readCommitted: true });
  const uncommittedOut = await readTopic(kafka, names.aggregatedTopic, { readCommitted: false });
  const dlq = await readTopic(kafka, names.dlqTopic, { readCommitted: true });
  const changelog = await readTopic(kafka, names.changelogTopic, { readCommitted: true });
  const uncommittedChangelog = await readTopic(kafka, names.changelogTopic, { readCommitted: false });
  const expected = await oracleOf(input, await stageCodec(serde, names));
  // Records of aborted transactions: visible to read_uncommitted only. More than 0 = a kill hit inside a transaction.
  const aborted = { output: uncommittedOut.length - committedOut.length, changelog: uncommittedChangelog.length - changelog.length };
  return { input, snapshots: await decodeSnapshots(serde, committedOut), aborted, dlq, changelog, expected };
}

describe('exactly-once on the real stack: kafkajs 2.2.4 against Kafka 4.x', () => {
  let kafka: Kafka;
  const created: TestNames[] = [];

  before(async () => {
    await requireStack();
    kafka = testKafka('eos-test');
  });

  after(async () => {
    killAllStages();
    for (const names of created) {
      await dropTestResources(kafka, names.env);
      removeDir(names.stateDir);
    }
  });

  test('the broker is Kafka 4.x and every request kafkajs 2.2.4 sends in this pipeline has a version both sides speak', async () => {
    const broker = await brokerApiVersions();
    const require = createRequire(import.meta.url);
    const apiKeys = require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>;
    assert.ok((broker.get(apiKeys.Fetch!)?.[0] ?? 0) >= 4, `Fetch v0-v3 are gone (KIP-896, Kafka 4.0): broker Fetch versions ${broker.get(apiKeys.Fetch!)}`);
    const used: Record<string, string> = {
      Produce: 'produce',
      Fetch: 'fetch',
      ListOffsets: 'listOffsets',
      Metadata: 'metadata',
      OffsetCommit: 'offsetCommit',
      OffsetFetch: 'offsetFetch',
      GroupCoordinator: 'findCoordinator',
      JoinGroup: 'joinGroup',
      Heartbeat: 'heartbeat',
      LeaveGroup: 'leaveGroup',
      SyncGroup: 'syncGroup',
      DescribeGroups: 'describeGroups',
      ApiVersions: 'apiVersions',
      CreateTopics: 'createTopics',
      DeleteTopics: 'deleteTopics',
      DeleteGroups: 'deleteGroups',
      InitProducerId: 'initProducerId',
      AddPartitionsToTxn: 'addPartitionsToTxn',
      AddOffsetsToTxn: 'addOffsetsToTxn',
      EndTxn: 'endTxn',
      TxnOffsetCommit: 'txnOffsetCommit',
    };
    for (const [api, dir] of Object.entries(used)) {
      const versions = (require(`kafkajs/src/protocol/requests/${dir}`) as { versions: string[] }).versions.map(Number);
      const range = broker.get(apiKeys[api]!);
      assert.ok(range, `the broker serves ${api}`);
      const common = versions.filter((v) => v >= range[0] && v <= range[1]);
      assert.ok(common.length > 0, `${api}: kafkajs speaks v${versions.join(',')}, the broker v${range[0]}-v${range[1]}`);
    }
  });

  test(
    'exactly_once, SIGKILLed twice mid-stream and restarted: read_committed output holds exactly one snapshot per accepted event, final snapshots equal the oracle (proves kafkajs 2.2.4 transactions, sendOffsets, read_committed and consumer groups on Kafka 4.x)',
    { timeout: 180_000 },
    async (t) => {
      const { names, generated, killedAt } = await runWithKills(t, kafka, 'eos', 'exactly_once', [0.2, 0.55]);
      created.push(names);
      const { input, snapshots, aborted, dlq, changelog, expected } = await collect(kafka, names);
      const summary = summarize(generated);
      t.diagnostic(`accepted ${expected.oracle.accepted}, late ${expected.oracle.late}, duplicate ${expected.oracle.duplicate}, poison ${expected.poison.length}; output read_committed ${snapshots.length}; records of aborted transactions: output ${aborted.output}, changelog ${aborted.changelog}; kills at ${killedAt.join(', ')}`);

      assert.equal(input.length, EVENTS, 'all input on the topic');
      assert.equal(expected.oracle.accepted, summary.valid, 'the oracle accepts exactly the generated valid records');
      const triggers = snapshots.map((s) => s.snapshot.trigger_event_id);
      assert.equal(new Set(triggers).size, triggers.length, 'no accepted event has two committed snapshots');
      assert.equal(snapshots.length, expected.oracle.accepted, 'one committed snapshot per accepted event');
      assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'the snapshots are triggered by exactly the accepted events');
      const last = lastSnapshotPerUser(snapshots);
      assert.equal(last.size, expected.oracle.finalSnapshot.size, 'a final snapshot per user');
      for (const [user, snapshot] of expected.oracle.finalSnapshot) assert.deepEqual(last.get(user), snapshot, `final snapshot of ${user} equals the oracle`);

      const dlqPositions = dlq.map((d) => `${d.headers[DLQ_HEADERS.partition]?.toString()}/${d.headers[DLQ_HEADERS.offset]?.toString()}`);
      assert.equal(new Set(dlqPositions).size, dlqPositions.length, 'no poison record dead-lettered twice');
      assert.deepEqual(new Set(dlqPositions), new Set(expected.poison.map((p) => `${p.record.partition}/${p.record.offset}`)), 'the DLQ holds exactly the poison records');

      const lastState = new Map<string, UserWindow>();
      for (const r of changelog) lastState.set(r.key!.toString(), decodeWindow(r.value!));
      for (const [user, snapshot] of expected.oracle.finalSnapshot) {
        const w = lastState.get(user);
        assert.ok(w && w.end === snapshot.window_end && w.entries.length === snapshot.event_count, `the changelog's last state of ${user} is its final window`);
      }
    },
  );

  test(
    'at_least_once, SIGKILLed mid-stream and restarted: every accepted event has a snapshot (duplicates allowed) and the final snapshots equal the oracle',
    { timeout: 120_000 },
    async (t) => {
      const { names, killedAt } = await runWithKills(t, kafka, 'alo', 'at_least_once', [0.3]);
      created.push(names);
      const { snapshots, dlq, expected } = await collect(kafka, names);
      const triggers = snapshots.map((s) => s.snapshot.trigger_event_id);
      t.diagnostic(`snapshots ${snapshots.length} for ${expected.oracle.accepted} accepted events (${snapshots.length - new Set(triggers).size} duplicates); kill at ${killedAt.join(', ')}`);
      assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'every accepted event has a snapshot, and nothing else does');
      assert.ok(snapshots.length >= expected.oracle.accepted, 'at least one snapshot per accepted event');
      assert.deepEqual(lastSnapshotPerUser(snapshots), expected.oracle.finalSnapshot, 'final snapshots equal the oracle');
      const dlqPositions = new Set(dlq.map((d) => `${d.headers[DLQ_HEADERS.partition]?.toString()}/${d.headers[DLQ_HEADERS.offset]?.toString()}`));
      assert.deepEqual(dlqPositions, new Set(expected.poison.map((p) => `${p.record.partition}/${p.record.offset}`)), 'every poison record reached the DLQ');
    },
  );
});
