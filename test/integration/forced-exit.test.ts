import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { aggregateBatch } from '../oracles/aggregate-batch.js';
import { generateEvents } from '../../src/workload/index.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import {
  ROOT,
  createStageTopics,
  dropTestResources,
  killAllStages,
  produceGenerated,
  readLogLines,
  removeDir,
  requireStack,
  runStage,
  stageCodec,
  testKafka,
  testSerde,
  uniqueNames,

  type LogLine,
  type StageProcess,
  type TestNames,
} from '../support/stack-env.js';
import { MODEL_PATH, requireModel, vectorizeGroupOf } from '../support/vectorize-env.js';

/**
 * A forced exit really exits, for each stage, as child processes of the real CLI on the real stack:
 * - SHUTDOWN_TIMEOUT_MS runs out while draining → exit status 1 (the process used to log
 *   "shutdown timed out" and keep running);
 * - a second SIGTERM/SIGINT while draining → exit at once (128 + signal number);
 * - a fatal stage error → draining, clients closed, exit status 1 (a failed stage used to stay
 *   alive with /readyz false).
 * Every wait is bounded: a process that does not exit fails the test instead of hanging it.
 */

const DAY = 86_400_000;
const EXIT_WITHIN_MS = 60_000;
type Stage = 'aggregate' | 'vectorize';

const msgs = (lines: LogLine[]) => lines.map((l) => l.msg);

/** Resolves with the exit, or rejects naming `what` when the process is still alive after `ms`. */
async function exitWithin(stage: Pick<StageProcess, 'exited' | 'kill'>, what: string, ms = EXIT_WITHIN_MS) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => {
      stage.kill('SIGKILL');
      fail(new Error(`${what}: the process was still running ${ms} ms later`));
    }, ms);
  });
  try {
    return await Promise.race([stage.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a forced exit really exits: shutdown timeout, second signal, fatal stage error', { timeout: 900_000 }, () => {
  let kafka: Kafka;
  let double: QdrantEngine;
  const created: TestNames[] = [];

  before(async () => {
    await requireStack();
    requireModel();
    kafka = testKafka('forced-exit');
    double = await startQdrantEngine();
  });

  after(async () => {
    killAllStages();
    await double?.close();
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    for (const names of created) {
      await dropTestResources(kafka, names.env);
      await admin.deleteGroups([vectorizeGroupOf(names)]).catch(() => undefined);
      removeDir(names.stateDir);
    }
    await admin.disconnect().catch(() => undefined);
  });

  /** Fresh topics and the env of `stage` (vectorize: the real model and Qdrant's engine). */
  async function setUp(label: string, stage: Stage, extra: Record<string, string> = {}) {
    const names = uniqueNames(label, { partitions: 1 });
    created.push(names);
    const collection = `c_${label.replace(/[^a-z0-9]/gi, '_')}`;
    const env = {
      ...names.env,
      ...(stage === 'vectorize' && { EMBEDDING_MODEL_PATH: MODEL_PATH, QDRANT_URL: double.url, VECTOR_COLLECTION: collection, RETRY_MAX_MS: '1000' }),
      ...extra,
    };
    await createStageTopics(kafka, env);
    return { names, env, collection };
  }

  for (const stage of ['aggregate', 'vectorize'] as const) {
    test(`${stage}: when SHUTDOWN_TIMEOUT_MS runs out while draining, the process exits with status 1`, { timeout: 240_000 }, async () => {
      // 100 ms (the smallest accepted value) is shorter than stopping a consumer in a fetch.
      const { env } = await setUp(`exit-timeout-${stage}`, stage, { SHUTDOWN_TIMEOUT_MS: '100' });
      const child = await runStage(env, stage, { readyTimeoutMs: 120_000 });
      child.kill('SIGTERM');
      const exit = await exitWithin(child, 'after SIGTERM with SHUTDOWN_TIMEOUT_MS=100');
      const log = msgs(child.logLines());
      assert.deepEqual(exit, { code: 1, signal: null }, `exit status 1 (log: ${log.slice(-5).join(' | ')})`);
      assert.ok(log.includes('draining'), 'it started draining');
      assert.ok(log.includes('shutdown timed out; exiting without waiting further'), 'the timeout was the reason');
      assert.ok(!log.includes('stopped'), 'the drain had not finished: the exit was forced');
    });

    test(`${stage}: a second signal while draining exits at once`, { timeout: 240_000 }, async () => {
      // A shutdown timeout of ten minutes: only the second signal can end the process within the bound.
      const { env } = await setUp(`exit-twice-${stage}`, stage, { SHUTDOWN_TIMEOUT_MS: '600000' });
      const child = await runStage(env, stage, { readyTimeoutMs: 120_000 });
      // Both signals are made pending while the process is stopped, so they arrive together: the
      // first starts the drain, which cannot finish before the second is handled.
      child.kill('SIGSTOP');
      child.kill('SIGTERM');
      child.kill('SIGINT');
      child.kill('SIGCONT');
      const exit = await exitWithin(child, 'after a second signal', 30_000);
      const log = child.logLines();
      assert.ok(exit.code === 130 || exit.code === 143, `exit status 128 + signal (got ${JSON.stringify(exit)}; log: ${msgs(log).slice(-5).join(' | ')})`);
      const second = log.find((l) => l.msg === 'second signal while draining; exiting at once');
      assert.ok(second, 'the second signal was the reason');
      assert.equal(second.code, exit.code, 'the status logged is the status exited with');
      assert.ok(!msgs(log).includes('stopped'), 'it did not wait for the drain');
    });
  }

  test('aggregate: a fatal stage error (a corrupt changelog record met in the restore) drains, closes and exits with status 1', { timeout: 240_000 }, async () => {
    const { names, env } = await setUp('exit-fatal-aggregate', 'aggregate');
    // A changelog record that is not a window: the restore cannot rebuild the state, which is fatal.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: names.changelogTopic, messages: [{ key: 'user-0001', value: 'this is not a window', partition: 0 }] });
    await producer.disconnect();
    const events = [...generateEvents({ seed: 'fatal', users: 2, events: 20, startMs: Date.now() - DAY, spanDays: 0.5, poisonFraction: 0, lateFraction: 0, duplicateFraction: 0 })];
    await produceGenerated(kafka, testSerde(), names.inputTopic, events);
    const exit = await exitWithin(spawnStage(env, 'aggregate', names), 'after the fatal error', 120_000);
    const log = readLogLines(logFileOf(names, 'aggregate'));
    assert.deepEqual(exit, { code: 1, signal: null }, `exit status 1 (log: ${msgs(log).slice(-5).join(' | ')})`);
    const fatal = log.find((l) => l.level === 60);
    assert.match(fatal?.msg ?? '', /^stage aggregate failed: /, 'the failure is logged as fatal, naming the stage');
    const draining = log.find((l) => l.msg === 'draining');
    assert.equal(draining?.reason, 'failure', 'it drained because of the failure');
    assert.deepEqual(log.find((l) => l.msg === 'stopped')?.states, ['aggregate:failed'], 'clients closed, stage state failed');
  });

  test('vectorize: a fatal stage error (its collection deleted under it, HTTP 404) drains, closes and exits with status 1', { timeout: 300_000 }, async () => {
    const { names, env, collection } = await setUp('exit-fatal-vectorize', 'vectorize');
    const child = await runStage(env, 'vectorize', { readyTimeoutMs: 180_000 });
    // VECTOR_COLLECTION is the readers' alias; the stage writes the version's own collection behind it.
    const aliases = ((await (await fetch(`${double.url}/aliases`)).json()) as { result: { aliases: Array<{ alias_name: string; collection_name: string }> } }).result.aliases;
    const target = aliases.find((a) => a.alias_name === collection)?.collection_name;
    assert.ok(target, `the stage made its version's collection behind the alias ${collection}: ${JSON.stringify(aliases)}`);
    const dropped = await fetch(`${double.url}/collections/${target}`, { method: 'DELETE' });
    assert.deepEqual([dropped.status, ((await dropped.json()) as { result: unknown }).result], [200, true], 'the collection existed and is gone now');
    // Snapshots for it to upsert, written as the aggregate stage writes them.
    const codec = await stageCodec(testSerde(), names);
    const events = [...generateEvents({ seed: 'fatal-v', users: 2, events: 6, startMs: Date.now() - DAY, spanDays: 0.5, poisonFraction: 0, lateFraction: 0, duplicateFraction: 0 })];
    const fold = aggregateBatch(
      events.map((r, i) => ({ position: { topic: names.inputTopic, partition: 0, offset: String(i), timestamp: r.timestampMs }, key: r.key, event: r.event! })),
      () => undefined,
      { windowDays: 7, maxEvents: 512, aggregatorVersion: '1.0.0' },
    );
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: names.aggregatedTopic, messages: fold.snapshots.map(({ snapshot }) => ({ key: snapshot.user_id, value: codec.encodeSnapshot(snapshot) })) });
    await producer.disconnect();
    const exit = await exitWithin(child, 'after the fatal error', 120_000);
    const log = child.logLines();
    assert.deepEqual(exit, { code: 1, signal: null }, `exit status 1 (log: ${msgs(log).slice(-5).join(' | ')})`);
    const fatal = log.find((l) => l.level === 60);
    assert.match(fatal?.msg ?? '', /^stage vectorize failed: .*HTTP 404/, 'the failure is logged as fatal with its cause');
    assert.equal(log.find((l) => l.msg === 'draining')?.reason, 'failure');
    assert.deepEqual(log.find((l) => l.msg === 'stopped')?.states, ['vectorize:failed'], 'clients closed, stage state failed');
  });
});

/** Log file of a stage started by spawnStage. */
function logFileOf(names: TestNames, stage: Stage): string {
  return join(names.stateDir, `${stage}-fatal.log`);
}

/** `run <stage>` without waiting for readiness (a stage that fails in its restore is never ready). */
function spawnStage(env: Record<string, string>, stage: Stage, names: TestNames): Pick<StageProcess, 'exited' | 'kill'> {
  const fd = openSync(logFileOf(names, stage), 'a');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'aura-stream.js'), 'run', stage], { cwd: ROOT, env: { ...process.env, ...env, METRICS_PORT: '0', AURA_FROM_SOURCE: '1' }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  return { exited, kill: (signal) => void child.kill(signal) };
}

