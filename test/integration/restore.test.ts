import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { generateEvents, type GeneratedRecord } from '../../src/workload/index.js';
import { oracleOf } from '../support/oracle-input.js';
import { decodeSnapshots, lastSnapshotPerUser, type SnapshotRecord } from '../support/snapshots.js';
import {
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
  waitCaughtUp,
  type LogLine,
  type TestNames,
} from '../support/stack-env.js';

/**
 * Restore (docs/ARCHITECTURE.md §3: "LMDB is a cache of the changelog"): the stage processes a first part of the
 * workload and stops cleanly; its LMDB folder is deleted; more events of the same users arrive; the
 * restarted stage must rebuild every window from the changelog alone and emit exactly what a
 * reference application that never lost its state emits for the same input.
 */

const DAY = 86_400_000;
const EVENTS = 2400;

/** The reference application reads the test's input topic; its own DLQ suffix keeps the DLQ apart. */
const referenceEnv = (reference: TestNames, names: TestNames) => ({ ...reference.env, INPUT_TOPIC: names.inputTopic, DLQ_SUFFIX: '.ref-dlq' });

describe('restore: a stage whose LMDB folder was deleted rebuilds its windows from the changelog alone', () => {
  let kafka: Kafka;
  let names: TestNames;
  let reference: TestNames;
  let generated: GeneratedRecord[];
  let first: SnapshotRecord[];
  let second: SnapshotRecord[];
  let referenceSnapshots: SnapshotRecord[];
  let changelogRecords: number;
  let restoreLines: LogLine[];
  let restoreMetric: number;
  let lmdbGone: boolean;
  let referenceRestored: number;
  let expected: Awaited<ReturnType<typeof oracleOf>>;
  const serde = testSerde();

  before(
    async () => {
      await requireStack();
      kafka = testKafka('restore-test');
      names = uniqueNames('restore');
      await createStageTopics(kafka, names.env);
      generated = [...generateEvents({ seed: 'restore', users: 30, events: EVENTS, startMs: Date.now() - 10 * DAY - 3_600_000 })];
      const half = EVENTS / 2;

      await produceGenerated(kafka, serde, names.inputTopic, generated.slice(0, half));
      const a = await runStage(names.env, 'aggregate', { label: 'first' });
      await waitCaughtUp(kafka, names);
      assert.equal(await a.stop(), 0, 'first run exits 0 on SIGTERM');
      const afterFirst = (await readTopic(kafka, names.aggregatedTopic)).length;
      changelogRecords = (await readTopic(kafka, names.changelogTopic)).length;

      const lmdb = join(names.stateDir, 'aggregate');
      assert.ok(existsSync(lmdb), 'the first run kept its windows in LMDB');
      removeDir(lmdb);
      lmdbGone = !existsSync(lmdb);

      await produceGenerated(kafka, serde, names.inputTopic, generated.slice(half));
      const b = await runStage(names.env, 'aggregate', { label: 'second' });
      await waitCaughtUp(kafka, names);
      restoreMetric = await b.metric('aura_restore_records_total', { stage: 'aggregate' });
      restoreLines = b.logLines().filter((l) => l.msg === 'restored partition from changelog');
      assert.equal(await b.stop(), 0, 'second run exits 0 on SIGTERM');

      // The first run saw only the first part: its snapshots are those triggered by first-part events.
      const firstPart = new Set(generated.slice(0, half).flatMap((g) => (g.event ? [g.event.event_id] : [])));
      const all = await decodeSnapshots(serde, await readTopic(kafka, names.aggregatedTopic));
      first = all.filter((s) => firstPart.has(s.snapshot.trigger_event_id));
      second = all.filter((s) => !firstPart.has(s.snapshot.trigger_event_id));
      assert.equal(first.length, afterFirst, 'the first run\'s snapshots are those of the first part');

      // The reference: another application over the same input topic, in one uninterrupted run.
      reference = uniqueNames('restore-ref');
      const refEnv = referenceEnv(reference, names);
      await createStageTopics(kafka, refEnv);
      const c = await runStage(refEnv, 'aggregate', { label: 'reference' });
      await waitCaughtUp(kafka, { groupId: reference.groupId, inputTopic: names.inputTopic });
      referenceRestored = await c.metric('aura_restore_records_total', { stage: 'aggregate' });
      assert.equal(await c.stop(), 0, 'reference run exits 0 on SIGTERM');
      referenceSnapshots = await decodeSnapshots(serde, await readTopic(kafka, reference.aggregatedTopic));
      expected = await oracleOf(await readTopic(kafka, names.inputTopic), await stageCodec(serde, names));
    },
    { timeout: 180_000 },
  );

  after(async () => {
    killAllStages();
    if (names) {
      await dropTestResources(kafka, names.env);
      removeDir(names.stateDir);
    }
    if (reference) {
      await dropTestResources(kafka, referenceEnv(reference, names));
      removeDir(reference.stateDir);
    }
  });

  test('the LMDB folder was gone when the second run started, so its state can only come from the changelog', () => {
    assert.ok(lmdbGone, 'LMDB folder deleted');
    assert.ok(changelogRecords > 0, 'the first run left window states on the changelog');
  });

  test('the restarted stage replayed the whole changelog: logged and counted in aura_restore_records_total', () => {
    const logged = restoreLines.reduce((n, l) => n + Number(l.records), 0);
    assert.equal(restoreLines.length, 3, 'one restore line per partition');
    assert.ok(logged > 0, 'records restored > 0');
    assert.equal(logged, changelogRecords, 'every committed changelog record was replayed');
    assert.equal(restoreMetric, changelogRecords, 'aura_restore_records_total agrees');
  });

  test('the second run emitted one snapshot per accepted event of the second part and reprocessed nothing of the first', () => {
    const triggers = [...first, ...second].map((s) => s.snapshot.trigger_event_id);
    assert.equal(new Set(triggers).size, triggers.length, 'no event has two snapshots');
    assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'both runs together: exactly the accepted events');
    assert.ok(second.length > 0, 'the second part produced snapshots');
  });

  test('every snapshot of the second run equals the reference application\'s snapshot for the same event', () => {
    const ref = new Map(referenceSnapshots.map((s) => [s.snapshot.trigger_event_id, s.snapshot]));
    assert.equal(referenceSnapshots.length, first.length + second.length, 'the reference emitted as many snapshots');
    const firstUsers = new Set(first.map((f) => f.snapshot.user_id));
    const continuing = second.filter((s) => firstUsers.has(s.snapshot.user_id));
    assert.ok(continuing.length > second.length / 2, 'most second-part snapshots extend windows built in the first part');
    for (const s of second) assert.deepEqual(s.snapshot, ref.get(s.snapshot.trigger_event_id), `snapshot for ${s.snapshot.trigger_event_id} (${s.snapshot.user_id})`);
  });

  test('the final snapshot of every user equals the oracle over the whole log', () => {
    assert.deepEqual(lastSnapshotPerUser([...first, ...second]), expected.oracle.finalSnapshot);
  });

  test('the reference application never restored anything: it never lost state', () => {
    // Guards the comparison above: a reference that had to restore would prove nothing.
    assert.equal(referenceRestored, 0, 'aura_restore_records_total of the reference');
  });
});
