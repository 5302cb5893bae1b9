import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { erasedPoints, guardAgainstErasure } from '../../src/cli/reindex.js';
import { MemoryVectorSink } from '../support/fakes/vector-sink.js';
import { point, unit } from '../support/sink-points.js';

/** A point of `user` stored from snapshot offset `offset` of partition 0. */
const at = (user: string, day: string, offset: number) => point(user, day, unit(1, 0, 0, 0), `${user} ${day}`, { snapshot_partition: 0, snapshot_offset: offset });

describe('the reindex erasure guard', () => {
  it('calls a point erased only when the live group committed past it and the current version no longer holds it', async () => {
    const current = new MemoryVectorSink('current');
    const kept = at('kept', '2025-03-01', 5);
    const erased = at('erased', '2025-03-01', 6);
    const notYetLive = at('new', '2025-03-01', 40);
    await current.upsert([kept]);
    const committed = async () => new Map([[0, 20n]]);
    const result = await erasedPoints([kept, erased, notYetLive], current, committed);
    assert.deepEqual([...result], [erased.id], 'only the point the live stage stored (offset 6 < 20) and is gone since');
  });

  it('skips erased points, writes the others, and deletes right after the write a point whose erasure raced it', async () => {
    const current = new MemoryVectorSink('current');
    const next = new MemoryVectorSink('next');
    const a = at('a', '2025-03-01', 1);
    const b = at('b', '2025-03-01', 2);
    const gone = at('gone', '2025-03-01', 3);
    await current.upsert([a, b]);
    let checks = 0;
    // The live stage erases `b` between the guard's check before the write and its check after it.
    const committed = async () => {
      checks += 1;
      if (checks === 2) await current.deleteUser('b');
      return new Map([[0, 10n]]);
    };
    let skipped = 0;
    const guarded = guardAgainstErasure(next, current, committed, (n) => (skipped += n));
    await guarded.upsert([a, b, gone]);
    assert.deepEqual([...next.points.keys()], [a.id], 'a is written; gone never; b written then deleted');
    assert.deepEqual(next.upserts.map((u) => u.map((p) => p.payload.user_id)), [['a', 'b']], 'the erased point was not in the upsert');
    assert.equal(skipped, 2, 'both are counted');
  });
});
