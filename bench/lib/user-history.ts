import { pointId } from '../../src/contracts/ids.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { toPoint } from '../../src/pipeline/index.js';
import { aggregateBatch, type AggregateInput } from '../../test/oracles/aggregate-batch.js';
import type { VectorPoint } from '../../src/ports.js';
import { generateEvents } from '../../src/workload/index.js';

/**
 * Per-user histories for the reader benchmarks: the seeded workload over `days` days through the
 * aggregate stage's fold (late and duplicate records included), and one point per user per UTC
 * day, the last snapshot of that day, as the vectorize stage stores it.
 */
export const HISTORY_START_MS = Date.parse('2026-01-05T00:00:00.000Z');

export function userHistory(options: { seed: string; users: number; days: number; eventsPerUserDay: number }): ContextAggregated[] {
  return foldedPoints({ seed: options.seed, users: options.users, events: Math.round(options.users * options.days * options.eventsPerUserDay), spanDays: options.days });
}

/**
 * The seeded workload (no poison; the generator's default span unless `spanDays`) through the
 * aggregate stage's fold from HISTORY_START_MS: the last snapshot of each (user, UTC day).
 */
export function foldedPoints(options: { seed: string; users: number; events: number; spanDays?: number }): ContextAggregated[] {
  const inputs: AggregateInput[] = [];
  const { seed, users, events, spanDays } = options;
  for (const r of generateEvents({ seed, users, events, startMs: HISTORY_START_MS, ...(spanDays !== undefined && { spanDays }), poisonFraction: 0 })) {
    if (r.event === undefined) continue;
    inputs.push({ position: { topic: 'bench.user.events', partition: 0, offset: String(r.index), timestamp: r.timestampMs }, key: r.key, event: r.event });
  }
  const windows = new Map<string, UserWindow>();
  const result = aggregateBatch(inputs, (u) => windows.get(u), { windowDays: 7, maxEvents: 512, aggregatorVersion: 'bench' });
  const byPoint = new Map<string, ContextAggregated>();
  for (const { snapshot } of result.snapshots) byPoint.set(pointId(snapshot.user_id, snapshot.window_end), snapshot);
  return [...byPoint.values()];
}

/** The stored point of a snapshot with `vector`, as the vectorize stage builds it. */
export function historyPoint(snapshot: ContextAggregated, vector: Float32Array, model: Parameters<typeof toPoint>[2], offset: number): VectorPoint {
  const id = pointId(snapshot.user_id, snapshot.window_end);
  return toPoint({ record: { topic: 'bench.context.aggregated', partition: 0, offset: String(offset) }, snapshot, pointId: id }, vector, model);
}
