import { map, type OperatorFunction } from 'rxjs';
import { utcDay } from '../../contracts/ids.js';
import type { ContextVectorized } from '../../contracts/snapshot.js';
import type { Embedder, VectorizeCodec, VectorWriter } from '../../ports.js';
import type { SnapshotItem, Stored, Vectorized } from '../domain/batch-work.js';


/** The ContextVectorized records of the stored points (never the vector), keyed by user. */
export function toVectorizedRecords(deps: {
  outputTopic: string;
  codec: Pick<VectorizeCodec, 'encodeVectorized'>;
  embedder: Pick<Embedder, 'modelId' | 'modelVersion' | 'dimension'>;
  sink: Pick<VectorWriter, 'kind' | 'collection'>;
}): OperatorFunction<Stored, Vectorized> {
  return map((work): Vectorized => ({
    ...work,
    vectorizedRecords: work.kept.map((item, i) => ({
      topic: deps.outputTopic,
      key: item.snapshot.user_id,
      value: deps.codec.encodeVectorized(toVectorized(item, work.cacheHit[i]!, deps.embedder, deps.sink)),
      ...(item.snapshot.trace_id && { headers: { trace_id: item.snapshot.trace_id } }),
    })),
  }));
}

/** The ContextVectorized of a stored point: where it went, with which model, from which records. */
export function toVectorized(
  item: SnapshotItem,
  cacheHit: boolean,
  embedder: Pick<Embedder, 'modelId' | 'modelVersion' | 'dimension'>,
  sink: Pick<VectorWriter, 'kind' | 'collection'>,
): ContextVectorized {
  const s = item.snapshot;
  return {
    point_id: item.pointId,
    store: sink.kind,
    collection: sink.collection,
    model_id: embedder.modelId,
    model_version: embedder.modelVersion,
    dimension: embedder.dimension,
    snapshot_id: s.snapshot_id,
    user_id: s.user_id,
    day: utcDay(s.window_end),
    window_end: s.window_end,
    trace_id: s.trace_id,
    snapshot_topic: item.record.topic,
    snapshot_partition: item.record.partition,
    snapshot_offset: Number(item.record.offset),
    event_partition: s.source_partition,
    event_offset: s.source_offset,
    cache_hit: cacheHit,
  };
}
