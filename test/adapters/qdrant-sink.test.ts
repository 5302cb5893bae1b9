import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { PAYLOAD_INDEXES, QdrantSink, UPSERT_CHUNK } from '../../src/adapters/qdrant-sink.js';
import { STORE_TIMEOUT_MS } from '../support/compiled-options.js';
import { encodeDocument, encodeQuery, SPARSE_VECTOR_NAME } from '../../src/adapters/sparse-text.js';
import { AuraError } from '../../src/errors.js';
import { DIM, point, unit } from '../support/sink-points.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import { vectorSinkContract } from '../support/vector-sink-contract.js';


async function expectAuraError(promise: Promise<unknown>, code: AuraError['code'], retriable: boolean, pattern?: RegExp): Promise<AuraError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AuraError, `expected an AuraError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `wrong code; message: ${caught.message}`);
  assert.equal(caught.retriable, retriable, `retriable flag of ${code}`);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

/** A REST call through the validating front, for what the sink has no method for. */
async function rest<T>(engine: QdrantEngine, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(engine.url + path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const json = (await res.json()) as { result: T; status: unknown };
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json.result;
}

interface CollectionInfo {
  config: { params: { vectors: { size: number; distance: string }; sparse_vectors?: Record<string, unknown> } };
  payload_schema: Record<string, { data_type: string }>;
}

// Qdrant's own engine (qdrant-edge-py behind test/support/qdrant-engine-shim.py), one per file,
// a collection per test; its OpenAPI-validating front also injects the faults.
describe('QdrantSink against Qdrant\'s engine', () => {
  let double: QdrantEngine;
  let sink: QdrantSink;
  let n = 0;

  before(async () => {
    double = await startQdrantEngine();
  });
  after(async () => {
    await double?.close();
  });

  beforeEach(() => {
    double.requests.length = 0;
    double.setUnavailable(false);
    double.setDelayMs(0);
    n += 1;
    sink = new QdrantSink({ url: double.url, collection: `aura_test_${n}`, timeoutMs: 10_000 });
  });

  afterEach(async () => {
    await sink.close();
    assert.deepEqual(double.responseViolations, [], 'every response validated against the OpenAPI document');
  });

  it('creates the collection with the model dimension and Cosine, plus every payload index', async () => {
    await sink.ensureCollection(DIM);
    const c = await rest<CollectionInfo>(double, 'GET', `/collections/${sink.collection}`);
    assert.deepEqual(c.config.params.vectors, { size: DIM, distance: 'Cosine' }, 'the engine holds the collection with the model dimension');
    assert.deepEqual(c.config.params.sparse_vectors, { [SPARSE_VECTOR_NAME]: { modifier: 'idf' } }, 'and the sparse vector of the words, with IDF');
    const indexed = Object.fromEntries(Object.entries(c.payload_schema).map(([field, info]) => [field, info.data_type]));
    assert.deepEqual(indexed, Object.fromEntries(PAYLOAD_INDEXES.map((i) => [i.field, i.type])), 'the engine reports every payload index with its type');
    for (const f of ['user_id', 'day', 'window_end', 'mood_mean', 'mood_trend_per_day', 'active_days']) assert.ok(f in indexed, `${f} is indexed`);

    const create = double.requests.find((r) => r.operationId === 'create_collection');
    assert.deepEqual(create?.body, { vectors: { size: DIM, distance: 'Cosine' }, sparse_vectors: { [SPARSE_VECTOR_NAME]: { modifier: 'idf' } } });
    const indexes = double.requests.filter((r) => r.operationId === 'create_field_index');
    assert.deepEqual(
      indexes.map((r) => [r.body, r.query.wait]),
      PAYLOAD_INDEXES.map((i) => [{ field_name: i.field, field_schema: i.type }, 'true']),
    );
    assert.ok(!double.requests.some((r) => r.path === '/' ), 'no version-check request (checkCompatibility: false)');

    const before = double.requests.length;
    await sink.ensureCollection(DIM);
    assert.deepEqual(
      double.requests.slice(before).map((r) => r.operationId),
      ['get_collection'],
      'a second bootstrap only reads the collection',
    );
  });

  it('recreates a missing payload index on an existing collection', async () => {
    await sink.ensureCollection(DIM);
    await rest(double, 'DELETE', `/collections/${sink.collection}/index/day?wait=true`);
    assert.equal((await rest<CollectionInfo>(double, 'GET', `/collections/${sink.collection}`)).payload_schema.day, undefined, 'the index is gone');
    await sink.ensureCollection(DIM);
    assert.equal((await rest<CollectionInfo>(double, 'GET', `/collections/${sink.collection}`)).payload_schema.day?.data_type, 'keyword');
  });

  it('rejects an existing collection of another size with a CONFIG error naming both sizes and the fix', async () => {
    await sink.ensureCollection(DIM);
    const other = new QdrantSink({ url: double.url, collection: sink.collection, timeoutMs: 10_000 });
    const err = await expectAuraError(other.ensureCollection(8), 'CONFIG', false);
    assert.match(err.message, new RegExp(`"${sink.collection}"`));
    assert.match(err.message, /size 4/);
    assert.match(err.message, /produces 8/);
    assert.match(err.message, /Fix: /);
  });

  it(`sends at most ${UPSERT_CHUNK} points per request`, async () => {
    await sink.ensureCollection(DIM);
    const points = Array.from({ length: 300 }, (_, i) => point(`user-${i}`, '2025-03-01', unit(1, i + 1, 0, 0)));
    await sink.upsert(points);
    const sizes = double.requests
      .filter((r) => r.operationId === 'upsert_points')
      .map((r) => (r.body as { points: unknown[] }).points.length);
    assert.deepEqual(sizes, [256, 44]);
    assert.equal(await sink.count(), 300);
    const scrolled = await sink.scroll();
    assert.equal(scrolled.length, 300, 'scroll pages through everything');
    assert.deepEqual(scrolled.map((p) => p.id), points.map((p) => p.id).sort(), 'scroll is ordered by id');
  });

  it('sends the user and since filters as one Qdrant filter on indexed fields', async () => {
    await sink.ensureCollection(DIM);
    await sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0))]);
    await sink.search(unit(1, 0, 0, 0), { userId: 'u1', sinceMs: 1_740_000_000_000, limit: 3 });
    const sent = double.requests.filter((r) => r.operationId === 'query_points').at(-1);
    assert.deepEqual((sent?.body as { filter: unknown }).filter, { must: [{ key: 'user_id', match: { value: 'u1' } }, { key: 'window_end', range: { gte: 1_740_000_000_000 } }] });
    await sink.search(unit(1, 0, 0, 0), { limit: 3 });
    assert.equal((double.requests.filter((r) => r.operationId === 'query_points').at(-1)?.body as { filter?: unknown }).filter, undefined, 'no filter without conditions');
  });
  it('writes the sparse vector of each text beside the dense one, and sends a hybrid search as two filtered prefetches fused by RRF', async () => {
    await sink.ensureCollection(DIM);
    const p = point('u1', '2025-03-01', unit(1, 0, 0, 0), 'Often mentions yoga; stretching most days.');
    await sink.upsert([p]);
    const upsert = double.requests.filter((r) => r.operationId === 'upsert_points').at(-1)?.body as { points: Array<{ vector: unknown }> };
    assert.deepEqual(upsert.points[0]?.vector, { '': Array.from(p.vector), [SPARSE_VECTOR_NAME]: encodeDocument(p.payload.text) });

    const hits = await sink.search(unit(1, 0, 0, 0), { mode: 'hybrid', text: 'yoga', userId: 'u1', sinceMs: 1_740_000_000_000, limit: 3 });
    assert.deepEqual(hits.map((h) => h.id), [p.id]);
    const sent = double.requests.filter((r) => r.operationId === 'query_points').at(-1)?.body;
    const filter = { must: [{ key: 'user_id', match: { value: 'u1' } }, { key: 'window_end', range: { gte: 1_740_000_000_000 } }] };
    assert.deepEqual(sent, {
      prefetch: [
        { query: [1, 0, 0, 0], filter, limit: 40 },
        { query: encodeQuery('yoga'), using: SPARSE_VECTOR_NAME, filter, limit: 40 },
      ],
      query: { rrf: { k: 60 } },
      limit: 3,
      with_payload: true,
      with_vector: false,
    }, 'the filter inside both prefetches');
    const stored = await sink.scroll();
    assert.deepEqual(stored.map((x) => Array.from(x.vector ?? [])), [[1, 0, 0, 0]], 'scroll reads the dense vector out of the vector map');
  });

  it('keeps writing a collection made before hybrid retrieval (no sparse vector) dense only, and refuses words searches there with the fix', async () => {
    const old = `aura_old_${n}`;
    const created = await fetch(`${double.url}/collections/${old}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vectors: { size: DIM, distance: 'Cosine' } }) });
    assert.equal(created.status, 200);
    const legacy = new QdrantSink({ url: double.url, collection: old, timeoutMs: 10_000 });
    await legacy.ensureCollection(DIM);
    const p = point('u1', '2025-03-01', unit(1, 0, 0, 0), 'yoga');
    await legacy.upsert([p]);
    const upsert = double.requests.filter((r) => r.operationId === 'upsert_points').at(-1)?.body as { points: Array<{ vector: unknown }> };
    assert.deepEqual(upsert.points[0]?.vector, [1, 0, 0, 0], 'dense only');
    assert.deepEqual((await legacy.search(unit(1, 0, 0, 0), { limit: 1 })).map((h) => h.id), [p.id], 'dense search as before');
    await expectAuraError(legacy.search(unit(1, 0, 0, 0), { mode: 'hybrid', text: 'yoga', limit: 1 }), 'CONFIG', false, /no sparse vector "text_bm25".*RETRIEVAL_MODE=dense.*reindex/);
    // A sink that never ran ensureCollection (the CLI) learns it from the collection on first upsert.
    const fresh = new QdrantSink({ url: double.url, collection: old, timeoutMs: 10_000 });
    await fresh.upsert([p]);
    assert.equal(await fresh.count(), 1);
  });

  it('reports an unreachable Qdrant as a retriable STORE_UNAVAILABLE and recovers when it is back', async () => {
    await sink.ensureCollection(DIM);
    const p = point('u1', '2025-03-01', unit(1, 0, 0, 0));
    double.setUnavailable(true);
    await expectAuraError(sink.upsert([p]), 'STORE_UNAVAILABLE', true, /cannot reach Qdrant/);
    await expectAuraError(sink.ping(), 'STORE_UNAVAILABLE', true);
    double.setUnavailable(true, '503');
    await expectAuraError(sink.upsert([p]), 'STORE_UNAVAILABLE', true, /HTTP 503/);
    double.setUnavailable(false);
    await sink.upsert([p]);
    await sink.ping();
    assert.deepEqual((await sink.scroll()).map((x) => x.id), [p.id]);
  });

  it('reports a slow Qdrant as a retriable TIMEOUT', async () => {
    // Generous margins: the recovery below makes one request per payload index, each of which must
    // answer within the timeout on a loaded machine.
    const impatient = new QdrantSink({ url: double.url, collection: sink.collection, timeoutMs: 1000 });
    double.setDelayMs(3000);
    await expectAuraError(impatient.ensureCollection(DIM), 'TIMEOUT', true, /timed out after 1000 ms/);
    double.setDelayMs(0);
    await impatient.ensureCollection(DIM);
  });

  it('reports a rejected request as non-retriable, with Qdrant\'s message', async () => {
    await expectAuraError(sink.search(unit(1, 0, 0, 0), { limit: 1 }), 'CONFIG', false, /Collection `aura_test_\d+` doesn't exist/);
    await sink.ensureCollection(DIM);
    const wrong = { ...point('u1', '2025-03-01', unit(1, 0, 0, 0)), vector: Float32Array.from([1, 0, 0]) };
    await expectAuraError(sink.upsert([wrong]), 'INTERNAL', false, /HTTP 400: Wrong input: Vector dimension error: expected dim: 4, got 3/);
  });

  it('sends the API key and maps a refused key to AUTH', async () => {
    const secured = await startQdrantEngine({ apiKey: 'secret' });
    const warn = console.warn;
    console.warn = () => {}; // the client warns about an API key over plain http
    try {
      const good = new QdrantSink({ url: secured.url, apiKey: 'secret', collection: 'c', timeoutMs: 10_000 });
      await good.ensureCollection(DIM);
      const bad = new QdrantSink({ url: secured.url, apiKey: 'wrong', collection: 'c', timeoutMs: 10_000 });
      await expectAuraError(bad.count(), 'AUTH', false, /QDRANT_API_KEY/);
      assert.deepEqual(secured.responseViolations, []);
    } finally {
      console.warn = warn;
      await secured.close();
    }
  });

  it('erases a user with an exact count, then a delete by the same filter with wait=true (both accepted by the OpenAPI document)', async () => {
    await sink.ensureCollection(DIM);
    await sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0)), point('u1', '2025-03-05', unit(0, 1, 0, 0))]);
    const before = double.requests.length;
    const cutoff = Date.parse('2025-03-03T00:00:00Z');
    assert.equal(await sink.deleteUser('u1', cutoff), 1);
    const sent = double.requests.slice(before);
    assert.deepEqual(sent.map((r) => [r.operationId, r.status]), [['count_points', 200], ['delete_points', 200]], 'count first, then delete; both accepted');
    const filter = { must: [{ key: 'user_id', match: { value: 'u1' } }, { key: 'window_end', range: { lt: cutoff } }] };
    assert.deepEqual(sent[0]!.body, { filter, exact: true }, 'an exact count of the erasure filter');
    assert.deepEqual(sent[1]!.body, { filter }, 'a delete by the same filter');
    assert.equal(sent[1]!.query.wait, 'true', 'confirmed before it returns');
    assert.deepEqual((await sink.scroll({ userId: 'u1' })).map((p) => p.payload.day), ['2025-03-05']);
  });

  it('sends requests under the path of QDRANT_URL (reverse-proxy prefix)', async () => {
    const proxied = await startQdrantEngine({ prefix: '/qdrant' });
    try {
      const behindProxy = new QdrantSink({ url: `${proxied.url}/qdrant/`, collection: 'c', timeoutMs: 10_000 });
      await behindProxy.ensureCollection(DIM);
      await behindProxy.ping();
      assert.equal((await (await fetch(`${proxied.engineUrl}/collections/c/exists`)).json() as { result: { exists: boolean } }).result.exists, true, 'the engine holds the collection');
      assert.ok(proxied.requests.every((r) => r.operationId !== undefined), `every request routed: ${proxied.requests.map((r) => r.path).join(', ')}`);
    } finally {
      await proxied.close();
    }
  });

  it('makes the port explicit in location (:6333 when the URL has none) and keeps an explicit default port', () => {
    assert.equal(new QdrantSink({ url: 'http://qdrant.local', collection: 'c', timeoutMs: STORE_TIMEOUT_MS }).location, 'http://qdrant.local:6333');
    assert.equal(new QdrantSink({ url: 'https://q.example:443/base/', collection: 'c', timeoutMs: STORE_TIMEOUT_MS }).location, 'https://q.example:443/base', 'an explicit default port is kept');
    assert.equal(new QdrantSink({ url: 'http://[::1]:80', collection: 'c', timeoutMs: STORE_TIMEOUT_MS }).location, 'http://[::1]:80');
    assert.throws(() => new QdrantSink({ url: 'qdrant:6333', collection: 'c', timeoutMs: STORE_TIMEOUT_MS }), (err: unknown) => err instanceof AuraError && err.code === 'CONFIG');
  });
});

let contractEngine: QdrantEngine | undefined;
let contractCollections = 0;
after(async () => {
  await contractEngine?.close();
});
vectorSinkContract('QdrantSink on Qdrant\'s engine', async () => {
  contractEngine ??= await startQdrantEngine();
  const engine = contractEngine;
  contractCollections += 1;
  const collection = `aura_contract_${contractCollections}`;
  const open = () => new QdrantSink({ url: engine.url, collection, timeoutMs: 5000 });
  return {
    sink: open(),
    reopen: open,
    cleanup: async () => {
      assert.deepEqual(engine.responseViolations, [], 'every response validated against the OpenAPI document');
      const res = await fetch(`${engine.url}/collections/${collection}`, { method: 'DELETE' });
      assert.equal(res.status, 200, `dropping the contract collection: ${await res.text()}`);
    },
  };
});
