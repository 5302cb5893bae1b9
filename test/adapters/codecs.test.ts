import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topicRecordSubject, topicSubject } from '../../src/adapters/avro-serde.js';
import { CONTEXT_AGGREGATED, CONTEXT_VECTORIZED, createVectorizeCodec } from '../../src/adapters/codecs.js';
import { CONTEXT_ERASED_FULL_NAME, ERASURE_COMPLETED_FULL_NAME, type ContextErased, type ErasureCompleted } from '../../src/contracts/erasure.js';
import { AuraError } from '../../src/errors.js';
import { fixtureSnapshot } from '../support/snapshot-fixture.js';
import { mockSerde } from '../support/topology-driver.js';

// The vectorize codec on the in-memory registry with the real schemas/.

const erasure: ContextErased = {
  erasure_id: '00000000-0000-4000-8000-000000000001',
  user_id: 'u1',
  cause: 'retention',
  requested_at: 1_767_000_000_000,
  before: 1_766_000_000_000,
  trace_id: null,
  event_partition: 2,
  event_offset: 40,
  aggregator_version: '1.0.0',
  requester: 'system:retention',
  reason: 'retention: no accepted event since 2025-12-17T00:00:00.000Z of stream time (STATE_RETENTION_DAYS)',
};

describe('createVectorizeCodec', () => {
  it('registers the aggregated topic\'s two record subjects (TopicRecordNameStrategy) and the outputs\' TopicNameStrategy subjects', async () => {
    const serde = mockSerde();
    await createVectorizeCodec(serde, { input: 'agg', output: 'vec', erased: 'gone' });
    const subjects = (await serde.client.getAllSubjects()).sort();
    assert.deepEqual(subjects, [`agg-${CONTEXT_AGGREGATED}`, `agg-${CONTEXT_ERASED_FULL_NAME}`, 'gone-value', 'vec-value']);
  });

  it('decodes a snapshot and an erasure marker by their writer schema\'s record name', async () => {
    const serde = mockSerde();
    const codec = await createVectorizeCodec(serde, { input: 'agg', output: 'vec', erased: 'gone' });
    const snapshot = fixtureSnapshot('u1', Date.UTC(2026, 0, 5, 12), 1);
    const s = await codec.decodeAggregated(serde.encode(topicRecordSubject('agg', CONTEXT_AGGREGATED), CONTEXT_AGGREGATED, snapshot));
    assert.deepEqual(s, { kind: 'snapshot', snapshot });
    const e = await codec.decodeAggregated(serde.encode(topicRecordSubject('agg', CONTEXT_ERASED_FULL_NAME), CONTEXT_ERASED_FULL_NAME, erasure));
    assert.deepEqual(e, { kind: 'erasure', erasure }, 'every field, `before` and a null trace id included');
  });

  it('refuses any other record type as UNKNOWN_RECORD_TYPE (dead-lettered by the stage)', async () => {
    const serde = mockSerde();
    const codec = await createVectorizeCodec(serde, { input: 'agg', output: 'vec', erased: 'gone' });
    await serde.register(topicSubject('other'), CONTEXT_VECTORIZED);
    const foreign = serde.encode(topicSubject('other'), CONTEXT_VECTORIZED, {
      point_id: '00000000-0000-4000-8000-000000000002', store: 'qdrant', collection: 'c', model_id: 'm', model_version: 'v', dimension: 2, snapshot_id: '00000000-0000-4000-8000-000000000003',
      user_id: 'u1', day: '2026-01-05', window_end: 1, trace_id: null, snapshot_topic: 'agg', snapshot_partition: 0, snapshot_offset: 0, event_partition: 0, event_offset: 0, cache_hit: false,
    });
    await assert.rejects(codec.decodeAggregated(foreign), (err: unknown) => err instanceof AuraError && err.code === 'UNKNOWN_RECORD_TYPE' && /ContextVectorized/.test(err.message));
  });

  it('encodes ErasureCompleted under `<erased>-value`, readable back', async () => {
    const serde = mockSerde();
    const codec = await createVectorizeCodec(serde, { input: 'agg', output: 'vec', erased: 'gone' });
    const done: ErasureCompleted = {
      erasure_id: erasure.erasure_id, user_id: 'u1', cause: 'user_deleted', requested_at: 5, before: null, completed_at: 9, store: 'lancedb', collection: 'c',
      points_deleted: 3, cache_entries_deleted: 2, trace_id: 't', snapshot_topic: 'agg', snapshot_partition: 1, snapshot_offset: 12, requester: 'ops@example', reason: 'TICKET-7',
    };
    const decoded = await serde.decode(codec.encodeErasureCompleted(done));
    assert.equal(decoded.fullName, ERASURE_COMPLETED_FULL_NAME);
    assert.deepEqual(JSON.parse(JSON.stringify(decoded.value)), done);
  });
});
