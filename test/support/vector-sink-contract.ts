import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AuraError } from '../../src/errors.js';
import type { VectorSink } from '../../src/ports.js';
import { DIM, point, unit } from './sink-points.js';

/** A store under test: a fresh, empty collection, and a second instance on the same store. */
export interface SinkUnderTest {
  sink: VectorSink;
  /** Another sink on the same collection (a new process, as the CLI or an oracle opens it). */
  reopen(): VectorSink;
  cleanup(): Promise<void>;
}

async function rejectsWith(promise: Promise<unknown>, code: AuraError['code'], ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AuraError, `expected an AuraError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `wrong code; message: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

/**
 * The VectorSink contract (src/ports.ts), run against every implementation: the Qdrant adapter on
 * the Qdrant double, the LanceDB adapter on a temporary folder, and the memory fake of the
 * topology tests. Store-specific behaviour (requests sent, SQL, persistence) stays in each
 * adapter's own test file.
 */
export function vectorSinkContract(name: string, open: () => Promise<SinkUnderTest>): void {
  describe(`VectorSink contract: ${name}`, () => {
    let t: SinkUnderTest;
    let sink: VectorSink;
    beforeEach(async () => {
      t = await open();
      sink = t.sink;
    });
    afterEach(async () => {
      await sink.close();
      await t.cleanup();
    });

    it('creates the collection once and accepts it again with the same dimension', async () => {
      await sink.ensureCollection(DIM);
      await sink.ensureCollection(DIM);
      assert.equal(await sink.count(), 0);
      await sink.ping();
    });

    it('refuses a dimension that is not a positive integer, and a collection of another size, with CONFIG errors naming the fix', async () => {
      await rejectsWith(sink.ensureCollection(0), 'CONFIG', /positive integer/);
      await sink.ensureCollection(DIM);
      const other = t.reopen();
      try {
        await rejectsWith(other.ensureCollection(DIM + 4), 'CONFIG', new RegExp(`"${sink.collection}"`), new RegExp(`size ${DIM}`), new RegExp(`produces ${DIM + 4}`), /Fix: /);
      } finally {
        await other.close();
      }
    });

    it('upserts idempotently by id: the same id twice is one point with the later content', async () => {
      await sink.ensureCollection(DIM);
      const first = point('u1', '2025-03-01', unit(1, 0, 0, 0), 'first text');
      const second = point('u1', '2025-03-01', unit(0, 1, 0, 0), 'second text', { mood_mean: 1.5 });
      assert.equal(first.id, second.id, 'same user and day → same point id');
      await sink.upsert([first]);
      await sink.upsert([second]);
      assert.equal(await sink.count(), 1);
      const stored = await sink.scroll();
      assert.deepEqual(stored.map((p) => [p.id, p.payload.text, p.payload.mood_mean, Array.from(p.vector ?? [])]), [[first.id, 'second text', 1.5, [0, 1, 0, 0]]]);
    });

    it('keeps the last occurrence of an id repeated inside one upsert call', async () => {
      await sink.ensureCollection(DIM);
      await sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0), 'old'), point('u2', '2025-03-01', unit(0, 1, 0, 0), 'other'), point('u1', '2025-03-01', unit(1, 1, 0, 0), 'new')]);
      assert.equal(await sink.count(), 2);
      assert.deepEqual((await sink.scroll({ userId: 'u1' })).map((p) => p.payload.text), ['new']);
    });

    it('round-trips every payload field: nulls, nested maps, lists of objects, quotes', async () => {
      await sink.ensureCollection(DIM);
      const full = point('u1', '2025-03-01', unit(1, 0, 0, 0));
      const sparse = point('u2', '2025-03-01', unit(0, 1, 0, 0), 'No moods logged. No activity logged.', {
        mood_count: 0,
        mood_mean: null,
        mood_stddev: null,
        mood_min: null,
        mood_max: null,
        mood_latest: null,
        mood_level: null,
        mood_distribution: { very_low: 0, low: 0, moderate: 0, good: 0, excellent: 0, unknown: 0 },
        main_activity: null,
        intensity: null,
        top_tags: [],
        themes: [],
        recent_notes: [],
      });
      await sink.upsert([full, sparse]);
      const expected = [full, sparse].sort((a, b) => (a.id < b.id ? -1 : 1));
      const all = await sink.scroll();
      assert.deepEqual(all.map((p) => p.id), expected.map((p) => p.id), 'ordered by id');
      assert.deepEqual(all.map((p) => p.payload), expected.map((p) => p.payload));
      assert.deepEqual(all.map((p) => Array.from(p.vector ?? [])), expected.map((p) => Array.from(p.vector)));
    });

    it('searches by cosine similarity, best first, with the payload; optionally within one user', async () => {
      await sink.ensureCollection(DIM);
      const a = point('u1', '2025-03-01', unit(1, 0, 0, 0));
      const b = point('u1', '2025-03-02', unit(1, 1, 0, 0));
      const c = point('u1', '2025-03-03', unit(0, 0, 0, 1));
      const other = point('u2', '2025-03-01', unit(1, 0.1, 0, 0));
      await sink.upsert([c, other, b, a]);

      const hits = await sink.search(unit(1, 0, 0, 0), { userId: 'u1', limit: 10 });
      assert.deepEqual(hits.map((h) => h.id), [a.id, b.id, c.id]);
      assert.ok(Math.abs((hits[0]?.score ?? 0) - 1) < 1e-5, `score of the identical vector: ${hits[0]?.score}`);
      assert.ok(Math.abs((hits[1]?.score ?? 0) - Math.SQRT1_2) < 1e-5, `score at 45°: ${hits[1]?.score}`);
      assert.ok(Math.abs(hits[2]?.score ?? 1) < 1e-5, `score of an orthogonal vector: ${hits[2]?.score}`);
      assert.deepEqual(hits[1]?.payload, b.payload);

      assert.deepEqual((await sink.search(unit(1, 0, 0, 0), { limit: 2 })).map((h) => h.id), [a.id, other.id], 'without a user, every user is searched');
      assert.deepEqual(await sink.search(unit(1, 0, 0, 0), { userId: 'nobody', limit: 5 }), []);
      assert.deepEqual(await sink.search(unit(1, 0, 0, 0), { limit: 0 }), []);
    });

    it('filters search and scroll by window end (sinceMs), alone and with a user', async () => {
      await sink.ensureCollection(DIM);
      const early = point('u1', '2025-03-01', unit(1, 0, 0, 0));
      const late = point('u1', '2025-03-05', unit(0.9, 0.1, 0, 0));
      const otherLate = point('u2', '2025-03-06', unit(1, 0, 0, 0));
      await sink.upsert([early, late, otherLate]);
      const since = Date.parse('2025-03-05T00:00:00Z');
      const byId = (ids: string[]) => [...ids].sort();
      assert.deepEqual((await sink.search(unit(1, 0, 0, 0), { sinceMs: since, limit: 10 })).map((h) => h.id), [otherLate.id, late.id]);
      assert.deepEqual((await sink.search(unit(1, 0, 0, 0), { sinceMs: since, userId: 'u1', limit: 10 })).map((h) => h.id), [late.id]);
      assert.deepEqual((await sink.scroll({ sinceMs: since })).map((p) => p.id), byId([late.id, otherLate.id]));
      assert.deepEqual((await sink.scroll({ sinceMs: late.payload.window_end, userId: 'u1' })).map((p) => p.id), [late.id], 'the bound is inclusive');
      assert.deepEqual(await sink.scroll({ sinceMs: Date.parse('2025-04-01T00:00:00Z') }), []);
    });

    describe('structured access: conditions on payload fields and ordering', () => {
      // Four days of one user and one of another, with distinct values in every field used below.
      const days = () => [
        point('u1', '2025-03-01', unit(1, 0, 0, 0), 'd1', { mood_mean: 2.0, activity_minutes: 30, minutes_by_type: { cardio: 30, strength: 0, flexibility: 0, mindfulness: 0, other: 0 }, mood_level: 'low', themes: ['sleep', 'work'], mood_variable: true }),
        point('u1', '2025-03-02', unit(0.9, 0.1, 0, 0), 'd2', { mood_mean: 3.0, activity_minutes: 120, minutes_by_type: { cardio: 0, strength: 0, flexibility: 90, mindfulness: 30, other: 0 }, mood_level: 'mixed', themes: ['work'] }),
        point('u1', '2025-03-03', unit(0, 1, 0, 0), 'd3', { mood_mean: null, mood_level: null, activity_minutes: 60, themes: [] }),
        point('u1', '2025-03-04', unit(0.5, 0.5, 0, 0), 'd4', { mood_mean: 4.5, activity_minutes: 0, minutes_by_type: { cardio: 0, strength: 0, flexibility: 0, mindfulness: 0, other: 0 }, mood_level: 'good', themes: ["it's"] }),
        point('u2', '2025-03-02', unit(1, 0.3, 0, 0), 'other', { mood_mean: 1.0, activity_minutes: 500, mood_level: 'low', themes: ['sleep'] }),
      ];
      const texts = (rows: Array<{ payload: { text: string } }>) => rows.map((r) => r.payload.text);

      it('orders a user\'s points by a numeric field both ways, leaving out nulls, and cuts at the limit', async () => {
        await sink.ensureCollection(DIM);
        await sink.upsert(days());
        assert.deepEqual(texts(await sink.find({ userId: 'u1', orderBy: { field: 'mood_mean', direction: 'asc' }, limit: 10 })), ['d1', 'd2', 'd4'], 'lowest mood first; the day without a mood is left out');
        assert.deepEqual(texts(await sink.find({ userId: 'u1', orderBy: { field: 'activity_minutes', direction: 'desc' }, limit: 2 })), ['d2', 'd3'], 'most active first, two of them');
        assert.deepEqual(texts(await sink.find({ orderBy: { field: 'activity_minutes', direction: 'desc' }, limit: 1 })), ['other'], 'without a user, every user');
        assert.deepEqual(texts(await sink.find({ userId: 'u1', orderBy: { field: 'window_end', direction: 'desc' }, limit: 1 })), ['d4'], 'the latest');
        assert.deepEqual(texts(await sink.find({ userId: 'u1', orderBy: { field: 'minutes_by_type.flexibility', direction: 'desc' }, limit: 1 })), ['d2'], 'a nested map key');
        const found = await sink.find({ userId: 'u1', orderBy: { field: 'mood_mean', direction: 'desc' }, limit: 1 });
        assert.deepEqual(found[0]?.payload, days()[3]!.payload, 'the full payload comes back');
      });

      it('applies since/until and every operator alike, alone and combined, in find, search and scroll', async () => {
        await sink.ensureCollection(DIM);
        await sink.upsert(days());
        const byEnd = { field: 'window_end', direction: 'asc' } as const;
        const find = async (filter: Parameters<VectorSink['find']>[0] extends infer F ? Omit<F & object, 'orderBy' | 'limit'> : never) => texts(await sink.find({ userId: 'u1', ...filter, orderBy: byEnd, limit: 10 }));
        assert.deepEqual(await find({ sinceMs: Date.parse('2025-03-02T00:00:00Z'), untilMs: Date.parse('2025-03-04T00:00:00Z') }), ['d2', 'd3'], 'since inclusive, until exclusive');
        assert.deepEqual(await find({ where: [{ field: 'mood_mean', op: 'lte', value: 3 }] }), ['d1', 'd2']);
        assert.deepEqual(await find({ where: [{ field: 'mood_mean', op: 'gt', value: 2 }, { field: 'mood_mean', op: 'lt', value: 4.5 }] }), ['d2']);
        assert.deepEqual(await find({ where: [{ field: 'activity_minutes', op: 'eq', value: 60 }] }), ['d3']);
        assert.deepEqual(await find({ where: [{ field: 'activity_minutes', op: 'gte', value: 60 }] }), ['d2', 'd3']);
        assert.deepEqual(await find({ where: [{ field: 'mood_level', op: 'eq', value: 'low' }] }), ['d1']);
        assert.deepEqual(await find({ where: [{ field: 'mood_level', op: 'ne', value: 'low' }] }), ['d2', 'd3', 'd4'], 'ne holds for a null value too');
        assert.deepEqual(await find({ where: [{ field: 'mood_level', op: 'in', value: ['good', 'mixed'] }] }), ['d2', 'd4']);
        assert.deepEqual(await find({ where: [{ field: 'themes', op: 'contains', value: 'sleep' }] }), ['d1']);
        assert.deepEqual(await find({ where: [{ field: 'themes', op: 'contains', value: "it's" }] }), ['d4'], 'a quote is matched literally');
        assert.deepEqual(await find({ where: [{ field: 'themes', op: 'in', value: ['sleep', 'work'] }] }), ['d1', 'd2']);
        assert.deepEqual(await find({ where: [{ field: 'mood_variable', op: 'eq', value: true }] }), ['d1']);
        assert.deepEqual(await find({ where: [{ field: 'minutes_by_type.mindfulness', op: 'gt', value: 0 }] }), ['d2']);
        const where = [{ field: 'themes', op: 'contains', value: 'sleep' }] as const;
        assert.deepEqual(texts(await sink.search(unit(1, 0, 0, 0), { where: [...where], limit: 10 })), ['d1', 'other'], 'search within a condition, most similar first');
        assert.deepEqual(texts(await sink.scroll({ where: [...where], untilMs: Date.parse('2025-03-02T00:00:00Z') })), ['d1'], 'scroll with a condition and until');
      });
    });

    it('deletes every point of one user, counted before the delete, leaving other users untouched; a second delete finds nothing', async () => {
      await sink.ensureCollection(DIM);
      // A user id with a quote, a backslash and SQL wildcards: matched literally, never as a pattern.
      const odd = "o'brien\\%_";
      const mine = [point(odd, '2025-03-01', unit(1, 0, 0, 0)), point(odd, '2025-03-02', unit(0, 1, 0, 0)), point(odd, '2025-03-09', unit(0, 0, 1, 0))];
      const others = [point('o', '2025-03-01', unit(1, 1, 0, 0)), point("o'brien", '2025-03-02', unit(0, 1, 1, 0)), point('x%', '2025-03-02', unit(0, 0, 1, 1))];
      await sink.upsert([...mine, ...others]);
      assert.equal(await sink.deleteUser(odd), 3, 'the three points of the user, counted before the delete');
      assert.deepEqual(await sink.scroll({ userId: odd }), [], 'none of the user\'s points is left');
      assert.deepEqual((await sink.scroll()).map((p) => p.id), others.map((p) => p.id).sort(), 'every other user\'s point is still there');
      assert.equal(await sink.deleteUser(odd), 0, 'a second delete (a replay) finds nothing and deletes nothing');
      assert.equal(await sink.count(), 3);
    });

    it('deletes with `before` only the user\'s points whose window ends earlier (exclusive), keeping later ones and other users', async () => {
      await sink.ensureCollection(DIM);
      const old1 = point('u1', '2025-03-01', unit(1, 0, 0, 0));
      const old2 = point('u1', '2025-03-02', unit(0, 1, 0, 0));
      const edge = point('u1', '2025-03-03', unit(0, 0, 1, 0));
      const otherOld = point('u2', '2025-03-01', unit(0, 0, 0, 1));
      await sink.upsert([old1, old2, edge, otherOld]);
      const before = edge.payload.window_end;
      assert.equal(await sink.deleteUser('u1', before), 2, 'the two points that end before `before`');
      assert.deepEqual((await sink.scroll({ userId: 'u1' })).map((p) => p.id), [edge.id], 'the point ending exactly at `before` stays');
      assert.deepEqual((await sink.scroll({ userId: 'u2' })).map((p) => p.id), [otherOld.id], 'another user\'s old point stays');
      assert.equal(await sink.deleteUser('u1', before), 0, 'idempotent');
      assert.equal(await sink.deleteUser('nobody'), 0, 'a user without points: 0');
    });

    describe('words: sparse and hybrid search', () => {
      // Dense query unit(1,0,0,0) ranks A, C, D, B; the words "yoga stretching" rank B (both words),
      // then C (one); A and D have neither.
      const A = point('u1', '2025-03-01', unit(1, 0, 0, 0), 'Mostly good mood. Active most days, mainly running.');
      const B = point('u1', '2025-03-02', unit(0, 0, 0, 1), 'Often mentions yoga and stretching; flexibility sessions on most days.');
      const C = point('u1', '2025-03-03', unit(1, 0.5, 0, 0), 'Some yoga once. Mostly low mood.');
      const D = point('u1', '2025-03-04', unit(1, 1.5, 0, 0), 'Rarely active. Mood steady.');
      const QUERY = unit(1, 0, 0, 0);
      const TEXT = 'yoga stretching';
      /** RRF with k = 60, ranks from 0: Σ 1/(60 + rank). */
      const rrf = (...ranks: number[]) => ranks.reduce((s, r) => s + 1 / (60 + r), 0);
      const close = (actual: number | undefined, expected: number, what: string) => assert.ok(Math.abs((actual ?? NaN) - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);

      it('ranks by the query\'s words (BM25): the point with both words first, one without any word is not a match', async () => {
        await sink.ensureCollection(DIM);
        await sink.upsert([A, B, C, D]);
        const hits = await sink.search(QUERY, { mode: 'sparse', text: TEXT, limit: 10 });
        assert.deepEqual(hits.map((h) => h.payload.text), [B.payload.text, C.payload.text], 'only the points that share a word, the one with both first');
        assert.ok((hits[0]?.score ?? 0) > (hits[1]?.score ?? 0) && (hits[1]?.score ?? 0) > 0, `BM25 scores: ${hits.map((h) => h.score).join(', ')}`);
        const stemmed = await sink.search(QUERY, { mode: 'sparse', text: 'stretched', limit: 10 });
        assert.deepEqual(stemmed.map((h) => h.id), [B.id], 'words meet by their stem ("stretched" finds "stretching")');
        assert.deepEqual(await sink.search(QUERY, { mode: 'sparse', text: 'swimming', limit: 10 }), [], 'a word no point has finds nothing');
      });

      it('fuses the dense and the words ranking by RRF (k = 60): a point second in both beats one first in only one', async () => {
        await sink.ensureCollection(DIM);
        await sink.upsert([A, B, C, D]);
        const hits = await sink.search(QUERY, { mode: 'hybrid', text: TEXT, limit: 10 });
        assert.deepEqual(hits.map((h) => h.id), [C.id, B.id, A.id, D.id], `fused order C, B, A, D; got ${hits.map((h) => h.payload.text).join(' | ')}`);
        close(hits[0]?.score, rrf(1, 1), 'C: second in both');
        close(hits[1]?.score, rrf(3, 0), 'B: last dense, first by words');
        close(hits[2]?.score, rrf(0), 'A: first dense, no word');
        close(hits[3]?.score, rrf(2), 'D: third dense, no word');
        assert.deepEqual(hits[0]?.payload, C.payload, 'hits carry the payload');
        assert.deepEqual((await sink.search(QUERY, { mode: 'hybrid', text: TEXT, limit: 2 })).map((h) => h.id), [C.id, B.id], 'the limit cuts the fused ranking');
        assert.deepEqual(
          (await sink.search(QUERY, { limit: 2 })).map((h) => h.id),
          [A.id, C.id],
          'without a mode the search is dense, as before',
        );
      });

      it('applies the user and since filters inside both rankings, also when other users crowd the candidates', async () => {
        await sink.ensureCollection(DIM);
        // 45 points of another user that would win both rankings (more than the 40 candidates a side).
        const crowd = Array.from({ length: 45 }, (_, i) => point('u2', `2025-04-${String((i % 28) + 1).padStart(2, '0')}`, unit(1, 0, 0, 0), `Yoga and stretching, yoga every day ${i}.`));
        await sink.upsert([A, B, C, D, ...crowd.slice(0, 28)]);
        await sink.upsert(crowd.slice(28).map((p, i) => point('u3', `2025-04-${String(i + 1).padStart(2, '0')}`, unit(1, 0, 0, 0), p.payload.text)));
        const mine = await sink.search(QUERY, { mode: 'hybrid', text: TEXT, userId: 'u1', limit: 10 });
        assert.deepEqual(mine.map((h) => h.id), [C.id, B.id, A.id, D.id], 'within u1 the fused ranking is as without the others');
        close(mine[0]?.score, rrf(1, 1), 'ranks count within the filter');
        assert.deepEqual((await sink.search(QUERY, { mode: 'sparse', text: TEXT, userId: 'u1', limit: 2 })).map((h) => h.id), [B.id, C.id], 'words within u1 despite 45 better matches of others');
        const since = Date.parse('2025-03-02T00:00:00Z');
        const recent = await sink.search(QUERY, { mode: 'hybrid', text: TEXT, userId: 'u1', sinceMs: since, limit: 10 });
        // A (ending before `since`) is out: dense C, D, B; words B, C.
        assert.deepEqual(recent.map((h) => h.id), [C.id, B.id, D.id], 'since applies to both rankings');
        close(recent[1]?.score, rrf(2, 0), 'B: third dense, first by words');
        assert.ok(recent.every((h) => h.payload.user_id === 'u1' && h.payload.window_end >= since));
        assert.deepEqual(await sink.search(QUERY, { mode: 'hybrid', text: TEXT, userId: 'nobody', limit: 5 }), []);
      });

      it('replaces a point\'s words when its text is upserted again', async () => {
        await sink.ensureCollection(DIM);
        await sink.upsert([A, B, C, D]);
        await sink.upsert([{ ...B, payload: { ...B.payload, text: 'Mostly cycling, hard sessions.' } }]);
        assert.deepEqual((await sink.search(QUERY, { mode: 'sparse', text: TEXT, limit: 10 })).map((h) => h.id), [C.id], 'B no longer has the words');
        assert.deepEqual((await sink.search(QUERY, { mode: 'sparse', text: 'cycling', limit: 10 })).map((h) => h.id), [B.id], 'B has its new words');
        assert.equal(await sink.count(), 4);
      });

      it('refuses a words search without the query text (INTERNAL: a caller bug)', async () => {
        await sink.ensureCollection(DIM);
        await rejectsWith(sink.search(QUERY, { mode: 'hybrid', limit: 3 }), 'INTERNAL', /needs the query text/);
        await rejectsWith(sink.search(QUERY, { mode: 'sparse', text: '  ', limit: 3 }), 'INTERNAL', /needs the query text/);
      });
    });

    it('lets another instance on the same store read what was written', async () => {
      await sink.ensureCollection(DIM);
      const p = point('u1', '2025-03-01', unit(1, 0, 0, 0));
      await sink.upsert([p]);
      const reader = t.reopen();
      try {
        assert.equal(await reader.count(), 1);
        assert.deepEqual((await reader.search(unit(1, 0, 0, 0), { limit: 1 })).map((h) => [h.id, h.payload]), [[p.id, p.payload]]);
      } finally {
        await reader.close();
      }
    });

    it('tells which ids are stored and deletes points by id, ignoring absent ones', async () => {
      await sink.ensureCollection(DIM);
      const a = point('a', '2025-03-01', unit(1, 0, 0, 0));
      const b = point('b', '2025-03-01', unit(0, 1, 0, 0));
      await sink.upsert([a, b]);
      const absent = point('c', '2025-03-01', unit(1, 0, 0, 0)).id;
      assert.deepEqual((await sink.existing([a.id, absent, b.id])).sort(), [a.id, b.id].sort(), 'only the stored ids');
      assert.deepEqual(await sink.existing([]), []);
      await sink.deleteIds([a.id, absent]);
      assert.deepEqual((await sink.scroll()).map((p) => p.id), [b.id], 'the deleted id is gone, the other kept');
      await sink.deleteIds([]);
    });
  });
}
