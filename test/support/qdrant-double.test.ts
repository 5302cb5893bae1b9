import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startQdrantDouble, type QdrantDouble } from './qdrant-double.js';

const POINT_ID = '6f1f4a52-8d4e-5b7c-9a3e-2c1d0b9e8f70';

/** Qdrant's envelope: `{ status: 'ok', result, time }` or `{ status: { error }, time }`. */
interface Reply {
  status: number;
  json: { status: string | { error: string }; result?: unknown; time: number };
}

async function call(double: QdrantDouble, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${double.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Reply['json'] };
}

function errorOf(reply: Reply): string {
  assert.equal(typeof reply.json.status, 'object', `expected an error reply, got ${JSON.stringify(reply.json)}`);
  return (reply.json.status as { error: string }).error;
}

function resultOf<T>(reply: Reply): T {
  assert.equal(reply.status, 200, `expected success, got ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply.json.result as T;
}

interface Scored {
  id: string | number;
  score: number;
  payload?: Record<string, unknown>;
}

describe('Qdrant test double', () => {
  let double: QdrantDouble;

  before(async () => {
    double = await startQdrantDouble();
    const created = await call(double, 'PUT', '/collections/c', { vectors: { size: 4, distance: 'Cosine' } });
    assert.equal(created.status, 200, `collection creation failed: ${JSON.stringify(created.json)}`);
  });

  after(async () => {
    assert.deepEqual(double.responseViolations, [], 'every response the double sent validates against the OpenAPI document');
    await double.close();
  });

  it('rejects an upsert whose id is not a UUID and whose vector is a string, naming both problems', async () => {
    const res = await call(double, 'PUT', '/collections/c/points?wait=true', { points: [{ id: 'abc', vector: 'not-a-vector', payload: {} }] });
    assert.equal(res.status, 400);
    const error = errorOf(res);
    assert.match(error, /body\/points\/0\/id must match format "uuid"/, error);
    assert.match(error, /body\/points\/0\/vector must be array/, error);
    assert.equal(typeof res.json.time, 'number', 'Qdrant error shape carries time');
    assert.equal(double.collections.get('c')?.points.size, 0, 'a rejected request stores nothing');
  });

  it('rejects a negative integer id and a fractional id', async () => {
    for (const id of [-1, 1.5]) {
      const res = await call(double, 'PUT', '/collections/c/points', { points: [{ id, vector: [1, 0, 0, 0] }] });
      assert.equal(res.status, 400, `id ${id} must be rejected`);
      assert.match(errorOf(res), /points\/0\/id/);
    }
  });

  it('rejects a vector whose length differs from the collection size', async () => {
    const res = await call(double, 'PUT', '/collections/c/points', { points: [{ id: POINT_ID, vector: [1, 0, 0] }] });
    assert.equal(res.status, 400);
    assert.equal(errorOf(res), 'Wrong input: Vector dimension error: expected dim: 4, got 3');
  });

  it('rejects a body that is not JSON and a query parameter of the wrong type', async () => {
    const bad = await call(double, 'PUT', '/collections/c/points', '{"points": [');
    assert.equal(bad.status, 400);
    assert.match(errorOf(bad), /^Format error in JSON body/);
    const wait = await call(double, 'PUT', '/collections/c/points?wait=maybe', { points: [] });
    assert.equal(wait.status, 400);
    assert.match(errorOf(wait), /query\/wait must be boolean/);
  });

  it('rejects a filter with an unknown clause (Filter has additionalProperties: false)', async () => {
    const res = await call(double, 'POST', '/collections/c/points/count', { filter: { musts: [] } });
    assert.equal(res.status, 400);
    assert.match(errorOf(res), /must NOT have additional properties/);
  });

  it('answers 404 with Qdrant\'s message for an unknown collection', async () => {
    for (const [method, path, body] of [
      ['GET', '/collections/nope', undefined],
      ['PUT', '/collections/nope/points?wait=true', { points: [] }],
      ['POST', '/collections/nope/points/scroll', {}],
    ] as const) {
      const res = await call(double, method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(errorOf(res), 'Not found: Collection `nope` doesn\'t exist!');
    }
  });

  it('answers 409 when a collection is created twice', async () => {
    const res = await call(double, 'PUT', '/collections/c', { vectors: { size: 4, distance: 'Cosine' } });
    assert.equal(res.status, 409);
  });

  it('stores points, reports completed only with wait=true, and honours keyword filters', async () => {
    const acked = await call(double, 'PUT', '/collections/c/points', {
      points: [
        { id: POINT_ID, vector: [2, 0, 0, 0], payload: { user_id: 'u1' } },
        { id: 7, vector: [0, 1, 0, 0], payload: { user_id: 'u2' } },
      ],
    });
    assert.equal(resultOf<{ status: string }>(acked).status, 'acknowledged');
    const done = await call(double, 'PUT', '/collections/c/points?wait=true', { points: [{ id: 8, vector: [1, 1, 0, 0], payload: { user_id: 'u1' } }] });
    assert.equal(resultOf<{ status: string }>(done).status, 'completed');

    assert.deepEqual(double.collections.get('c')?.points.get(`u:${POINT_ID}`)?.vector, [1, 0, 0, 0], 'cosine vectors are stored normalised');

    const q = await call(double, 'POST', '/collections/c/points/query', {
      query: [1, 0, 0, 0],
      filter: { must: [{ key: 'user_id', match: { value: 'u1' } }] },
      with_payload: true,
    });
    const hits = resultOf<{ points: Scored[] }>(q).points;
    assert.deepEqual(hits.map((p) => p.id), [POINT_ID, 8]);
    assert.ok(Math.abs((hits[0]?.score ?? 0) - 1) < 1e-6);
    assert.ok(Math.abs((hits[1]?.score ?? 0) - Math.SQRT1_2) < 1e-6);

    const notU1 = await call(double, 'POST', '/collections/c/points/scroll', { filter: { must_not: [{ key: 'user_id', match: { value: 'u1' } }] } });
    assert.deepEqual(resultOf<{ points: unknown[] }>(notU1).points, [{ id: 7, payload: { user_id: 'u2' } }]);

    const page = resultOf<{ points: Scored[]; next_page_offset: unknown }>(await call(double, 'POST', '/collections/c/points/scroll', { limit: 2 }));
    assert.deepEqual(page.points.map((p) => p.id), [7, 8], 'integer ids sort before UUIDs');
    assert.equal(page.next_page_offset, POINT_ID);
  });

  it('deletes by keyword filter and leaves other points alone', async () => {
    await call(double, 'PUT', '/collections/c/points?wait=true', {
      points: [
        { id: 100, vector: [1, 0, 0, 0], payload: { user_id: 'gone' } },
        { id: 101, vector: [0, 1, 0, 0], payload: { user_id: 'stays' } },
      ],
    });
    const del = await call(double, 'POST', '/collections/c/points/delete?wait=true', { filter: { must: [{ key: 'user_id', match: { value: 'gone' } }] } });
    assert.equal(resultOf<{ status: string }>(del).status, 'completed');
    const count = (filter: unknown) => call(double, 'POST', '/collections/c/points/count', { filter, exact: true });
    assert.equal(resultOf<{ count: number }>(await count({ must: [{ key: 'user_id', match: { value: 'gone' } }] })).count, 0);
    assert.equal(resultOf<{ count: number }>(await count({ must: [{ key: 'user_id', match: { value: 'stays' } }] })).count, 1);
  });

  it('drops connections while unavailable and serves again afterwards', async () => {
    double.setUnavailable(true);
    await assert.rejects(fetch(`${double.url}/`), (err: Error) => err instanceof TypeError);
    double.setUnavailable(true, '503');
    assert.equal((await call(double, 'GET', '/collections/c')).status, 503);
    double.setUnavailable(false);
    assert.equal((await call(double, 'GET', '/')).status, 200);
  });

  it('delays responses on demand', async () => {
    double.setDelayMs(150);
    const t0 = performance.now();
    await call(double, 'GET', '/');
    double.setDelayMs(0);
    assert.ok(performance.now() - t0 >= 140, 'the response waited for the delay');
  });

  it('fails clearly when the OpenAPI document is missing', async () => {
    await assert.rejects(startQdrantDouble({ openApiPath: '/nonexistent/openapi.json' }), /Qdrant OpenAPI document not found at \/nonexistent\/openapi.json/);
  });
});
