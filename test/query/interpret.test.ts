import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createFileDescriptionCache } from '../../src/adapters/file-description-cache.js';
import { LanceDbSink } from '../../src/adapters/lancedb-sink.js';
import { createTransformersEmbedder, ONNX_FILE, type TransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { localStackModel } from '../../src/config.js';
import type { PointPayload } from '../../src/ports.js';
import { CONCEPTS, MAX_CLAUSES, UNCALIBRATED, calibrationFor, clauses, compileQuery, createInterpreter, descriptionCacheKey, searchContext, type ContextAnswer, type Interpreter } from '../../src/query/index.js';
import { point } from '../support/sink-points.js';

// The query interpreter with the index's real model: phrases written for this test (not the
// benchmark's) must map to the concept they mean, negated ones to the opposite, two facts to an AND,
// and questions about what the payload does not hold to nothing. Then the hook in searchContext
// against a real store (an embedded LanceDB): the interpretation's filters AND with the caller's,
// its order applies, the plain ranking fills, `interpret: false` and an order_by turn it off.

const MODEL_DIR = process.env.EMBEDDING_MODEL_PATH || localStackModel();
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let embedder: TransformersEmbedder;
let interpreter: Interpreter;
let embedCalls = 0;

before(async () => {
  if (!MODEL_DIR || !existsSync(join(MODEL_DIR, ONNX_FILE))) {
    throw new Error('the embedding model is missing: run `aura-stream stack up` (it lays out .cache/stack/models), or set EMBEDDING_MODEL_PATH');
  }
  embedder = await createTransformersEmbedder({ modelPath: MODEL_DIR, threads: 1 });
  // Counts the calls that reach the model, to show the descriptions are embedded once.
  interpreter = createInterpreter({
    modelId: embedder.modelId,
    embed: (texts) => {
      embedCalls += 1;
      return embedder.embed(texts);
    },
  });
});

after(async () => {
  await embedder?.close();
});

const ids = async (text: string) => (await interpreter.interpret(text))?.concepts.map((c) => c.id) ?? null;

describe('query interpreter with the real model', { timeout: 300_000 }, () => {
  it('maps everyday phrases to the concept they mean, embedding the descriptions once', async () => {
    const cases: Array<[string, string]> = [
      ['my spirits have been really low for days', 'mood-low'],
      ['she is in a wonderful mood', 'mood-good'],
      ['her mood keeps improving', 'mood-improving'],
      ['mood swings every day', 'mood-variable'],
      ['calm and even mood all week', 'mood-stable'],
      ['he goes for a run most mornings', 'mostly-cardio'],
      ['spends hours lifting at the gym', 'mostly-strength'],
      ['does pilates and stretches a lot', 'mostly-flexibility'],
      ['practises meditation', 'mostly-mindfulness'],
      ['trains really hard', 'intensity-hard'],
      ['works out seven days a week', 'very-active'],
      ['can\'t stop thinking about deadlines at the office', 'theme-work'],
      ['tired and can\'t sleep', 'theme-sleep'],
    ];
    for (const [text, id] of cases) assert.deepEqual(await ids(text), [id], text);
    const before = embedCalls;
    await interpreter.interpret('practises meditation');
    assert.equal(embedCalls - before, 1, 'a later question embeds only itself: the descriptions are cached');
  });

  it('reads negation as the opposite, not as the word it negates', async () => {
    assert.deepEqual(await ids('he isn\'t happy these days'), ['mood-low']);
    assert.deepEqual(await ids('never exercises'), ['inactive']);
  });

  it('combines two facts of different aspects with AND, and gives their filters and order', async () => {
    const i = await interpreter.interpret('feeling low and hasn\'t exercised in weeks');
    assert.deepEqual(i?.concepts.map((c) => c.id).sort(), ['inactive', 'mood-low']);
    assert.deepEqual(
      i?.filters.map((f) => `${f.field} ${f.op} ${String(f.value)}`).sort(),
      ['active_days lte 2', 'mood_count gte 3', 'mood_level eq low'],
    );
    assert.ok(i?.order_by, 'a degree concept orders');
    for (const c of i!.concepts) assert.ok(c.similarity > 0.5 && c.similarity <= 1, `${c.id} similarity ${c.similarity}`);
  });

  it('returns null for questions about what the payload does not measure', async () => {
    for (const text of ['what is the capital of France', 'favourite pizza toppings', 'car insurance renewal', 'her phone number', 'likes jazz music']) {
      assert.equal(await interpreter.interpret(text), null, text);
    }
  });

  it('reads at most MAX_CLAUSES clauses, however many commas a question has', async () => {
    const sizes: number[] = [];
    const counting = createInterpreter({ modelId: embedder.modelId, embed: (texts) => (sizes.push(texts.length), embedder.embed(texts)) });
    await counting.interpret('x');
    sizes.length = 0;
    const many = await counting.interpret(Array.from({ length: 300 }, () => 'sad').join(', '));
    assert.deepEqual(sizes, [1 + MAX_CLAUSES], 'the whole question and its first clauses, in one pass');
    assert.deepEqual(many?.concepts.map((c) => c.id), ['mood-low']);
  });

  it('interprets nothing with a model it has no calibration for', async () => {
    assert.equal(calibrationFor('some-org/another-model'), UNCALIBRATED);
    const other = createInterpreter({ modelId: 'some-org/another-model', embed: (texts) => embedder.embed(texts) });
    assert.equal(await other.interpret('feeling sad and not exercising'), null, 'the same vectors, but no thresholds to read them with');
  });

  it('splits clauses at conjunctions and commas', () => {
    assert.deepEqual(clauses('sad, and not exercising'), ['sad', 'not exercising']);
    assert.deepEqual(clauses('worried about the office'), ['worried', 'the office']);
    assert.deepEqual(clauses('running'), ['running']);
    assert.deepEqual(clauses('more and more tired, ups and downs'), ['more and more tired', 'ups and downs'], 'fixed pairs stay whole');
    assert.deepEqual(clauses('someone who is tense and keeps mentioning her boss'), ['tense', 'her boss'], 'subjects and frames of mentioning dropped');
  });

  it('answers from cached description vectors exactly as from fresh ones, embedding only the question', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aura-interpret-cache-'));
    try {
      const descriptionCache = createFileDescriptionCache({ dir });
      const questions = ['my spirits have been really low for days', 'stressed about work and not sleeping', 'barely exercised this week', 'what did she eat for breakfast'];
      // The first process embeds and stores; the second reads what the first stored.
      const writer = createInterpreter(embedder, { descriptionCache });
      await writer.interpret(questions[0]!);
      const batches: number[] = [];
      const reader = createInterpreter({ modelId: embedder.modelId, modelVersion: embedder.modelVersion, manifestSha256: embedder.manifestSha256, dimension: embedder.dimension, embed: (texts) => (batches.push(texts.length), embedder.embed(texts)) }, { descriptionCache });
      for (const q of questions) assert.deepEqual(await reader.interpret(q), await interpreter.interpret(q), q);
      assert.ok(batches.every((n) => n <= 4), `only questions and their clauses reach the model: ${JSON.stringify(batches)}`);
      const texts = CONCEPTS.flatMap((c) => c.descriptions);
      const cached = await descriptionCache.get(descriptionCacheKey(embedder, texts));
      const fresh = await embedder.embed(texts);
      assert.equal(cached?.length, texts.length);
      assert.ok(cached!.every((v, i) => Buffer.from(v.buffer).equals(Buffer.from(fresh[i]!.buffer))), 'the stored vectors are the model\'s, bit for bit');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents every concept in docs/search.md with its filters', () => {
    const doc = readFileSync(join(ROOT, 'docs/search.md'), 'utf8');
    for (const c of CONCEPTS) assert.ok(doc.includes(`| \`${c.id}\` | ${c.aspect} | ${c.means} |`), `docs/search.md has a row for ${c.id}: | \`${c.id}\` | ${c.aspect} | ${c.means} |`);
  });
});

describe('searchContext with the interpreter, on LanceDB', { timeout: 300_000 }, () => {
  let dir: string;
  let sink: LanceDbSink;
  const low = (mean: number, more: Partial<PointPayload>): Partial<PointPayload> => ({ mood_level: 'low', mood_mean: mean, mood_count: 5, ...more });
  const good = (mean: number, more: Partial<PointPayload>): Partial<PointPayload> => ({ mood_level: 'good', mood_mean: mean, mood_count: 5, ...more });
  const POINTS: Array<[string, string, string, Partial<PointPayload>]> = [
    ['u-a', '2026-03-01', 'Low mood, feeling down and unhappy (5 logged). Barely active, little exercise (1 of 7 days).', low(2.2, { active_days: 1 })],
    ['u-b', '2026-03-01', 'Very low mood, feeling down and unhappy (5 logged). Exercises almost every day (6 of 7 days).', low(1.4, { active_days: 6 })],
    ['u-c', '2026-03-01', 'Great mood, happy and cheerful (5 logged). Exercises almost every day (7 of 7 days).', good(4.6, { active_days: 7 })],
    ['u-c', '2026-03-02', 'Good mood, fairly happy (5 logged). Barely active, little exercise (0 of 7 days).', good(3.8, { active_days: 0 })],
    ['u-d', '2026-03-01', 'Mixed mood, so-so (4 logged). Exercises some days (3 of 7 days).', { mood_level: 'mixed', mood_mean: 3, mood_count: 4, active_days: 3 }],
    // Low on one mood only: too few to call a week low.
    ['u-e', '2026-03-01', 'Very low mood, feeling down and unhappy (1 logged). Rarely exercises (2 of 7 days).', low(1, { mood_count: 1, active_days: 2 })],
  ];
  const users = (a: ContextAnswer) => a.hits.map((h) => `${h.payload.user_id}/${h.payload.day}${h.filled ? ' filled' : ''}`);
  const ports = () => ({ reader: sink, embedder, mode: 'dense' as const, interpreter });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aura-interpret-'));
    sink = new LanceDbSink({ dir, collection: 'interpret' });
    await sink.ensureCollection(embedder.dimension);
    const vectors = await embedder.embed(POINTS.map((p) => p[2]));
    await sink.upsert(POINTS.map(([user, day, text, more], i) => point(user, day, vectors[i]!, text, more)));
  });

  after(async () => {
    await sink?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the interpretation\'s filters and order, then fills from the plain text ranking', async () => {
    const a = await searchContext(ports(), { text: 'she seems so unhappy lately', limit: 4 });
    assert.equal(a.interpreted_as?.concepts[0]?.id, 'mood-low');
    assert.deepEqual(a.interpreted_as?.filters, [
      { field: 'mood_level', op: 'eq', value: 'low' },
      { field: 'mood_count', op: 'gte', value: 3 },
    ]);
    assert.deepEqual(a.interpreted_as?.order_by, { field: 'mood_mean', direction: 'asc' });
    assert.equal(a.kind, 'combined', 'an order_by from the interpretation makes it a combined query');
    assert.equal(a.interpreted_as?.matched, 2);
    assert.deepEqual(users(a).slice(0, 2), ['u-b/2026-03-01', 'u-a/2026-03-01'], 'the two low weeks, lowest mean first; u-e has one mood only');
    assert.equal(a.hits.length, 4);
    assert.ok(a.hits.slice(2).every((h) => h.filled && h.payload.user_id !== 'u-a' && h.payload.user_id !== 'u-b'), `the rest filled, no duplicates: ${users(a).join(', ')}`);
  });

  it('ANDs the interpretation with the caller\'s filters and user', async () => {
    const a = await searchContext(ports(), { text: 'she seems so unhappy lately', filters: [{ field: 'active_days', op: 'lte', value: 2 }], limit: 3 });
    assert.deepEqual(users(a)[0], 'u-a/2026-03-01', 'low mood and the caller\'s ≤ 2 active days: only u-a');
    assert.equal(a.interpreted_as?.matched, 1);
    assert.ok(a.hits.every((h) => (h.payload.active_days ?? 0) <= 2), 'the fill keeps the caller\'s filters');
    const own = await searchContext(ports(), { text: 'she seems so unhappy lately', user_id: 'u-c', limit: 2 });
    assert.deepEqual([own.interpreted_as?.matched, own.hits.every((h) => h.payload.user_id === 'u-c' && h.filled)], [0, true], 'user_id stays: nothing low for u-c, its own windows fill');
  });

  it('combines two concepts: low mood and inactive', async () => {
    const a = await searchContext(ports(), { text: 'she is depressed and never exercises', limit: 1 });
    assert.deepEqual(a.interpreted_as?.concepts.map((c) => c.id).sort(), ['inactive', 'mood-low']);
    assert.deepEqual(users(a), ['u-a/2026-03-01']);
  });

  it('runs the text as written with interpret: false, an order_by, no interpreter or an off-catalogue question', async () => {
    const plain = await searchContext({ reader: sink, embedder, mode: 'dense' }, { text: 'she seems so unhappy lately', limit: 3 });
    assert.ok(!('interpreted_as' in plain), 'a reader without an interpreter answers in the shape it always had');
    const off = await searchContext(ports(), { text: 'she seems so unhappy lately', interpret: false, limit: 3 });
    assert.deepEqual([off.interpreted_as, users(off)], [null, users(plain)]);
    const ordered = await searchContext(ports(), { text: 'she seems so unhappy lately', order_by: { field: 'active_days', direction: 'desc' }, limit: 2 });
    assert.equal(ordered.interpreted_as, null, 'the caller\'s own order_by: no interpretation');
    const unknown = await searchContext(ports(), { text: 'likes jazz music', limit: 2 });
    assert.equal(unknown.interpreted_as, null);
    assert.equal(unknown.hits.length, 2);
  });

  it('runs the text as written when interpreting fails, and tells the reader why', async () => {
    const plain = await searchContext(ports(), { text: 'she seems so unhappy lately', interpret: false, limit: 3 });
    const failures: unknown[] = [];
    const broken: Interpreter = { interpret: async () => Promise.reject(new Error('model gone')) };
    const a = await searchContext({ ...ports(), interpreter: broken, onInterpretError: (err) => failures.push(err) }, { text: 'she seems so unhappy lately', limit: 3 });
    assert.equal(a.interpreted_as, null);
    assert.deepEqual(users(a), users(plain), 'the same answer as the text as written');
    assert.deepEqual(failures.map((e) => (e as Error).message), ['model gone']);
  });

  it('validates interpret', () => {
    assert.equal(compileQuery({ text: 'x', interpret: false }).interpret, false);
    assert.equal(compileQuery({ text: 'x' }).interpret, true);
    assert.throws(() => compileQuery({ text: 'x', interpret: 'no' }), /interpret must be true or false, got "no"/);
  });
});
