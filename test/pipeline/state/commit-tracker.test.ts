import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommitTracker } from '../../../src/pipeline/state/commit-tracker.js';
import { coalesceByKey } from '../../../src/pipeline/domain/coalesce.js';

const T = 'aura360.context.aggregated';

function trackAll(tracker: CommitTracker, partition: number, offsets: string[], topic = T): void {
  for (const offset of offsets) tracker.track(topic, partition, offset);
}

describe('CommitTracker', () => {
  it('commits nothing until the first tracked record is done', () => {
    const tracker = new CommitTracker();
    trackAll(tracker, 0, ['0', '1', '2']);
    tracker.done(T, 0, '1');
    tracker.done(T, 0, '2');
    assert.deepEqual(tracker.committable(), [], 'offset 0 is pending, so nothing after it may be committed');
    assert.equal(tracker.pendingCount(), 1, 'one record is still in processing');
  });

  it('advances to the end of the leading run of done records when completion is out of order', () => {
    const tracker = new CommitTracker();
    trackAll(tracker, 0, ['10', '11', '12', '13']);
    tracker.done(T, 0, '12');
    tracker.done(T, 0, '10');
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 0, offset: '11' }], '10 done, 11 pending: next to read is 11');
    tracker.done(T, 0, '11');
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 0, offset: '13' }], '10..12 done, 13 pending: next to read is 13');
    tracker.done(T, 0, '13');
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 0, offset: '14' }], 'all done: next to read is 14');
    assert.equal(tracker.pendingCount(), 0, 'nothing is pending');
  });

  it('treats gaps between tracked offsets as contiguous', () => {
    const tracker = new CommitTracker();
    // 101..104 were compacted away or are transaction markers: they are never tracked.
    trackAll(tracker, 3, ['100', '105', '109']);
    tracker.done(T, 3, '100');
    tracker.done(T, 3, '105');
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 3, offset: '106' }], 'the gap 101..104 does not block');
    tracker.done(T, 3, '109');
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 3, offset: '110' }], 'commit follows the last tracked offset');
  });

  it('lets superseded records through once they are marked done with their winner', () => {
    const tracker = new CommitTracker();
    const batch = [
      { pointId: 'u1-day', offset: '20' },
      { pointId: 'u2-day', offset: '21' },
      { pointId: 'u1-day', offset: '22' },
    ];
    for (const r of batch) tracker.track(T, 1, r.offset);
    const { kept, superseded } = coalesceByKey(batch, (r) => r.pointId, (r) => BigInt(r.offset));
    assert.deepEqual(superseded.map((r) => r.offset), ['20'], 'offset 20 lost to 22');

    for (const r of kept) tracker.done(T, 1, r.offset);
    assert.deepEqual(tracker.committable(), [], 'the superseded offset 20 still blocks the partition');

    for (const r of superseded) tracker.done(T, 1, r.offset);
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 1, offset: '23' }], 'with 20 marked done the batch commits');
  });

  it('reports a partition again only after its committable offset advanced past the last commit', () => {
    const tracker = new CommitTracker();
    trackAll(tracker, 0, ['0', '1', '2']);
    tracker.done(T, 0, '0');
    const first = tracker.committable();
    assert.deepEqual(first, [{ topic: T, partition: 0, offset: '1' }], 'offset 1 becomes committable');
    assert.deepEqual(tracker.committable(), first, 'until marked committed the same offset is offered again');

    tracker.markCommitted(first);
    assert.deepEqual(tracker.committable(), [], 'nothing new after the commit');

    tracker.done(T, 0, '2');
    assert.deepEqual(tracker.committable(), [], 'a done record behind a pending one does not advance the commit');
    tracker.done(T, 0, '1');
    const second = tracker.committable();
    assert.deepEqual(second, [{ topic: T, partition: 0, offset: '3' }], 'the commit advances to 3');

    tracker.markCommitted(second);
    tracker.markCommitted(first);
    assert.deepEqual(tracker.committable(), [], 'a late acknowledgement of an older commit does not move the partition back');
  });

  it('keeps partitions and topics independent', () => {
    const tracker = new CommitTracker();
    trackAll(tracker, 0, ['5', '6']);
    trackAll(tracker, 1, ['5', '6']);
    trackAll(tracker, 0, ['5'], 'other-topic');
    tracker.done(T, 1, '5');
    tracker.done('other-topic', 0, '5');
    assert.deepEqual(
      tracker.committable(),
      [
        { topic: T, partition: 1, offset: '6' },
        { topic: 'other-topic', partition: 0, offset: '6' },
      ],
      'only the partitions with progress are offered, each with its own offset',
    );
    assert.equal(tracker.pendingCount(), 3, 'pending across all partitions');
    assert.equal(tracker.pendingCount(T), 3, 'pending of one topic');
    assert.equal(tracker.pendingCount(T, 0), 2, 'pending of one partition');
  });

  it('forgets a revoked partition and ignores late completions of its abandoned batch', () => {
    const tracker = new CommitTracker();
    trackAll(tracker, 2, ['40', '41', '42']);
    tracker.done(T, 2, '40');
    tracker.reset(T, 2);
    assert.deepEqual(tracker.committable(), [], 'a reset partition offers nothing');
    assert.equal(tracker.pendingCount(T, 2), 0, 'a reset partition has nothing pending');
    assert.equal(tracker.done(T, 2, '41'), false, 'a late done for the revoked partition is ignored');
    tracker.markCommitted([{ topic: T, partition: 2, offset: '41' }]);

    // Reassigned: the new owner reads again from the committed offset 41.
    trackAll(tracker, 2, ['41', '42']);
    assert.deepEqual(tracker.committable(), [], 'the late done and commit above did not leak into the new assignment');
    assert.equal(tracker.done(T, 2, '41'), true, 'the re-tracked record can be completed');
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 2, offset: '42' }], 'the partition commits afresh');
  });

  it('reports unknown and repeated completions without changing state', () => {
    const tracker = new CommitTracker();
    trackAll(tracker, 0, ['1', '3']);
    assert.equal(tracker.done(T, 0, '2'), false, 'an offset in a gap was never tracked');
    assert.equal(tracker.done(T, 0, '1'), true, 'a tracked record is completed');
    assert.equal(tracker.done(T, 0, '1'), false, 'completing it twice is a no-op');
    assert.equal(tracker.pendingCount(), 1, 'only offset 3 is pending');
  });

  it('refuses offsets tracked out of order or not in int64 decimal form', () => {
    const tracker = new CommitTracker();
    tracker.track(T, 0, '7');
    assert.throws(() => tracker.track(T, 0, '7'), /ascending/, 'the same offset twice is refused');
    assert.throws(() => tracker.track(T, 0, '6'), /ascending/, 'a lower offset is refused');
    assert.throws(() => tracker.track(T, 0, '-1'), /int64/, 'a negative offset is refused');
    assert.throws(() => tracker.track(T, 0, '0x10'), /int64/, 'a hex offset is refused');
    assert.throws(() => tracker.track(T, 0, '9223372036854775808'), /int64/, 'an offset above int64 is refused');
  });

  it('handles offsets beyond Number.MAX_SAFE_INTEGER exactly', () => {
    const tracker = new CommitTracker();
    trackAll(tracker, 0, ['9007199254740993', '9007199254740994']);
    tracker.done(T, 0, '9007199254740993');
    assert.deepEqual(
      tracker.committable(),
      [{ topic: T, partition: 0, offset: '9007199254740994' }],
      '2^53 + 1 + 1 is computed without rounding',
    );
  });

  it('releases a long run of done records with the completion of the one blocking it', () => {
    const tracker = new CommitTracker();
    const n = 20_000;
    for (let i = 0; i < n; i += 1) tracker.track(T, 0, String(i));
    for (let i = n - 1; i >= 1; i -= 1) tracker.done(T, 0, String(i));
    assert.deepEqual(tracker.committable(), [], 'offset 0 still blocks all the others');
    tracker.done(T, 0, '0');
    assert.deepEqual(tracker.committable(), [{ topic: T, partition: 0, offset: String(n) }], 'one completion releases the whole run');
  });
});
