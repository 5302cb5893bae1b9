import { map, type OperatorFunction } from 'rxjs';
import type { VectorizeCodec, VectorWriter } from '../../ports.js';
import { AuraError } from '../../errors.js';
import type { Encoded, Vectorized } from '../domain/batch-work.js';
import { toErasureCompleted } from './plan-erasures.js';

/**
 * The ErasureCompleted of each applied erasure (batch order, keyed by user, header trace_id when
 * set), after the batch's ContextVectorized records: written together, acknowledged before any
 * offset of the batch is marked done.
 */
export function toErasedRecords(deps: {
  erasedTopic: string;
  codec: Pick<VectorizeCodec, 'encodeErasureCompleted'>;
  sink: Pick<VectorWriter, 'kind' | 'collection'>;
}): OperatorFunction<Vectorized, Encoded> {
  return map((work): Encoded => {
    if (work.erasureOutcomes.length !== work.erasures.length || work.cacheErased.length !== work.erasures.length) {
      throw new AuraError('INTERNAL', `${work.erasures.length} erasures in the batch but ${work.erasureOutcomes.length} confirmed deletes and ${work.cacheErased.length} cache removals`);
    }
    return {
      ...work,
      outputs: [
        ...work.vectorizedRecords,
        ...work.erasures.map((item, i) => ({
          topic: deps.erasedTopic,
          key: item.erasure.user_id,
          value: deps.codec.encodeErasureCompleted(toErasureCompleted(item, work.erasureOutcomes[i]!, work.cacheErased[i]!, deps.sink)),
          ...(item.erasure.trace_id && { headers: { trace_id: item.erasure.trace_id } }),
        })),
      ],
    };
  });
}
