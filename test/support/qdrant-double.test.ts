import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startQdrantDouble, type QdrantDouble } from './qdrant-double.js';

const POINT_ID = '6f1f4a52-8d4e-5b7c-9a3e-2c1d0b9e8f70';

async function call(double: QdrantDouble, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${double.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
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
    const error: string = res.json.status.error;
    assert.match(error, /body\/points\/0\/id must match format "uuid"/, error);
    assert.match(error, /body\/points\/0\/vector must be array/, error);
    assert.equal(typeof res.json.time, 'number', 'Qdrant error shape carries time');
    assert.equal(double.collections.get('c')?.points.size, 0, 'a rejected request stores nothing');
  });

  it('rejects a negative integer id and a fractional id', async () => {
    for (const id of [-1, 1.5]) {
      const res = await call(double, 'PUT', '/collections/c/points', { points: [{ id, vector: [1, 0, 0, 0] }] });
      assert.equal(res.status, 400, `id ${id} must be rejected`);
      assert.match(res.json.status.error, /points\/0\/id/);
    }
  });

  it('rejects a vector whose length differs from the collection size', async () => {
    const res = await call(double, 'PUT', '/collections/c/points', { points: [{ id: POINT_ID, vector: [1, 0, 0] }] });
    assert.equal(res.status, 400);
    assert.equal(res.json.status.error, 'Wrong input: Vector dimension error: expected dim: 4, got 3');
  });

  it('rejects a body that is not JSON and a query parameter of the wrong type', async () => {
    const bad = await call(double, 'PUT', '/collections/c/points', '{"points": [');
    assert.equal(bad.status, 400);
    assert.match(bad.json.status.error, /^Format error in JSON body/);
    const wait = await call(double, 'PUT', '/collections/c/points?wait=maybe', { points: [] });
    assert.equal(wait.status, 400);
    assert.match(wait.json.status.error, /query\/wait must be boolean/);
  });

  it('rejects a filter with an unknown clause (Filter has additionalProperties: false)', async () => {
    const res = await call(double, 'POST', '/collections/c/points/count', { filter: { musts: [] } });
    assert.equal(res.status, 400);
    assert.match(res.json.status.error, /must NOT have additional properties/);
  });

  it('answers 404 with Qdrant\'s message for an unknown collection', async () => {
    for (const [method, path, body] of [
      ['GET', '/collections/nope', undefined],
      ['PUT', '/collections/nope/points?wait=true', { points: [] }],
      ['POST', '/collections/nope/points/scroll', {}],
    ] as const) {
      const res = await call(double, method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.json.status.error, 'Not found: Collection `nope` doesn\'t exist!');
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
    assert.equal(acked.status, 200);
    assert.equal(acked.json.result.status, 'acknowledged');
    const done = await call(double, 'PUT', '/collections/c/points?wait=true', { points: [{ id: 8, vector: [1, 1, 0, 0], payload: { user_id: 'u1' } }] });
    assert.equal(done.json.result.status, 'completed');

    assert.deepEqual(double.collections.get('c')?.points.get(`u:${POINT_ID}`)?.vector, [1, 0, 0, 0], 'cosine vectors are stored normalised');

    const q = await call(double, 'POST', '/collections/c/points/query', {
      query: [1, 0, 0, 0],
      filter: { must: [{ key: 'user_id', match: { value: 'u1' } }] },
      with_payload: true,
    });
    assert.equal(q.status, 200);
    assert.deepEqual(
      q.json.result.points.map((p: { id: unknown }) => p.id),
      [POINT_ID, 8],
    );
    assert.ok(Math.abs(q.json.result.points[0].score - 1) < 1e-6);
    assert.ok(Math.abs(q.json.result.points[1].score - Math.SQRT1_2) < 1e-6);

    const notU1 = await call(double, 'POST', '/collections/c/points/scroll', { filter: { must_not: [{ key: 'user_id', match: { value: 'u1' } }] } });
    assert.deepEqual(notU1.json.result.points, [{ id: 7, payload: { user_id: 'u2' } }]);

    const page = await call(double, 'POST', '/collections/c/points/scroll', { limit: 2 });
    assert.deepEqual(page.json.result.points.map((p: { id: unknown }) => p.id), [7, 8], 'integer ids sort before UUIDs');
    assert.equal(page.json.result.next_page_offset, POINT_ID);
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
