import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { createTransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { createVectorStore, indexVersionOf, openWriterIndex } from '../../src/cli/index-versions.js';
import { startServe } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { pointId } from '../../src/contracts/ids.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { createLogger } from '../../src/logger.js';
import type { FieldCondition, PointPayload, VectorSink } from '../../src/ports.js';
import { fieldValue } from '../../src/query/index.js';
import { holds } from '../support/fakes/vector-sink.js';
import { toPoint } from '../../src/pipeline/index.js';
import { aggregateBatch, type AggregateInput } from '../oracles/aggregate-batch.js';
import { generateEvents } from '../../src/workload/index.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import { ROOT } from '../support/stack-env.js';

/**
 * `aura-stream serve` end to end on the real model: an index of three users' real histories
 * (workload → aggregate fold → text → real embeddings → store), the service started as the CLI
 * starts it, and every response checked against docs/openapi/serve.json. Once per store: the
 * embedded LanceDB and Qdrant's own engine (qdrant-edge behind the OpenAPI-validating shim).
 */

const ALL = 'all-users-token-0123456789';
const BOUND = 'user-one-token-0123456789';
const MODEL = process.env['EMBEDDING_MODEL_PATH'];

/** Last snapshot of each (user, UTC day) of a seeded history through the real fold. */
function history(): ContextAggregated[] {
  const inputs: AggregateInput[] = [];
  for (const r of generateEvents({ seed: 'serve-test', users: 3, events: 3 * 12 * 3, startMs: Date.parse('2026-02-02T00:00:00Z'), spanDays: 12, poisonFraction: 0 })) {
    if (r.event) inputs.push({ position: { topic: 't', partition: 0, offset: String(r.index), timestamp: r.timestampMs }, key: r.key, event: r.event });
  }
  const windows = new Map<string, UserWindow>();
  const byPoint = new Map<string, ContextAggregated>();
  for (const { snapshot } of aggregateBatch(inputs, (u) => windows.get(u), { windowDays: 7, maxEvents: 512, aggregatorVersion: 'test' }).snapshots) {
    byPoint.set(pointId(snapshot.user_id, snapshot.window_end), snapshot);
  }
  return [...byPoint.values()];
}

/** Validators of the committed OpenAPI document's response schemas. */
function responseValidators(): (schema: string, body: unknown) => void {
  const doc = JSON.parse(readFileSync(join(ROOT, 'docs/openapi/serve.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema({ ...doc, $id: 'serve' });
  const cache = new Map<string, ValidateFunction>();
  return (schema, body) => {
    const v = cache.get(schema) ?? ajv.getSchema(`serve#/components/schemas/${schema}`)!;
    cache.set(schema, v);
    assert.ok(v(body), `response does not match ${schema} of docs/openapi/serve.json: ${ajv.errorsText(v.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
  };
}

for (const store of ['lancedb', 'qdrant'] as const) {
  describe(`serve on ${store}: the readers' query service with the real model`, { timeout: 240_000 }, () => {
    const snapshots = history();
    const users = [...new Set(snapshots.map((s) => s.user_id))].sort();
    const [u1, u2] = users as [string, string];
    const check = responseValidators();
    let dir: string;
    let double: QdrantEngine | undefined;
    let served: { port: number; close(): Promise<void> };
    let sink: VectorSink;
    let version: { collection: string; model_id: string; model_version: string; text_version: number };
    let stored: PointPayload[];
    let base: string;

    before(async () => {
      assert.ok(MODEL, 'EMBEDDING_MODEL_PATH is set (run `npm test`, or `aura-stream stack up` and export the EMBEDDING_MODEL_PATH it prints)');
      dir = mkdtempSync(join(tmpdir(), 'aura-serve-'));
      const env: Record<string, string> = {
        STATE_DIR: dir,
        VECTOR_COLLECTION: 'serve_test',
        EMBEDDING_MODEL_PATH: MODEL,
        SEARCH_TOKENS: `${ALL}:*,${BOUND}:${u1}`,
        SERVE_HOST: '127.0.0.1',
        SERVE_PORT: '0',
        LOG_LEVEL: 'warn',
      };
      if (store === 'qdrant') {
        double = await startQdrantEngine();
        env['QDRANT_URL'] = double.url;
      }
      const config = loadConfig(env);
      // As the vectorize stage writes: the model's version collection, the alias pointing at it.
      const catalog = createVectorStore(config);
      const embedder = await createTransformersEmbedder({ modelPath: MODEL, threads: 1 });
      try {
        const writer = await openWriterIndex(catalog, indexVersionOf(embedder), embedder.dimension);
        sink = writer.sink;
        version = { ...writer.version, collection: writer.sink.collection };
        const vectors = await embedder.embed(snapshots.map((s) => s.text));
        await sink.upsert(snapshots.map((s, i) => toPoint({ record: { topic: 't', partition: 0, offset: String(i) }, snapshot: s, pointId: pointId(s.user_id, s.window_end) }, vectors[i]!, embedder)));
      } finally {
        await embedder.close();
        await catalog.close();
      }
      stored = (await sink.scroll()).map((p) => p.payload);
      served = await startServe({ config, logger: createLogger('warn') });
      base = `http://127.0.0.1:${served.port}`;
    });

    after(async () => {
      await served?.close();
      await sink?.close();
      await double?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** `token` null: no Authorization header. */
    const post = async (body: unknown, token: string | null = ALL, raw?: string) => {
      const res = await fetch(`${base}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body: raw ?? JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
    };
    const latest = async (user: string, token: string | null = ALL) => {
      const res = await fetch(`${base}/v1/users/${encodeURIComponent(user)}/context/latest`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const expectError = (r: { status: number; body: unknown }, status: number, code: string, pattern: RegExp) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      check('Error', r.body);
      const e = (r.body as { error: { code: string; message: string } }).error;
      assert.equal(e.code, code);
      assert.match(e.message, pattern);
    };
    const userPoints = (u: string) => stored.filter((p) => p.user_id === u);

    it('refuses a request without a bearer token or with an unknown one (401, WWW-Authenticate), and a bound token another user\'s data (403)', async () => {
      const none = await post({ text: 'tired' }, null);
      expectError(none, 401, 'UNAUTHENTICATED', /Authorization: Bearer/);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      expectError(await post({ text: 'tired' }, 'not-a-token-of-this-service'), 401, 'UNAUTHENTICATED', /not known/);
      expectError(await post({ user_id: u2 }, BOUND), 403, 'FORBIDDEN', /bound to/);
      expectError(await latest(u2, BOUND), 403, 'FORBIDDEN', /bound to/);
      expectError(await latest(u1, null), 401, 'UNAUTHENTICATED', /Bearer/);
    });

    it('answers a structured query like the index sorted by hand, without scores, naming the collection and model that answered', async () => {
      const r = await post({ user_id: u1, order_by: { field: 'mood_mean', direction: 'asc' }, limit: 3 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      check('SearchResponse', r.body);
      const expected = userPoints(u1)
        .filter((p) => p.mood_mean !== null)
        .sort((a, b) => a.mood_mean! - b.mood_mean! || (pointId(a.user_id, a.window_end) < pointId(b.user_id, b.window_end) ? -1 : 1))
        .slice(0, 3);
      assert.deepEqual(r.body.hits.map((h: { payload: PointPayload }) => h.payload.day), expected.map((p) => p.day), 'lowest mood first');
      assert.deepEqual(r.body.hits.map((h: { score: null }) => h.score), [null, null, null]);
      assert.equal(r.body.kind, 'structured');
      assert.ok(version.collection.startsWith('serve_test__'), `a version collection behind the alias: ${version.collection}`);
      assert.deepEqual(r.body.answered_by, { store, alias: 'serve_test', collection: version.collection, model_id: version.model_id, model_version: version.model_version, text_version: version.text_version });
      assert.equal(stored[0]!.model_id, version.model_id, 'the points record the same model');
    });

    it('scopes a bound token to its user when the query names none', async () => {
      const r = await post({ order_by: { field: 'activity_minutes' }, limit: 50 }, BOUND);
      assert.equal(r.status, 200);
      check('SearchResponse', r.body);
      assert.deepEqual([...new Set(r.body.hits.map((h: { payload: PointPayload }) => h.payload.user_id))], [u1], 'only the token\'s user');
      assert.equal(r.body.hits.length, userPoints(u1).length, 'every point of the user');
      const minutes = r.body.hits.map((h: { payload: PointPayload }) => h.payload.activity_minutes);
      assert.deepEqual(minutes, [...minutes].sort((a, b) => b - a), 'most active first (direction defaults to desc)');
    });

    it('answers a text query by similarity with the model loaded once, and a combined one re-ordered within a day range', async () => {
      // As written (interpret: false): this test is about similarity; interpretation has its own below.
      const text = await post({ text: 'sleeping badly and tired', user_id: u2, limit: 4, interpret: false });
      assert.equal(text.status, 200, JSON.stringify(text.body));
      check('SearchResponse', text.body);
      const scores = text.body.hits.map((h: { score: number }) => h.score);
      assert.equal(scores.length, 4);
      assert.ok(scores.every((s: number, i: number) => s <= 1 && (i === 0 || s <= scores[i - 1])), `scores best first: ${scores}`);
      assert.equal(text.body.answered_by.model_id, stored[0]!.model_id);
      assert.equal(text.body.interpreted_as, null, 'interpret: false runs the text as written');
      const days = userPoints(u2).map((p) => p.day).sort();
      const since = days[2]!;
      const until = days[days.length - 3]!;
      const combined = await post({ text: 'feeling low', user_id: u2, since, until, order_by: { field: 'window_end', direction: 'asc' }, limit: 3 });
      assert.equal(combined.status, 200, JSON.stringify(combined.body));
      check('SearchResponse', combined.body);
      const got = combined.body.hits.map((h: { payload: PointPayload }) => h.payload.day);
      assert.deepEqual(got, days.filter((d) => d >= since && d <= until).slice(0, 3), 'with candidates ≥ the range, the earliest three days of the range, in order');
      assert.ok(combined.body.hits.every((h: { score: number }) => typeof h.score === 'number'), 'combined hits carry their similarity');
    });

    it('interprets a question into the payload filters it means: every matching hit holds them, in their order, and says so', async () => {
      const r = await post({ text: 'low mood', limit: 5 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      check('SearchResponse', r.body);
      const as = r.body.interpreted_as;
      assert.ok(as, `"low mood" is interpreted: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.equal(as.concepts[0].id, 'mood-low');
      assert.ok(as.filters.some((c: FieldCondition) => c.field === 'mood_level' && c.op === 'eq' && c.value === 'low'), JSON.stringify(as.filters));
      const matching = stored.filter((p) => as.filters.every((c: FieldCondition) => holds(p, c)));
      assert.ok(matching.length > 0, 'the seeded history has low-mood windows');
      const hits = r.body.hits as Array<{ payload: PointPayload; filled?: true }>;
      assert.equal(as.matched, Math.min(5, matching.length), 'every matching window up to the limit');
      assert.deepEqual(hits.map((h) => h.filled === true), hits.map((_, i) => i >= as.matched), 'matching hits first, the filled ones marked');
      for (const h of hits.slice(0, as.matched)) assert.ok(as.filters.every((c: FieldCondition) => holds(h.payload, c)), `${h.payload.day} ${h.payload.user_id} holds ${JSON.stringify(as.filters)}`);
      if (as.order_by) {
        const values = hits.slice(0, as.matched).map((h) => fieldValue(h.payload, as.order_by.field) as number);
        assert.deepEqual(values, [...values].sort((a, b) => (as.order_by.direction === 'asc' ? a - b : b - a)), `ordered by ${as.order_by.field}`);
      }
      // The caller's filters still hold: the same question for one user stays within that user.
      const one = await post({ text: 'low mood', user_id: u2, limit: 5 });
      check('SearchResponse', one.body);
      assert.deepEqual([...new Set(one.body.hits.map((h: { payload: PointPayload }) => h.payload.user_id))], [u2]);
      const plain = await post({ text: 'low mood', limit: 5, interpret: false });
      check('SearchResponse', plain.body);
      assert.equal(plain.body.interpreted_as, null);
      assert.ok(plain.body.hits.every((h: { filled?: true }) => h.filled === undefined));
    });

    it('returns the user\'s latest context, and 404 for a user without any', async () => {
      const r = await latest(u1, BOUND);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      check('LatestResponse', r.body);
      const newest = userPoints(u1).reduce((a, b) => (b.window_end > a.window_end ? b : a));
      assert.deepEqual(r.body.hit.payload, newest);
      expectError(await latest('nobody-here'), 404, 'NOT_FOUND', /no context/);
    });

    it('refuses bad queries with 400 naming what is allowed, and bad methods, routes and bodies', async () => {
      expectError(await post({ filters: [{ field: 'mood', op: 'eq', value: 1 }] }), 400, 'INVALID_QUERY', /unknown field "mood"\. Allowed fields: .*mood_mean/);
      expectError(await post({ order_by: { field: 'mood_mean', direction: 'sideways' } }), 400, 'INVALID_QUERY', /"asc" or "desc"/);
      expectError(await post({ filters: [{ field: 'themes', op: 'gt', value: 1 }] }), 400, 'INVALID_QUERY', /Allowed operators: contains, in/);
      expectError(await post(undefined, ALL, '{"text": '), 400, 'INVALID_QUERY', /not JSON/);
      expectError(await post(undefined, ALL, JSON.stringify({ text: 'x'.repeat(70_000) })), 413, 'BODY_TOO_LARGE', /larger than/);
      const get = await fetch(`${base}/v1/search`, { headers: { authorization: `Bearer ${ALL}` } });
      assert.equal(get.status, 405);
      const nowhere = await fetch(`${base}/v2/else`);
      assert.equal(nowhere.status, 404);
    });

    it('serves health, readiness with the index and model, its OpenAPI document, and request metrics by route and status', async () => {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await fetch(`${base}/readyz`);
      const readyBody = (await ready.json()) as Record<string, unknown>;
      assert.equal(ready.status, 200, JSON.stringify(readyBody));
      assert.deepEqual([readyBody['store'], readyBody['alias'], readyBody['collection'], readyBody['model_id'], readyBody['text_queries']], [store, 'serve_test', version.collection, version.model_id, true]);
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as Record<string, unknown>;
      assert.deepEqual(doc, JSON.parse(readFileSync(join(ROOT, 'docs/openapi/serve.json'), 'utf8')), 'the committed document is the served one');
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /aura_search_requests_total\{route="search",status="200"\} [1-9]/);
      assert.match(metrics, /aura_search_requests_total\{route="search",status="401"\} [1-9]/);
      assert.match(metrics, /aura_search_request_duration_seconds_count\{route="search"\} [1-9]/);
    });
  });
}
