import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstValueFrom, toArray } from 'rxjs';
import { pipelineCommits } from '../../../src/pipeline/operators/commit-in-order.js';

/** A commit the test settles by hand, recording what happened in which order. */
function harness(n: number) {
  const log: string[] = [];
  const settle = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  function* folds() {
    for (let i = 1; i <= n; i++) {
      log.push(`fold ${i}`);
      yield i;
    }
  }
  const commit = (i: number) =>
    new Promise<string>((resolve, reject) => {
      log.push(`commit ${i} started`);
      settle.set(i, { resolve, reject });
    });
  return { log, settle, folds, commit };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('pipelineCommits', () => {
  test('folds the next item while the previous commits, one ahead at most, and emits in order', async () => {
    const h = harness(3);
    const out = firstValueFrom(pipelineCommits(h.folds(), h.commit).pipe(toArray()));
    await turn();
    await turn();
    assert.deepEqual(h.log, ['fold 1', 'commit 1 started', 'fold 2'], 'item 2 folded while 1 commits; item 3 not yet');
    h.settle.get(1)!.resolve('one');
    await turn();
    await turn();
    assert.deepEqual(h.log.slice(3), ['commit 2 started', 'fold 3'], 'commit 2 starts only after 1 is done');
    h.settle.get(2)!.resolve('two');
    await turn();
    await turn();
    h.settle.get(3)!.resolve('three');
    assert.deepEqual(await out, ['one', 'two', 'three']);
  });

  test('a failed commit errors the stream and nothing after it is committed', async () => {
    const h = harness(3);
    const out = firstValueFrom(pipelineCommits(h.folds(), h.commit).pipe(toArray()));
    await turn();
    h.settle.get(1)!.reject(new Error('boom'));
    await assert.rejects(out, /boom/);
    await turn();
    assert.ok(!h.log.includes('commit 2 started'), 'the item folded ahead is dropped');
  });

  test('a fold that throws is reported after the commit in flight settles', async () => {
    const log: string[] = [];
    function* folds() {
      yield 1;
      throw new Error('fold failed');
    }
    let resolve!: (v: number) => void;
    const out = firstValueFrom(
      pipelineCommits(folds(), (i) => new Promise<number>((r) => ((resolve = r), log.push(`commit ${i}`)))).pipe(toArray()),
    );
    let settled = false;
    out.catch(() => (settled = true));
    await turn();
    await turn();
    assert.equal(settled, false, 'not reported while commit 1 is in flight');
    resolve(1);
    await assert.rejects(out, /fold failed/);
  });

  test('no items: completes without committing', async () => {
    assert.deepEqual(await firstValueFrom(pipelineCommits([], async () => 1).pipe(toArray())), []);
  });
});
