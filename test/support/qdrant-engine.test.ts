import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startQdrantEngine, type QdrantEngine } from './qdrant-engine.js';

/**
 * The REST shim over Qdrant's embedded engine (qdrant-engine-shim.py), through its OpenAPI-validating
 * front: the parts the adapters and the reindex rely on beyond what the sink contract covers —
 * aliases, tenant indexes, sparse vectors with IDF, prefetch + fusion, boolean matches, ordering.
 * Expected rankings are computed by hand from the vectors below.
 */

interface Reply {
  status: number;
  result: unknown;
  error?: string;
}

async function call(engine: QdrantEngine, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(engine.url + path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const json = (await res.json()) as { result?: unknown; status?: unknown };
  const error = typeof json.status === 'object' && json.status !== null ? (json.status as { error?: string }).error : undefined;
  return { status: res.status, result: json.result, ...(error !== undefined ? { error } : {}) };
}

async function ok<T>(engine: QdrantEngine, method: string, path: string, body?: unknown): Promise<T> {
  const reply = await call(engine, method, path, body);
  assert.equal(reply.status, 200, `${method} ${path} → ${reply.status}: ${reply.error}`);
  return reply.result as T;
}

interface Scored {
  id: number | string;
  score: number;
  payload?: Record<string, unknown>;
}

const ids = (points: Array<{ id: number | string }>) => points.map((p) => p.id);

describe("Qdrant's engine behind the REST shim", () => {
  let engine: QdrantEngine;

  before(async () => {
    engine = await startQdrantEngine();
    await ok(engine, 'PUT', '/collections/docs', { vectors: { size: 2, distance: 'Cosine' }, sparse_vectors: { text: { modifier: 'idf' } } });
    await ok(engine, 'PUT', '/collections/docs/index?wait=true', { field_name: 'user_id', field_schema: { type: 'keyword', is_tenant: true } });
    await ok(engine, 'PUT', '/collections/docs/index?wait=true', { field_name: 'minutes', field_schema: 'integer' });
    await ok(engine, 'PUT', '/collections/docs/index?wait=true', { field_name: 'variable', field_schema: 'bool' });
    // term 1 is in every point (IDF ≈ 0), term 7 only in point 3 (high IDF).
    const points = [
      { id: 1, vector: { '': [1, 0], text: { indices: [1, 5], values: [1, 1] } }, payload: { user_id: 'a', minutes: 30, variable: true, day: 1 } },
      { id: 2, vector: { '': [0.9, 0.1], text: { indices: [1, 5], values: [1, 1] } }, payload: { user_id: 'a', minutes: 90, variable: false, day: 2 } },
      { id: 3, vector: { '': [0, 1], text: { indices: [1, 7], values: [1, 1] } }, payload: { user_id: 'a', minutes: 10, variable: 1, day: 3 } },
      { id: 4, vector: { '': [1, 0.05], text: { indices: [1, 5], values: [1, 1] } }, payload: { user_id: 'b', minutes: 60, variable: true, day: 1 } },
    ];
    await ok(engine, 'PUT', '/collections/docs/points?wait=true', { points });
  });

  after(async () => {
    assert.deepEqual(engine?.responseViolations, [], 'every response of the engine validated against the OpenAPI document');
    await engine?.close();
  });

  it('reports the collection as created: unnamed dense + sparse with IDF, the tenant index with its parameters', async () => {
    const info = await ok<{ points_count: number; config: { params: Record<string, unknown> }; payload_schema: Record<string, unknown> }>(engine, 'GET', '/collections/docs');
    assert.equal(info.points_count, 4);
    assert.deepEqual(info.config.params.vectors, { size: 2, distance: 'Cosine' });
    assert.deepEqual(info.config.params.sparse_vectors, { text: { modifier: 'idf' } });
    assert.deepEqual(info.payload_schema.user_id, { data_type: 'keyword', points: 4, params: { type: 'keyword', is_tenant: true } });
    assert.deepEqual(info.payload_schema.minutes, { data_type: 'integer', points: 4 });
  });

  it('matches a boolean as a boolean: `true` finds neither the false nor the integer 1', async () => {
    const { count } = await ok<{ count: number }>(engine, 'POST', '/collections/docs/points/count', { filter: { must: [{ key: 'variable', match: { value: true } }] }, exact: true });
    assert.equal(count, 2, 'points 1 and 4 carry `true`; point 3 carries the integer 1');
    const scrolled = await ok<{ points: Scored[] }>(engine, 'POST', '/collections/docs/points/scroll', { filter: { must: [{ key: 'variable', match: { value: false } }] } });
    assert.deepEqual(ids(scrolled.points), [2]);
  });

  it('ranks a sparse query by IDF: a term in every point weighs nothing next to a rare one', async () => {
    const res = await ok<{ points: Scored[] }>(engine, 'POST', '/collections/docs/points/query', { query: { indices: [1, 7], values: [1, 1] }, using: 'text', limit: 4 });
    assert.equal(res.points[0]?.id, 3, `the only point with the rare term first: ${JSON.stringify(res.points)}`);
    assert.ok((res.points[0]?.score ?? 0) > 10 * (res.points[1]?.score ?? 0), `IDF outweighs the common term: ${JSON.stringify(res.points.map((p) => p.score))}`);
  });

  it('fuses a dense and a sparse prefetch by RRF with k, the filter applied inside both', async () => {
    const filter = { must: [{ key: 'user_id', match: { value: 'a' } }] };
    const res = await ok<{ points: Scored[] }>(engine, 'POST', '/collections/docs/points/query', {
      prefetch: [
        { query: [0, 1], limit: 10, filter },
        { query: { indices: [7], values: [1] }, using: 'text', limit: 10, filter },
      ],
      query: { rrf: { k: 60 } },
      limit: 10,
      with_payload: ['user_id'],
    });
    // Qdrant's RRF scores 1/(k + rank) with ranks from 0. Dense ranks 3, 2, 1 (cosine to [0,1]);
    // sparse finds only 3: 3 gets 1/60 + 1/60, 2 gets 1/61, 1 gets 1/62.
    assert.deepEqual(ids(res.points), [3, 2, 1], 'user b is filtered out of both prefetches');
    assert.ok(Math.abs((res.points[0]?.score ?? 0) - 2 / 60) < 1e-6, `RRF score of the top point: ${res.points[0]?.score}`);
    assert.ok(Math.abs((res.points[1]?.score ?? 0) - 1 / 61) < 1e-6, `RRF score of the second point: ${res.points[1]?.score}`);
    assert.deepEqual(res.points[0]?.payload, { user_id: 'a' });

    const dbsf = await ok<{ points: Scored[] }>(engine, 'POST', '/collections/docs/points/query', {
      prefetch: [
        { query: [1, 0], limit: 10 },
        { query: { indices: [5], values: [1] }, using: 'text', limit: 10 },
      ],
      query: { fusion: 'dbsf' },
      limit: 2,
    });
    assert.deepEqual(ids(dbsf.points), [1, 4], 'DBSF: the two points first in dense and present in sparse');
  });

  it('scrolls in the order of a payload field, both directions', async () => {
    const desc = await ok<{ points: Array<Scored & { order_value?: number }> }>(engine, 'POST', '/collections/docs/points/scroll', { order_by: { key: 'minutes', direction: 'desc' }, limit: 3, with_payload: false });
    assert.deepEqual(desc.points.map((p) => [p.id, p.order_value]), [[2, 90], [4, 60], [1, 30]]);
    const asc = await ok<{ points: Scored[] }>(engine, 'POST', '/collections/docs/points/query', { query: { order_by: 'minutes' }, filter: { must: [{ key: 'user_id', match: { value: 'a' } }] }, limit: 2 });
    assert.deepEqual(ids(asc.points), [3, 1]);
  });

  it('resolves an alias everywhere a collection name goes, and swaps it atomically to another collection', async () => {
    await ok(engine, 'PUT', '/collections/docs_v2', { vectors: { size: 2, distance: 'Cosine' } });
    await ok(engine, 'PUT', '/collections/docs_v2/points?wait=true', { points: [{ id: 9, vector: [1, 0], payload: { user_id: 'z' } }] });
    await ok(engine, 'POST', '/collections/aliases', { actions: [{ create_alias: { collection_name: 'docs', alias_name: 'live' } }] });
    assert.equal((await ok<{ count: number }>(engine, 'POST', '/collections/live/points/count', {})).count, 4, 'the alias reads docs');
    assert.deepEqual(await ok(engine, 'GET', '/collections/live/exists'), { exists: true });

    await ok(engine, 'POST', '/collections/aliases', { actions: [{ delete_alias: { alias_name: 'live' } }, { create_alias: { collection_name: 'docs_v2', alias_name: 'live' } }] });
    const hits = await ok<{ points: Scored[] }>(engine, 'POST', '/collections/live/points/query', { query: [1, 0], limit: 5 });
    assert.deepEqual(ids(hits.points), [9], 'after the swap the alias reads docs_v2 only');
    assert.deepEqual(await ok(engine, 'GET', '/aliases'), { aliases: [{ alias_name: 'live', collection_name: 'docs_v2' }] });
    assert.deepEqual(await ok(engine, 'GET', '/collections/docs_v2/aliases'), { aliases: [{ alias_name: 'live', collection_name: 'docs_v2' }] });
    assert.deepEqual(await ok(engine, 'GET', '/collections/docs/aliases'), { aliases: [] });

    await ok(engine, 'POST', '/collections/aliases', { actions: [{ rename_alias: { old_alias_name: 'live', new_alias_name: 'current' } }] });
    assert.deepEqual(await ok(engine, 'GET', '/aliases'), { aliases: [{ alias_name: 'current', collection_name: 'docs_v2' }] });
  });

  it('applies alias actions all or nothing: a failing action leaves every alias as it was', async () => {
    const before = await ok(engine, 'GET', '/aliases');
    const reply = await call(engine, 'POST', '/collections/aliases', {
      actions: [{ delete_alias: { alias_name: 'current' } }, { create_alias: { collection_name: 'missing', alias_name: 'current' } }],
    });
    assert.equal(reply.status, 404, `creating an alias of a missing collection is refused: ${reply.error}`);
    assert.match(reply.error ?? '', /Collection `missing` doesn't exist/);
    assert.deepEqual(await ok(engine, 'GET', '/aliases'), before, 'the delete before it was not applied');
    const clash = await call(engine, 'POST', '/collections/aliases', { actions: [{ create_alias: { collection_name: 'docs_v2', alias_name: 'docs' } }] });
    assert.equal(clash.status, 409, 'an alias cannot shadow a collection');
    assert.equal((await call(engine, 'PUT', '/collections/current', { vectors: { size: 2, distance: 'Cosine' } })).status, 409, 'nor a collection an alias');
  });

  it('drops the aliases of a deleted collection; its name is then unknown (404)', async () => {
    await ok(engine, 'DELETE', '/collections/docs_v2');
    assert.deepEqual(await ok(engine, 'GET', '/aliases'), { aliases: [] });
    const gone = await call(engine, 'POST', '/collections/current/points/count', {});
    assert.equal(gone.status, 404);
    assert.match(gone.error ?? '', /Collection `current` doesn't exist/);
  });

  it("rejects a vector of the wrong size with the engine's own message, and a request outside the document before it reaches the engine", async () => {
    const wrong = await call(engine, 'PUT', '/collections/docs/points?wait=true', { points: [{ id: 5, vector: [1, 0, 0] }] });
    assert.equal(wrong.status, 400);
    assert.match(wrong.error ?? '', /Vector dimension error: expected dim: 2, got 3/);
    const before = engine.requests.length;
    const invalid = await call(engine, 'POST', '/collections/docs/points/count', { exact: 'yes' });
    assert.equal(invalid.status, 400);
    assert.match(invalid.error ?? '', /Format error in JSON body/);
    assert.equal(engine.requests.length, before + 1);
    assert.equal((await ok<{ count: number }>(engine, 'POST', '/collections/docs/points/count', {})).count, 4, 'nothing was written by the rejected upsert');
  });
});
