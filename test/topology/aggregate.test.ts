import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { decodeWindow } from '../../src/adapters/codecs.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { AuraError } from '../../src/errors.js';
import type { AggregateCodec, SourceRecord } from '../../src/ports.js';
import { DLQ_HEADERS } from '../../src/pipeline/index.js';
import { POISON_ERROR_CODES, POISON_KINDS, generateEvents, summarize, type GeneratedRecord, type PoisonKind } from '../../src/workload/index.js';
import type { AggregateEvent } from '../../topology/aggregate.js';
import { oracleOf } from '../support/oracle-input.js';
import { decodeSnapshots, lastSnapshotPerUser, type SnapshotRecord } from '../support/snapshots.js';
import { MemoryWindowStore, TopologyDriver, driverConfig, type DriverConfig, type RunResult } from '../support/topology-driver.js';

/**
 * The aggregate topology run in-process from records to captured outputs (a "topology
 * driver"): the real topology, codec (Avro on the confluent mock registry, the real schemas/),
 * window fold and poison policy; in-memory fakes of the consumer group, the transactional writer,
 * the changelog and LMDB. Expected results come from the oracle over the input log.
 */

const START_MS = Date.UTC(2026, 0, 5);
const WORKLOAD = { seed: 'topology-driver', users: 20, events: 1200, startMs: START_MS, poisonFraction: 0.03 };

type Committed = Extract<AggregateEvent, { type: 'committed' }>;
const committed = (r: RunResult): Committed[] => r.events.filter((e): e is Committed => e.type === 'committed');

/** A driver holding the seeded workload plus two hand-made edge records (a tombstone, a null key). */
async function loadedDriver(config: DriverConfig = driverConfig()): Promise<{ driver: TopologyDriver; generated: GeneratedRecord[] }> {
  const driver = await TopologyDriver.create(config);
  const generated = [...generateEvents(WORKLOAD)];
  const half = Math.floor(generated.length / 2);
  driver.pipeGenerated(generated.slice(0, half));
  const valid = generated.find((r) => r.class === 'valid')!;
  driver.pipe({ key: valid.key, value: null, headers: { 'x-edge': 'tombstone' }, timestamp: String(valid.timestampMs), partition: 0 });
  driver.pipeGenerated([{ ...valid, key: null }], () => ({ 'x-edge': 'null-key' }));
  driver.pipeGenerated(generated.slice(half));
  return { driver, generated };
}

/** The error code each dead-lettered input record must carry. */
function expectedCode(record: SourceRecord): string {
  const edge = record.headers['x-edge']?.toString();
  if (edge === 'tombstone') return 'UNDECODABLE';
  if (edge === 'null-key') return 'KEY_MISMATCH';
  const kind = record.headers['aura.generator.poison']?.toString() as PoisonKind | undefined;
  assert.ok(kind, `input ${record.partition}/${record.offset} is not a poison record of the workload`);
  return POISON_ERROR_CODES[kind];
}

function outputBytes(driver: TopologyDriver, topic: string): string[] {
  return driver.log.records(topic).map((r) => `${r.partition}|${r.key?.toString('hex')}|${r.value?.toString('hex')}`);
}

describe('aggregate topology (in-process driver, no broker)', () => {
  let driver: TopologyDriver;
  let generated: GeneratedRecord[];
  let run: RunResult;
  let expected: Awaited<ReturnType<typeof oracleOf>>;
  let snapshots: SnapshotRecord[];

  before(async () => {
    ({ driver, generated } = await loadedDriver());
    run = await driver.run();
    assert.equal(run.error, undefined, `the run failed: ${String(run.error)}`);
    expected = await oracleOf(driver.input(), driver.codec);
    snapshots = await decodeSnapshots(driver.serde, driver.log.records(driver.config.outputTopic));
  });

  test('the workload exercises every class: valid, late, duplicate and each poison kind', () => {
    const summary = summarize(generated);
    assert.ok(summary.late > 0 && summary.duplicate > 0, `late ${summary.late}, duplicate ${summary.duplicate}`);
    for (const kind of POISON_KINDS) assert.ok(summary.poisonByKind[kind] > 0, `poison kind ${kind} is generated`);
  });

  test('emits one snapshot per accepted event, and every user\'s last snapshot deep-equals the oracle', () => {
    const triggers = snapshots.map((s) => s.snapshot.trigger_event_id);
    assert.equal(snapshots.length, expected.oracle.accepted, 'one snapshot per accepted event');
    assert.equal(new Set(triggers).size, triggers.length, 'no event triggers two snapshots');
    assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'the triggers are exactly the accepted events');
    const last = lastSnapshotPerUser(snapshots);
    assert.deepEqual([...last.keys()].sort(), [...expected.oracle.finalSnapshot.keys()].sort(), 'a final snapshot for exactly the users with accepted events');
    for (const [user, snapshot] of expected.oracle.finalSnapshot) assert.deepEqual(last.get(user), snapshot, `final snapshot of ${user}`);
  });

  test('what the stage counted matches the generator\'s classes and the oracle', () => {
    const summary = summarize(generated);
    const sum = (f: (e: Committed) => number) => committed(run).reduce((n, e) => n + f(e), 0);
    assert.equal(sum((e) => e.consumed), driver.input().length, 'every input record consumed once');
    assert.equal(sum((e) => e.accepted), expected.oracle.accepted, 'accepted = oracle');
    assert.equal(sum((e) => e.accepted), summary.valid, 'accepted = generated valid records');
    assert.equal(sum((e) => e.late), summary.late, 'late = generated late records');
    assert.equal(sum((e) => e.duplicate), summary.duplicate, 'duplicate = generated duplicates');
    assert.equal(sum((e) => e.dlq.length), summary.poison + 2, 'dead-lettered = generated poison + the two edge records');
    assert.equal(expected.oracle.late, summary.late, 'the oracle agrees on late');
    assert.equal(expected.oracle.duplicate, summary.duplicate, 'the oracle agrees on duplicates');
  });

  test('every snapshot is keyed by its user, carries its trace id header, and names the input record that triggered it', () => {
    const input = new Map(expected.log.map((r) => [`${r.position.partition}/${r.position.offset}`, r]));
    for (const s of snapshots) {
      assert.equal(s.key, s.snapshot.user_id, 'key = user id');
      assert.equal(s.headers['trace_id']?.toString() ?? null, s.snapshot.trace_id, `trace_id header of ${s.snapshot.snapshot_id}`);
      const trigger = input.get(`${s.snapshot.source_partition}/${s.snapshot.source_offset}`);
      assert.ok(trigger, `snapshot ${s.snapshot.snapshot_id} names input ${s.snapshot.source_partition}/${s.snapshot.source_offset}`);
      assert.equal(trigger.event.event_id, s.snapshot.trigger_event_id, 'the named input record is the trigger');
      assert.equal(s.snapshot.source_topic, driver.config.inputTopic, 'source topic');
    }
  });

  test('each transaction holds one changelog record per touched user, in the input record\'s partition, and commits the next offset', () => {
    const { changelogTopic, outputTopic, inputTopic, groupId } = driver.config;
    assert.ok(run.writer.transactions.length > driver.config.partitions, 'several transactions');
    for (const tx of run.writer.transactions) {
      const changelog = tx.records.filter((r) => r.topic === changelogTopic);
      const keys = changelog.map((r) => String(r.key));
      assert.equal(new Set(keys).size, keys.length, 'one changelog record per user and transaction');
      assert.ok(changelog.every((r) => r.partition === tx.input.partition), 'changelog written to the input record\'s partition number');
      const outputUsers = new Set(tx.records.filter((r) => r.topic === outputTopic).map((r) => String(r.key)));
      assert.deepEqual(new Set(keys), outputUsers, 'changelog users = users with a snapshot in the transaction');
    }
    for (let p = 0; p < driver.config.partitions; p++) {
      assert.equal(driver.log.committed(groupId, inputTopic, p), driver.log.end(inputTopic, p), `partition ${p} committed to its end`);
    }
  });

  test('the window store ends equal to each user\'s last changelog state, and both agree with the final snapshot', () => {
    const lastState = new Map<string, UserWindow>();
    for (const r of driver.log.records(driver.config.changelogTopic)) lastState.set(r.key!.toString(), decodeWindow(r.value!));
    assert.deepEqual([...lastState.keys()].sort(), [...expected.oracle.finalSnapshot.keys()].sort(), 'a changelog state per user with accepted events');
    for (const [user, window] of lastState) {
      assert.deepEqual(decodeWindow(driver.store.get(user)!), window, `store = changelog for ${user}`);
      const final = expected.oracle.finalSnapshot.get(user)!;
      assert.equal(window.end, final.window_end, `window end of ${user}`);
      assert.equal(window.entries.length, final.event_count, `entries of ${user}`);
    }
    for (let p = 0; p < driver.config.partitions; p++) {
      assert.equal(driver.store.checkpoint(p), String(driver.log.end(driver.config.changelogTopic, p)), `checkpoint of changelog partition ${p} is its end`);
    }
  });

  test('every poison record, and only those, is dead-lettered with its original key, value and headers plus the error headers', () => {
    const dlq = driver.log.records(driver.config.dlqTopic);
    const inputs = new Map(driver.input().map((r) => [`${r.partition}/${r.offset}`, r]));
    assert.equal(dlq.length, expected.poison.length, 'one DLQ record per poison input record');
    const seenCodes = new Set<string>();
    for (const d of dlq) {
      const h = (name: string) => d.headers[name]?.toString();
      const original = inputs.get(`${h(DLQ_HEADERS.partition)}/${h(DLQ_HEADERS.offset)}`);
      assert.ok(original, `DLQ record names input ${h(DLQ_HEADERS.partition)}/${h(DLQ_HEADERS.offset)}`);
      const where = `input ${original.partition}/${original.offset}`;
      assert.equal(h(DLQ_HEADERS.code), expectedCode(original), `error code of ${where}`);
      assert.ok((h(DLQ_HEADERS.message) ?? '').length > 0, `error message of ${where}`);
      assert.equal(h(DLQ_HEADERS.stage), 'aggregate', `stage of ${where}`);
      assert.equal(h(DLQ_HEADERS.topic), driver.config.inputTopic, `original topic of ${where}`);
      assert.equal(h(DLQ_HEADERS.timestamp), original.timestamp, `original timestamp of ${where}`);
      assert.deepEqual(d.key, original.key, `original key bytes of ${where}`);
      assert.deepEqual(d.value, original.value, `original value bytes of ${where}`);
      for (const [name, value] of Object.entries(original.headers)) assert.deepEqual(d.headers[name], value, `original header ${name} of ${where}`);
      seenCodes.add(h(DLQ_HEADERS.code)!);
    }
    for (const kind of POISON_KINDS) assert.ok(seenCodes.has(POISON_ERROR_CODES[kind]), `a ${kind} record was dead-lettered as ${POISON_ERROR_CODES[kind]}`);
  });

  test('each partition is claimed, then restored, before its first write', () => {
    for (let p = 0; p < driver.config.partitions; p++) {
      const ops = driver.log.ops.filter((o) => o.partition === p).map((o) => o.op);
      const claim = ops.indexOf('claim');
      const restore = ops.indexOf('restore');
      const write = ops.indexOf('write');
      assert.ok(claim >= 0 && claim < restore && restore < write, `partition ${p}: claim → restore → write, got ${ops.slice(0, 6).join(' → ')}`);
    }
  });

  test('output is byte-identical whatever the fetch and transaction sizes', async () => {
    const small = (await loadedDriver(driverConfig({ maxRecordsPerTransaction: 3 }))).driver;
    const r = await small.run({ maxBatch: 7 });
    assert.equal(r.error, undefined, String(r.error));
    assert.ok(r.writer.transactions.length > 3 * run.writer.transactions.length, 'many more, smaller transactions');
    assert.deepEqual(outputBytes(small, small.config.outputTopic), outputBytes(driver, driver.config.outputTopic), 'same snapshots, same bytes, same order');
    assert.deepEqual(outputBytes(small, small.config.dlqTopic), outputBytes(driver, driver.config.dlqTopic), 'same DLQ records');
  });

  test('a write that fails before its commit is retried after a new claim and restore, and the output equals the run without the fault', async () => {
    const { driver: faulty } = await loadedDriver();
    const r = await faulty.run({ faults: [{ atWrite: 2, mode: 'before-commit' }] });
    assert.equal(r.error, undefined, String(r.error));
    const retrying = r.events.filter((e) => e.type === 'retrying');
    assert.equal(retrying.length, 1, 'one retry reported');
    const partition = retrying[0]!.partition;
    const claims = faulty.log.ops.filter((o) => o.op === 'claim' && o.partition === partition).length;
    const restores = faulty.log.ops.filter((o) => o.op === 'restore' && o.partition === partition).length;
    assert.equal(claims, 2, 'the failed partition is claimed again');
    assert.equal(restores, 2, 'and restored again before the retry');
    assert.deepEqual(outputBytes(faulty, faulty.config.outputTopic), outputBytes(driver, driver.config.outputTopic), 'no snapshot lost or doubled');
    assert.deepEqual(outputBytes(faulty, faulty.config.dlqTopic), outputBytes(driver, driver.config.dlqTopic), 'no DLQ record lost or doubled');
  });

  test('a commit that landed but reported failure is absorbed by the restore and event-id dedupe: no snapshot is emitted twice', async () => {
    // The replayed chunk's poison records are dead-lettered a second time (nothing tells the stage
    // that the commit landed); snapshots are not, since the restored window knows their events.
    const { driver: faulty } = await loadedDriver();
    const r = await faulty.run({ faults: [{ atWrite: 2, mode: 'after-commit' }] });
    assert.equal(r.error, undefined, String(r.error));
    const out = await decodeSnapshots(faulty.serde, faulty.log.records(faulty.config.outputTopic));
    const triggers = out.map((s) => s.snapshot.trigger_event_id);
    assert.equal(new Set(triggers).size, triggers.length, 'no event triggers two snapshots');
    assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'every accepted event has its snapshot');
    assert.deepEqual(lastSnapshotPerUser(out), expected.oracle.finalSnapshot, 'final snapshots equal the oracle');
  });

  test('a registry outage while decoding is retried with the offsets held, and nothing is dead-lettered for it', async () => {
    const { driver: flaky } = await loadedDriver();
    let calls = 0;
    const codec: AggregateCodec = {
      ...flaky.codec,
      decodeEvent: async (value) => {
        if (++calls === 150) throw new AuraError('REGISTRY_UNAVAILABLE', 'injected: registry unreachable');
        return flaky.codec.decodeEvent(value);
      },
    };
    const r = await flaky.run({ codec });
    assert.equal(r.error, undefined, String(r.error));
    assert.deepEqual(
      r.events.filter((e) => e.type === 'retrying').map((e) => (e as { error: AuraError }).error.code),
      ['REGISTRY_UNAVAILABLE'],
      'one retry for the outage',
    );
    assert.deepEqual(outputBytes(flaky, flaky.config.outputTopic), outputBytes(driver, driver.config.outputTopic), 'same snapshots as without the outage');
    assert.deepEqual(outputBytes(flaky, flaky.config.dlqTopic), outputBytes(driver, driver.config.dlqTopic), 'the outage sent nothing to the DLQ');
  });

  test('a fatal error (neither poison nor transient) stops the stage instead of dead-lettering the record', async () => {
    const { driver: broken } = await loadedDriver();
    const codec: AggregateCodec = {
      ...broken.codec,
      decodeEvent: async () => {
        throw new AuraError('CONFIG', 'injected: misconfigured');
      },
    };
    const r = await broken.run({ codec });
    assert.ok(r.error instanceof AuraError && r.error.code === 'CONFIG', `the run failed with CONFIG, got ${String(r.error)}`);
    assert.equal(broken.log.records(broken.config.dlqTopic).length, 0, 'nothing dead-lettered');
    assert.equal(broken.log.records(broken.config.outputTopic).length, 0, 'nothing written');
  });

  test('a stage stopped mid-stream and restarted with an empty window store rebuilds its state from the changelog and ends equal to the oracle', async () => {
    const { driver: crashy } = await loadedDriver();
    const first = await crashy.run({ stopAfterWrites: 5, maxBatch: 50 });
    assert.equal(first.error, undefined, String(first.error));
    const done = crashy.log.records(crashy.config.outputTopic).length;
    assert.ok(done > 0 && done < expected.oracle.accepted, `stopped mid-stream (${done} of ${expected.oracle.accepted} snapshots)`);
    crashy.store = new MemoryWindowStore();
    const second = await crashy.run({ maxBatch: 50 });
    assert.equal(second.error, undefined, String(second.error));
    const restored = second.events.filter((e): e is Extract<AggregateEvent, { type: 'restored' }> => e.type === 'restored');
    assert.ok(
      restored.reduce((n, e) => n + e.records, 0) > 0,
      'the second run replayed changelog records into its empty store',
    );
    const out = await decodeSnapshots(crashy.serde, crashy.log.records(crashy.config.outputTopic));
    const triggers = out.map((s) => s.snapshot.trigger_event_id);
    assert.equal(triggers.length, expected.oracle.accepted, 'one snapshot per accepted event across both runs');
    assert.deepEqual(new Set(triggers), expected.oracle.acceptedEventIds, 'the triggers are exactly the accepted events');
    assert.deepEqual(lastSnapshotPerUser(out), expected.oracle.finalSnapshot, 'final snapshots equal the oracle');
    assert.deepEqual(outputBytes(crashy, crashy.config.outputTopic), outputBytes(driver, driver.config.outputTopic), 'byte-identical to the uninterrupted run');
  });
});
