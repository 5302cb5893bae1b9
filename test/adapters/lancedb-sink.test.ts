import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LanceDbSink, sqlString } from '../../src/adapters/lancedb-sink.js';
import { AuraError } from '../../src/errors.js';
import { DIM, point, unit } from '../support/sink-points.js';


describe('LanceDbSink on a temporary folder', () => {
  let dir: string;
  let sink: LanceDbSink;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aura-lancedb-'));
    sink = new LanceDbSink({ dir, collection: 'aura_points' });
  });

  afterEach(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the absolute folder as its location, even for a relative dir', () => {
    const rel = new LanceDbSink({ dir: relative(process.cwd(), dir), collection: 'x' });
    assert.ok(isAbsolute(rel.location));
    assert.equal(rel.location, dir);
  });

  it('creates the table on first bootstrap and accepts it again with the same dimension', async () => {
    await sink.ensureCollection(DIM);
    await sink.ensureCollection(DIM);
    assert.equal(await sink.count(), 0);
    await sink.ping();
  });

  it('rejects an existing table of another dimension with a CONFIG error naming both sizes', async () => {
    await sink.ensureCollection(DIM);
    await sink.close();
    const other = new LanceDbSink({ dir, collection: 'aura_points' });
    try {
      await assert.rejects(other.ensureCollection(8), (err: unknown) => {
        assert.ok(err instanceof AuraError, String(err));
        assert.equal(err.code, 'CONFIG');
        assert.equal(err.retriable, false);
        assert.match(err.message, /"aura_points"/);
        assert.match(err.message, /size 4/);
        assert.match(err.message, /produces 8/);
        assert.match(err.message, /Fix: /);
        return true;
      });
    } finally {
      await other.close();
    }
  });

  it('upserts idempotently by id: the same id twice is one row holding the second content', async () => {
    await sink.ensureCollection(DIM);
    const first = point('u1', '2025-03-01', unit(1, 0, 0, 0), 'first text');
    const second = point('u1', '2025-03-01', unit(0, 1, 0, 0), 'second text');
    assert.equal(first.id, second.id);
    await sink.upsert([first]);
    await sink.upsert([second]);
    assert.equal(await sink.count(), 1);
    const rows = await sink.scroll();
    assert.deepEqual(rows.map((r) => [r.id, r.payload.text, Array.from(r.vector ?? [])]), [[first.id, 'second text', [0, 1, 0, 0]]]);
  });

  it('keeps the last occurrence of an id repeated inside one upsert call', async () => {
    await sink.ensureCollection(DIM);
    await sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0), 'old'), point('u1', '2025-03-01', unit(1, 1, 0, 0), 'new')]);
    assert.deepEqual((await sink.scroll()).map((r) => r.payload.text), ['new']);
  });

  it('searches within one user only, ordered by cosine similarity (score = 1 - cosine distance)', async () => {
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

    const top2 = await sink.search(unit(1, 0, 0, 0), { limit: 2 });
    assert.deepEqual(top2.map((h) => h.id), [a.id, other.id], 'without a user, every user is searched');
  });

  it('escapes quotes in the user filter instead of letting them change the SQL', async () => {
    assert.equal(sqlString("o'brien"), "'o''brien'");
    await sink.ensureCollection(DIM);
    const tricky = point("o'brien' OR '1'='1", '2025-03-01', unit(1, 0, 0, 0));
    const plain = point('o', '2025-03-01', unit(1, 0, 0, 0));
    const backslash = point('back\\slash', '2025-03-01', unit(0, 1, 0, 0));
    await sink.upsert([tricky, plain, backslash]);
    assert.deepEqual((await sink.search(unit(1, 0, 0, 0), { userId: tricky.payload.user_id, limit: 10 })).map((h) => h.id), [tricky.id]);
    assert.deepEqual((await sink.scroll({ userId: 'back\\slash' })).map((r) => r.id), [backslash.id]);
    assert.deepEqual(await sink.search(unit(1, 0, 0, 0), { userId: "'", limit: 10 }), []);
  });

  it('scrolls every payload field back, ordered by id, optionally for one user', async () => {
    await sink.ensureCollection(DIM);
    const points = [point('u1', '2025-03-01', unit(1, 0, 0, 0)), point('u2', '2025-03-01', unit(0, 1, 0, 0)), point('u1', '2025-03-02', unit(0, 0, 1, 0))];
    await sink.upsert(points);
    const expected = [...points].sort((x, y) => (x.id < y.id ? -1 : 1));
    const all = await sink.scroll();
    assert.deepEqual(all.map((r) => r.id), expected.map((p) => p.id));
    assert.deepEqual(all.map((r) => r.payload), expected.map((p) => p.payload), 'payload round-trips: int64 columns as numbers, snapshot as an object');
    assert.deepEqual(all.map((r) => Array.from(r.vector ?? [])), expected.map((p) => Array.from(p.vector)));
    assert.deepEqual((await sink.scroll({ userId: 'u2' })).map((r) => r.payload.user_id), ['u2']);
  });

  it('persists across instances on the same folder', async () => {
    await sink.ensureCollection(DIM);
    const p = point('u1', '2025-03-01', unit(1, 0, 0, 0));
    await sink.upsert([p]);
    await sink.close();
    const reopened = new LanceDbSink({ dir, collection: 'aura_points' });
    try {
      assert.equal(await reopened.count(), 1, 'a new instance opens the existing table without ensureCollection');
      assert.deepEqual((await reopened.scroll()).map((r) => r.payload), [p.payload]);
    } finally {
      await reopened.close();
    }
  });

  it('lets a second instance on the same folder read the writes of the first as soon as they commit', async () => {
    await sink.ensureCollection(DIM);
    const reader = new LanceDbSink({ dir, collection: 'aura_points' });
    try {
      assert.equal(await reader.count(), 0, 'the reader opened the table while it was empty');
      const p = point('u1', '2025-03-01', unit(1, 0, 0, 0));
      await sink.upsert([p]);
      assert.equal(await reader.count(), 1);
      assert.deepEqual((await reader.search(unit(1, 0, 0, 0), { limit: 1 })).map((h) => h.id), [p.id]);
    } finally {
      await reader.close();
    }
  });

  it('reports a missing table as CONFIG instead of an empty result', async () => {
    await assert.rejects(sink.count(), (err: unknown) => err instanceof AuraError && err.code === 'CONFIG' && /does not exist/.test(err.message));
  });
});
