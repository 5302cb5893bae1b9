import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseOrderBy, parseWhere, searchQuery } from '../../src/cli/search.js';
import { AuraError } from '../../src/errors.js';
import { CONTEXT_QUERY_SCHEMA, FIELD_NAMES, ORDERABLE_FIELDS, QUERY_FIELDS, compileQuery, orderHits, searchContext } from '../../src/query/index.js';
import { MemoryVectorSink } from '../support/fakes/vector-sink.js';
import { point, unit } from '../support/sink-points.js';
import { DEFAULT_CONFIG } from '../support/compiled-options.js';

/** RETRIEVAL_MODE at its default. */
const mode = DEFAULT_CONFIG.retrievalMode;

const invalid = (...patterns: RegExp[]) => (err: unknown) => {
  assert.ok(err instanceof AuraError, `expected an AuraError, got ${String(err)}`);
  assert.equal(err.code, 'INVALID_QUERY', err.message);
  for (const p of patterns) assert.match(err.message, p);
  return true;
};

describe('compileQuery: the query object in the ports\' terms', () => {
  it('compiles a structured query: user, day range (until inclusive), conditions and order', () => {
    const q = compileQuery({
      user_id: 'user-0001',
      since: '2026-03-01',
      until: '2026-03-07',
      filters: [{ field: 'themes', op: 'contains', value: 'sleep' }, { field: 'mood_mean', op: 'lte', value: 2.5 }],
      order_by: { field: 'activity_minutes' },
      limit: 3,
    });
    assert.equal(q.kind, 'structured');
    assert.deepEqual(q.filter, {
      userId: 'user-0001',
      sinceMs: Date.parse('2026-03-01T00:00:00Z'),
      untilMs: Date.parse('2026-03-08T00:00:00Z'),
      where: [{ field: 'themes', op: 'contains', value: 'sleep' }, { field: 'mood_mean', op: 'lte', value: 2.5 }],
    });
    assert.deepEqual(q.orderBy, { field: 'activity_minutes', direction: 'desc' }, 'direction defaults to desc');
    assert.equal(q.limit, 3);
  });

  it('names the kind: text alone, structured with the latest first by default, combined with candidates', () => {
    const text = compileQuery({ text: 'tired' });
    assert.deepEqual([text.kind, text.orderBy, text.limit], ['text', undefined, 5]);
    const latest = compileQuery({ user_id: 'u' });
    assert.deepEqual([latest.kind, latest.orderBy], ['structured', { field: 'window_end', direction: 'desc' }]);
    const combined = compileQuery({ text: 'tired', order_by: { field: 'mood_mean', direction: 'asc' }, limit: 10 });
    assert.deepEqual([combined.kind, combined.candidates], ['combined', 40]);
    assert.equal(compileQuery({ text: 'x', order_by: { field: 'mood_mean' }, candidates: 7 }).candidates, 7);
  });

  it('refuses unknown fields and operators, naming the allowed ones', () => {
    assert.throws(() => compileQuery({ filters: [{ field: 'mood', op: 'eq', value: 1 }] }), invalid(/unknown field "mood"/, /Allowed fields: user_id, day, window_end/, /mood_mean/));
    assert.throws(() => compileQuery({ filters: [{ field: 'mood_mean', op: 'contains', value: 1 }] }), invalid(/"contains" is not allowed on the number field "mood_mean"/, /Allowed operators: eq, gt, gte, lt, lte/));
    assert.throws(() => compileQuery({ filters: [{ field: 'themes', op: 'eq', value: 'sleep' }] }), invalid(/Allowed operators: contains, in/));
    assert.throws(() => compileQuery({ order_by: { field: 'mood_level' } }), invalid(/cannot be ordered by/, /Orderable fields: window_end, event_count/));
    assert.throws(() => compileQuery({ order_by: { field: 'mood_mean', direction: 'down' } }), invalid(/"asc" or "desc"/));
    assert.throws(() => compileQuery({ sort: 'x' }), invalid(/unknown query key\(s\) sort/, /Allowed keys: text, user_id, since, until, filters, order_by, limit, candidates/));
    assert.throws(() => compileQuery({ filters: [{ field: 'mood_mean', op: 'lt', value: 2, extra: 1 }] }), invalid(/unknown key\(s\) extra/));
  });

  it('refuses values of the wrong type or outside a keyword field\'s values, and bad days, limits and ranges', () => {
    assert.throws(() => compileQuery({ filters: [{ field: 'mood_mean', op: 'lt', value: '2' }] }), invalid(/must be a number for the number field "mood_mean"/));
    assert.throws(() => compileQuery({ filters: [{ field: 'mood_level', op: 'eq', value: 'sad' }] }), invalid(/"sad" is not a value of "mood_level": expected one of low, mixed, good/));
    assert.throws(() => compileQuery({ filters: [{ field: 'mood_variable', op: 'eq', value: 'yes' }] }), invalid(/true or false/));
    assert.throws(() => compileQuery({ filters: [{ field: 'mood_level', op: 'in', value: [] }] }), invalid(/non-empty array/));
    assert.throws(() => compileQuery({ since: '2026-02-30' }), invalid(/since "2026-02-30" is not a date: expected YYYY-MM-DD/));
    assert.throws(() => compileQuery({ since: '2026-03-05', until: '2026-03-01' }), invalid(/until 2026-03-01 is before since 2026-03-05/));
    assert.throws(() => compileQuery({ limit: 0 }), invalid(/limit must be an integer in \[1, 100\]/));
    assert.throws(() => compileQuery({ text: '  ' }), invalid(/text must be a non-empty string/));
    assert.throws(() => compileQuery({ text: 'x', candidates: 5 }), invalid(/combined queries only/));
    assert.throws(() => compileQuery([]), invalid(/must be a JSON object/));
  });

  it('agrees with its JSON schema on what is valid (the schema agents and the OpenAPI document use)', () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false });
    const validate = ajv.compile(CONTEXT_QUERY_SCHEMA);
    const valid = [
      {},
      { text: 'sleeping badly', user_id: 'u', since: '2026-03-01', until: '2026-03-02', limit: 3 },
      { user_id: 'u', order_by: { field: 'minutes_by_type.cardio', direction: 'asc' }, filters: [{ field: 'mood_level', op: 'in', value: ['low', 'mixed'] }] },
      { filters: [{ field: 'themes', op: 'contains', value: 'sleep' }, { field: 'mood_variable', op: 'eq', value: true }, { field: 'active_days', op: 'gte', value: 3 }] },
    ];
    for (const q of valid) {
      assert.ok(validate(q), `schema accepts ${JSON.stringify(q)}: ${ajv.errorsText(validate.errors)}`);
      assert.doesNotThrow(() => compileQuery(q), `compileQuery accepts ${JSON.stringify(q)}`);
    }
    const bad = [
      { sort: 'x' },
      { limit: 0 },
      { since: 'yesterday' },
      { order_by: { field: 'mood_level' } },
      { filters: [{ field: 'mood', op: 'eq', value: 1 }] },
      { filters: [{ field: 'mood_mean', op: 'contains', value: 1 }] },
      { filters: [{ field: 'mood_mean', op: 'lt', value: '2' }] },
      { filters: [{ field: 'themes', op: 'eq', value: 'sleep' }] },
    ];
    for (const q of bad) {
      assert.equal(validate(q), false, `schema refuses ${JSON.stringify(q)}`);
      assert.throws(() => compileQuery(q), invalid(), `compileQuery refuses ${JSON.stringify(q)}`);
    }
  });

  it('documents every field with a meaning, and orders only numeric ones', () => {
    for (const f of FIELD_NAMES) assert.ok((QUERY_FIELDS[f]?.meaning.length ?? 0) > 15, `meaning of ${f}`);
    assert.ok(ORDERABLE_FIELDS.includes('mood_mean') && ORDERABLE_FIELDS.includes('minutes_by_type.flexibility'));
    assert.ok(!ORDERABLE_FIELDS.includes('themes') && !ORDERABLE_FIELDS.includes('mood_level'));
  });
});

describe('search command line: options to the query object', () => {
  it('parses --where in symbol and named form, typing values by the field', () => {
    assert.deepEqual(parseWhere('mood_mean<=2.5'), { field: 'mood_mean', op: 'lte', value: 2.5 });
    assert.deepEqual(parseWhere('mood_level!=low'), { field: 'mood_level', op: 'ne', value: 'low' });
    assert.deepEqual(parseWhere('themes:contains:sleep'), { field: 'themes', op: 'contains', value: 'sleep' });
    assert.deepEqual(parseWhere('mood_level:in:low,mixed'), { field: 'mood_level', op: 'in', value: ['low', 'mixed'] });
    assert.deepEqual(parseWhere('mood_variable=true'), { field: 'mood_variable', op: 'eq', value: true });
    assert.throws(() => parseWhere('mood is low'), invalid(/expected field<op>value/));
    assert.deepEqual(parseOrderBy('mood_mean:asc'), { field: 'mood_mean', direction: 'asc' });
    assert.deepEqual(parseOrderBy('activity_minutes'), { field: 'activity_minutes', direction: 'desc' });
    assert.throws(() => parseOrderBy('mood_mean:up'), invalid(/expected field\[:asc\|desc\]/));
  });

  it('merges --query JSON with the options, the options adding filters', () => {
    const q = searchQuery(undefined, { queryJson: '{"user_id":"a","filters":[{"field":"mood_mean","op":"lt","value":3}],"limit":2}', where: ['active_days>=3'], orderBy: 'mood_mean:asc', limit: 5, json: false });
    assert.deepEqual(q, { user_id: 'a', filters: [{ field: 'mood_mean', op: 'lt', value: 3 }, { field: 'active_days', op: 'gte', value: 3 }], order_by: { field: 'mood_mean', direction: 'asc' }, limit: 2 });
    assert.throws(() => searchQuery(undefined, { queryJson: '{', limit: 5, json: false }), invalid(/--query is not JSON/));
  });
});

describe('searchContext: one query path for every reader', () => {
  const sink = new MemoryVectorSink();
  const days = [
    point('u1', '2026-03-01', unit(1, 0, 0, 0), 'a', { mood_mean: 2, activity_minutes: 10 }),
    point('u1', '2026-03-02', unit(0.8, 0.2, 0, 0), 'b', { mood_mean: 4, activity_minutes: 90 }),
    point('u1', '2026-03-03', unit(0, 1, 0, 0), 'c', { mood_mean: 1, activity_minutes: 50 }),
    point('u2', '2026-03-03', unit(1, 0, 0, 0), 'z', { mood_mean: 1, activity_minutes: 500 }),
  ];
  const embedder = { modelId: 'm', modelVersion: 'v1', embedQueries: async (texts: string[]) => texts.map(() => unit(1, 0, 0, 0)) };
  const texts = (a: { hits: Array<{ payload: { text: string } }> }) => a.hits.map((h) => h.payload.text);

  it('answers structured queries without a model, naming the index and the points\' model', async () => {
    await sink.upsert(days);
    const a = await searchContext({ reader: sink, mode }, { user_id: 'u1', order_by: { field: 'activity_minutes' }, limit: 2 });
    assert.deepEqual([a.kind, texts(a), a.hits[0]?.score], ['structured', ['b', 'c'], null]);
    assert.deepEqual(a.answered_by, { store: 'qdrant', alias: 'test', collection: 'test', model_id: 'Xenova/all-MiniLM-L6-v2', model_version: 'sha256:abc', text_version: 1 }, 'without a resolved alias: the points\' own version');
    const version = { model_id: 'm2', model_version: 'h2', manifest_sha256: '', text_version: 2 };
    const v = await searchContext({ reader: sink, mode, index: { alias: 'ctx', version } }, { user_id: 'u1', limit: 1 });
    assert.deepEqual(v.answered_by, { store: 'qdrant', alias: 'ctx', collection: 'test', model_id: 'm2', model_version: 'h2', text_version: 2 }, 'the version the alias target records');
    assert.deepEqual(texts(await searchContext({ reader: sink, mode }, { user_id: 'u1', limit: 1 })), ['c'], 'the latest by default');
  });

  it('answers text queries by similarity and combined ones by re-ordering the nearest candidates', async () => {
    await sink.upsert(days);
    const t = await searchContext({ reader: sink, embedder, mode }, { text: 'q', user_id: 'u1', limit: 3 });
    assert.deepEqual([t.kind, texts(t), t.answered_by.model_version], ['text', ['a', 'b', 'c'], 'v1']);
    const c = await searchContext({ reader: sink, embedder, mode }, { text: 'q', user_id: 'u1', order_by: { field: 'mood_mean', direction: 'asc' }, candidates: 2, limit: 2 });
    assert.deepEqual([c.kind, texts(c)], ['combined', ['a', 'b']], 'the two nearest (a, b), lowest mood first; c is not a candidate');
    await assert.rejects(searchContext({ reader: sink, mode }, { text: 'q' }), /needs an embedder/);
  });

  it('orders hits by a field with nulls left out and ties by score', () => {
    const h = (id: string, score: number, mood: number | null) => ({ id, score, payload: point('u', '2026-03-01', unit(1, 0, 0, 0), id, { mood_mean: mood }).payload });
    assert.deepEqual(orderHits([h('a', 0.1, 2), h('b', 0.9, 2), h('c', 0.5, null), h('d', 0.5, 1)], { field: 'mood_mean', direction: 'asc' }).map((x) => x.id), ['d', 'b', 'a']);
  });
});
