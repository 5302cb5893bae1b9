import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connect } from '@lancedb/lancedb';
import { FTS_INDEX, LanceDbSink, lanceSchema, sqlString } from '../../src/adapters/lancedb-sink.js';
import { AuraError } from '../../src/errors.js';
import { DIM, point, unit } from '../support/sink-points.js';
import { vectorSinkContract } from '../support/vector-sink-contract.js';


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

  it('refuses a table written by an older version (other columns) with the columns it lacks and the fix', async () => {
    const { connect } = await import('@lancedb/lancedb');
    const { Field, FixedSizeList, Float32, Schema, Utf8 } = await import('apache-arrow');
    const db = await connect(dir);
    const old = await db.createEmptyTable('aura_points', new Schema([
      new Field('id', new Utf8(), false),
      new Field('vector', new FixedSizeList(DIM, new Field('item', new Float32(), true)), false),
      new Field('user_id', new Utf8(), false),
      new Field('snapshot', new Utf8(), false),
    ]));
    old.close();
    db.close();
    await assert.rejects(sink.ensureCollection(DIM), (err: unknown) => {
      assert.ok(err instanceof AuraError && err.code === 'CONFIG', String(err));
      assert.match(err.message, /lacks the columns day, window_end/);
      assert.match(err.message, /mood_mean/);
      assert.match(err.message, /Fix: .*aura_points\.lance/);
      return true;
    });
  });

  it('stores maps as structs and lists as lists, so SQL filters reach into them', async () => {
    await sink.ensureCollection(DIM);
    const runner = point('u1', '2025-03-01', unit(1, 0, 0, 0));
    const sleeper = point('u2', '2025-03-01', unit(0, 1, 0, 0), 'x', { themes: ['work', 'sleep'], minutes_by_type: { cardio: 0, strength: 0, flexibility: 10, mindfulness: 90, other: 0 } });
    await sink.upsert([runner, sleeper]);
    const { connect } = await import('@lancedb/lancedb');
    const db = await connect(dir);
    const table = await db.openTable('aura_points');
    try {
      const ids = async (where: string) => ((await table.query().where(where).toArray()) as Array<{ id: string }>).map((r) => r.id);
      assert.deepEqual(await ids('minutes_by_type.mindfulness > 60'), [sleeper.id]);
      assert.deepEqual(await ids("array_has(themes, 'work') AND mood_mean >= 3.5"), [sleeper.id]);
    } finally {
      table.close();
      db.close();
    }
  });

  it('gives a table made before hybrid retrieval its full-text index on start; until then a words search is a CONFIG error naming the fix', async () => {
    const db = await connect(dir);
    const table = await db.createEmptyTable('aura_points', lanceSchema(DIM));
    const p = point('u1', '2025-03-01', unit(1, 0, 0, 0), 'Often mentions yoga.');
    await table.add([{ id: p.id, vector: Array.from(p.vector), ...p.payload }]);
    table.close();
    db.close();
    const reader = new LanceDbSink({ dir, collection: 'aura_points' });
    try {
      await assert.rejects(reader.search(unit(1, 0, 0, 0), { mode: 'hybrid', text: 'yoga', limit: 3 }), (err: unknown) => {
        assert.ok(err instanceof AuraError && err.code === 'CONFIG', String(err));
        assert.match(err.message, /no full-text index.*RETRIEVAL_MODE=dense.*vectorize stage/);
        return true;
      });
    } finally {
      await reader.close();
    }
    await sink.ensureCollection(DIM);
    const again = new LanceDbSink({ dir, collection: 'aura_points' });
    try {
      assert.deepEqual((await again.search(unit(0, 1, 0, 0), { mode: 'sparse', text: 'yoga', limit: 3 })).map((h) => h.id), [p.id], 'the existing row is found by its words');
    } finally {
      await again.close();
    }
    await sink.ensureCollection(DIM);
    const db2 = await connect(dir);
    const t2 = await db2.openTable('aura_points');
    const indices = await t2.listIndices();
    t2.close();
    db2.close();
    assert.deepEqual(indices.filter((i) => i.name === FTS_INDEX).map((i) => i.columns), [['text']], 'one index, made once');
  });

  it('reports a missing table as CONFIG instead of an empty result', async () => {
    await assert.rejects(sink.count(), (err: unknown) => err instanceof AuraError && err.code === 'CONFIG' && /does not exist/.test(err.message));
  });
});

vectorSinkContract('LanceDbSink on a temporary folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aura-lancedb-contract-'));
  const open = () => new LanceDbSink({ dir, collection: 'aura_points' });
  return { sink: open(), reopen: open, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
