import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsumerLag, type PartitionOffsets } from '../../../src/pipeline/state/consumer-lag.js';

const at = (partition: number, endOffset: number, committedOffset: number | '-1', startOffset = 0): PartitionOffsets => ({
  partition,
  endOffset: String(endOffset),
  startOffset: String(startOffset),
  committedOffset: String(committedOffset),
});
const none = () => undefined;

describe('ConsumerLag', () => {
  it('is end offset minus committed offset, and 0 records and 0 seconds when caught up', () => {
    const lag = new ConsumerLag();
    const rows = lag.update([at(0, 120, 100), at(1, 50, 50)], 1_000_000, none);
    assert.deepEqual(rows, [
      { partition: 0, records: 20, seconds: 0, committedOffset: 100 },
      { partition: 1, records: 0, seconds: 0, committedOffset: 50 },
    ]);
  });

  it('reads from the log start when the group has no commit or one below the start', () => {
    const lag = new ConsumerLag();
    const rows = lag.update([at(0, 30, '-1', 10), at(1, 30, 5, 10)], 0, none);
    assert.equal(rows[0]!.records, 20, 'no commit: everything retained is behind');
    assert.equal(rows[1]!.records, 20, 'a commit below the log start counts from the start');
    assert.equal(rows[1]!.committedOffset, 10);
  });

  it('a stuck consumer: committed offset flat while the end moves on, lag in records and in seconds rises', () => {
    const lag = new ConsumerLag();
    const t0 = 1_000_000;
    assert.deepEqual(lag.update([at(0, 10, 10)], t0, none)[0], { partition: 0, records: 0, seconds: 0, committedOffset: 10 });
    assert.deepEqual(lag.update([at(0, 15, 10)], t0 + 10_000, none)[0], { partition: 0, records: 5, seconds: 0, committedOffset: 10 }, 'first seen behind');
    assert.deepEqual(lag.update([at(0, 40, 10)], t0 + 70_000, none)[0], { partition: 0, records: 30, seconds: 60, committedOffset: 10 }, 'a minute later, still at 10');
    assert.deepEqual(lag.update([at(0, 40, 25)], t0 + 80_000, none)[0], { partition: 0, records: 15, seconds: 0, committedOffset: 25 }, 'a commit restarts the lower bound');
  });

  it('uses the timestamp of the oldest unconfirmed record when the stage holds one', () => {
    const lag = new ConsumerLag();
    const held = new Map([[0, 1_000_000 - 7_500]]);
    const rows = lag.update([at(0, 20, 10), at(1, 20, 10)], 1_000_000, (p) => held.get(p));
    assert.equal(rows[0]!.seconds, 7.5, 'partition 0: its held record is 7.5 s old');
    assert.equal(rows[1]!.seconds, 0, 'partition 1: nothing fetched, first seen behind now');
  });

  it('counts from the stage\'s own position when it is past the commit (transaction markers after the last record)', () => {
    const lag = new ConsumerLag();
    const rows = lag.update([{ ...at(0, 21, 20), consumedOffset: '21' }, { ...at(1, 40, 20), consumedOffset: '21' }, { ...at(2, 30, 20), consumedOffset: '35' }], 0, none);
    assert.deepEqual(rows.map((r) => r.records), [0, 19, 0], 'marker only: 0; records beyond the last fetch: counted; a position past the end is capped at the end');
    assert.deepEqual(rows.map((r) => r.committedOffset), [20, 20, 20], 'the committed offset reported is the broker\'s');
  });

  it('forgets partitions left out, so a partition owned again starts a new lower bound', () => {
    const lag = new ConsumerLag();
    lag.update([at(0, 20, 10)], 0, none);
    lag.update([], 50_000, none);
    assert.equal(lag.update([at(0, 20, 10)], 60_000, none)[0]!.seconds, 0);
  });
});
