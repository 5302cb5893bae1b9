// Helpers for the vectorize integration tests and bench on the real local stack. Not a test file.
// Builds on stack-env.ts (topics, child processes, reading topics) without changing it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { AvroSerde } from '../../src/adapters/avro-serde.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { PointPayload } from '../../src/ports.js';
import { MODELS } from '../../src/stack/model.js';
import { pointOracle } from '../oracles/point-oracle.js';
import type { QdrantServer } from './qdrant-double.js';
import { decodeSnapshots, type SnapshotRecord } from './snapshots.js';
import { ROOT, readTopic, waitFor, type TestNames } from './stack-env.js';

/**
 * MiniLM's folder from the local stack (`aura-stream stack up` lays out every model), pinned
 * rather than the default model: these tests are about Kafka, offsets, stores and erasure, not
 * retrieval quality, they embed hundreds of texts, and MiniLM takes ~0.6× bge-small's time per
 * text. The default model's own path is covered by the retrieval, embedder, serve and reindex tests.
 * Both have 384 dimensions.
 */
export const MODEL_PATH = join(process.env.AURA_STACK_DIR ? resolve(process.env.AURA_STACK_DIR) : join(ROOT, '.cache', 'stack'), 'models', MODELS.minilm.id);
export const DIMENSION = 384;

/** Fails (never skips) when the model folder is missing. */
export function requireModel(): string {
  if (!existsSync(join(MODEL_PATH, 'onnx', 'model_quantized.onnx'))) {
    throw new Error(`embedding model not found in ${MODEL_PATH}: run \`aura-stream stack up\` (it lays out every model under AURA_STACK_DIR/models), or set AURA_STACK_DIR to the stack that did`);
  }
  return MODEL_PATH;
}

export const vectorizeGroupOf = (names: Pick<TestNames, 'applicationId'>) => `${names.applicationId}-vectorize`;

/** Every snapshot on the aggregated topic (read_committed), decoded, in partition then offset order. */
export async function readSnapshots(kafka: Kafka, serde: AvroSerde, topic: string): Promise<SnapshotRecord[]> {
  return decodeSnapshots(serde, await readTopic(kafka, topic, { readCommitted: true }));
}

export interface OraclePoint {
  snapshot: ContextAggregated;
  partition: number;
  offset: number;
}

/** pointOracle over the snapshot records, per partition (a user's snapshots share one partition). */
export function pointsOracle(snapshots: readonly SnapshotRecord[]): Map<string, OraclePoint> {
  const out = new Map<string, OraclePoint>();
  const partitions = [...new Set(snapshots.map((s) => s.partition))];
  for (const p of partitions) {
    const rows = snapshots.filter((s) => s.partition === p).map((s) => ({ snapshot: s.snapshot, offset: Number(s.offset) }));
    const offsetOf = new Map(rows.map((r) => [r.snapshot, r.offset]));
    for (const [id, snapshot] of pointOracle(rows)) {
      assert.ok(!out.has(id), `point ${id} has snapshots in two partitions`);
      out.set(id, { snapshot, partition: p, offset: offsetOf.get(snapshot)! });
    }
  }
  return out;
}

/** Per partition, the offset after the last record (what a group that consumed everything has committed). */
export function endsOf(snapshots: readonly SnapshotRecord[]): Map<number, bigint> {
  const ends = new Map<number, bigint>();
  for (const s of snapshots) {
    const next = BigInt(s.offset) + 1n;
    if (next > (ends.get(s.partition) ?? 0n)) ends.set(s.partition, next);
  }
  return ends;
}

/** The group's committed offsets on `topic`, per partition (-1 = none). */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Waits until `groupId` has committed, on every partition, at least the end of the snapshots read. */
export async function waitCommittedThrough(kafka: Kafka, groupId: string, topic: string, ends: Map<number, bigint>, timeoutMs: number, onPoll?: () => Promise<void>): Promise<void> {
  await waitFor(
    `group ${groupId} to commit ${topic} through ${JSON.stringify(Object.fromEntries([...ends].map(([p, o]) => [p, o.toString()])))}`,
    async () => {
      await onPoll?.();
      const committed = await committedOffsets(kafka, groupId, topic);
      return [...ends].every(([p, end]) => (committed.get(p) ?? -1n) >= end);
    },
    { timeoutMs, intervalMs: 500 },
  );
}

export interface StoredPoint {
  id: string;
  payload: PointPayload;
  vector?: Float32Array;
}

/** Asserts the store holds exactly the oracle's points, each with its last snapshot of the day. */
export function assertPointsEqualOracle(points: readonly StoredPoint[], oracle: Map<string, OraclePoint>, where: string): void {
  const ids = points.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, `${where}: no point id stored twice`);
  const missing = [...oracle.keys()].filter((id) => !ids.includes(id));
  const extra = ids.filter((id) => !oracle.has(id));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${where}: the stored point ids are exactly the oracle's (${oracle.size})`);
  for (const p of points) {
    const want = oracle.get(p.id)!;
    assert.equal(p.payload.snapshot_id, want.snapshot.snapshot_id, `${where}: point ${p.id} (${want.snapshot.user_id}, ${p.payload.day}) carries the last snapshot of that day`);
    assert.equal(p.payload.text, want.snapshot.text, `${where}: point ${p.id} carries that snapshot's text`);
    assert.equal(p.payload.user_id, want.snapshot.user_id, `${where}: point ${p.id} user`);
    assert.equal(p.payload.window_end, want.snapshot.window_end, `${where}: point ${p.id} window_end`);
    assert.equal(p.payload.snapshot_partition, want.partition, `${where}: point ${p.id} names the snapshot's partition`);
    assert.equal(p.payload.snapshot_offset, want.offset, `${where}: point ${p.id} names the snapshot's offset`);
  }
}

/** Asserts every vector is finite, `dimension`-long and of unit L2 norm. */
export function assertUnitVectors(points: readonly StoredPoint[], where: string, dimension = DIMENSION): void {
  for (const p of points) {
    assert.ok(p.vector, `${where}: point ${p.id} has its vector`);
    assert.equal(p.vector.length, dimension, `${where}: point ${p.id} is ${dimension}-d`);
    assert.ok(p.vector.every(Number.isFinite), `${where}: point ${p.id} has finite values`);
    const norm = Math.hypot(...p.vector);
    assert.ok(Math.abs(norm - 1) < 1e-3, `${where}: point ${p.id} has unit norm (got ${norm})`);
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'vectors of equal length');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Upserts Qdrant accepted (status 200 on points upsert). */
export function upsertsOf(double: QdrantServer): number {
  return double.requests.filter((r) => r.operationId === 'upsert_points' && r.status === 200).length;
}

/** Asserts the validating front saw no request its OpenAPI document rejects and built no invalid response. */
export function assertDoubleClean(double: QdrantServer, where: string): void {
  const invalid = double.requests.filter((r) => r.status === 400 || r.status === 422 || r.status === 501 || r.status === 500 || r.operationId === undefined);
  assert.deepEqual(
    invalid.map((r) => `${r.method} ${r.path} → ${r.status}`),
    [],
    `${where}: every request to Qdrant matched a route and validated against the OpenAPI document`,
  );
  assert.deepEqual(double.responseViolations, [], `${where}: every response of the double validated`);
}
