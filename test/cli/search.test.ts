import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { hitJson, interpretationLine, parseSince, searchQuery, searchTarget } from '../../src/cli/search.js';
import { compileQuery } from '../../src/query/index.js';
import { AuraError } from '../../src/errors.js';
import { point, unit } from '../support/sink-points.js';

describe('search: where it reads', () => {
  let dir: string;
  let cwd: string;
  beforeEach(() => {
    cwd = process.cwd();
    dir = mkdtempSync(join(tmpdir(), 'aura-search-'));
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });
  const table = (stateDir: string) => mkdirSync(join(dir, stateDir, 'lancedb', 'aura_context.lance'), { recursive: true });

  it('reads the newest demo run when STATE_DIR holds no index and was not set, and says so', () => {
    table('.aura-state/demo-20261130120000-aaaa');
    table('.aura-state/demo-20261201080000-bbbb');
    mkdirSync(join(dir, '.aura-state/demo-20261202080000-cccc'), { recursive: true }); // a run that wrote nothing
    const t = searchTarget({});
    assert.equal(t.config.stateDir, join('.aura-state', 'demo-20261201080000-bbbb'));
    assert.match(t.note ?? '', /latest demo run \(STATE_DIR=\.aura-state\/demo-20261201080000-bbbb\)/);
  });

  it('prefers an index under STATE_DIR itself, and never second-guesses an explicit STATE_DIR or Qdrant', () => {
    table('.aura-state/demo-20261130120000-aaaa');
    table('.aura-state');
    assert.deepEqual([searchTarget({}).config.stateDir, searchTarget({}).note], ['.aura-state', undefined]);
    assert.equal(searchTarget({ STATE_DIR: 'elsewhere' }).config.stateDir, 'elsewhere', 'the sink then names the fix if it is empty');
    assert.equal(searchTarget({ QDRANT_URL: 'http://127.0.0.1:6333' }).config.qdrantUrl, 'http://127.0.0.1:6333');
  });

  it('names the commands that create an index when there is none', () => {
    assert.throws(() => searchTarget({}), (err: unknown) => err instanceof AuraError && err.code === 'CONFIG' && /Fix: run `aura-stream demo`/.test(err.message) && /QDRANT_URL/.test(err.message));
  });
});

describe('search: arguments and output', () => {
  it('--since takes a UTC day and refuses anything else with the expected form', () => {
    assert.equal(parseSince('2026-03-01'), Date.parse('2026-03-01T00:00:00Z'));
    for (const bad of ['2026-3-1', '2026-02-30', 'yesterday', '2026-03-01T00:00']) {
      assert.throws(() => parseSince(bad), (err: unknown) => err instanceof AuraError && err.code === 'CONFIG' && /expected YYYY-MM-DD/.test(err.message), bad);
    }
  });

  it('--json prints score, user, day, text and the payload with its statistics on one line', () => {
    const p = point('u1', '2026-03-01', unit(1, 0, 0, 0), 'Mood steady: mostly good (2 logged).');
    const line = hitJson({ id: p.id, score: 0.5, payload: p.payload });
    assert.ok(!line.includes('\n'));
    const o = JSON.parse(line) as Record<string, unknown> & { payload: Record<string, unknown> };
    assert.deepEqual(Object.keys(o), ['score', 'user_id', 'day', 'text', 'payload']);
    assert.deepEqual([o.score, o.user_id, o.day, o.text], [0.5, 'u1', '2026-03-01', 'Mood steady: mostly good (2 logged).']);
    assert.deepEqual([o.payload.mood_mean, o.payload.minutes_by_type, o.payload.themes], [3.5, p.payload.minutes_by_type, ['sleep']]);
    const filled = JSON.parse(hitJson({ id: p.id, score: 0.4, payload: p.payload, filled: true })) as Record<string, unknown>;
    assert.deepEqual(Object.keys(filled), ['score', 'user_id', 'day', 'text', 'filled', 'payload'], 'a hit the text ranking filled in says so');
  });

  it('--no-interpret asks for the text as written; without it the query leaves interpretation to the reader', () => {
    assert.equal(searchQuery('barely exercising', { limit: 5, json: false, interpret: false }).interpret, false);
    assert.equal('interpret' in searchQuery('barely exercising', { limit: 5, json: false }), false);
    assert.equal(compileQuery(searchQuery('barely exercising', { limit: 5, json: false, interpret: false })).interpret, false);
    assert.equal(compileQuery(searchQuery('barely exercising', { limit: 5, json: false })).interpret, true);
  });

  it('prints what an interpreted question ran as: concepts, filters, order, and how many hits match', () => {
    const line = interpretationLine(
      {
        concepts: [{ id: 'mood-low', similarity: 0.861 }, { id: 'barely-active', similarity: 0.79 }],
        filters: [{ field: 'mood_level', op: 'eq', value: 'low' }, { field: 'active_days', op: 'lte', value: 1 }, { field: 'themes', op: 'in', value: ['sleep', 'work'] }],
        order_by: { field: 'mood_mean', direction: 'asc' },
        matched: 3,
      },
      5,
    );
    assert.equal(
      line,
      'interpreted as mood-low (0.86) + barely-active (0.79): mood_level eq low and active_days lte 1 and themes in sleep,work, ordered by mood_mean asc; 3 match; 2 more by text alone (marked +) (--no-interpret: the text as written)',
    );
  });
});
