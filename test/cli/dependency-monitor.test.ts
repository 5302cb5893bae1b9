import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DependencyMonitor } from '../../src/cli/dependency-monitor.js';

/** Virtual time: timers fire only when `advance` passes them; microtasks settle between timers. */
function virtualTime() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    setTimer: (fn: () => void, ms: number) => {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return { id } as { id: number; unref?: () => void };
    },
    clearTimer: (t: unknown) => void timers.delete((t as { id: number }).id),
    async advance(ms: number) {
      const until = now + ms;
      await settle();
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        await settle();
      }
      now = until;
    },
    pending: () => timers.size,
  };
}

describe('DependencyMonitor (background checks behind /readyz)', () => {
  it('reports unknown before the first probe ends, then ok or the reason, re-probing every interval', async () => {
    const time = virtualTime();
    let fail = false;
    let calls = 0;
    const monitor = new DependencyMonitor(
      {
        kafka: async () => {
          calls += 1;
          if (fail) throw new Error('connect ECONNREFUSED 127.0.0.1:1');
        },
      },
      { intervalMs: 5000, timeoutMs: 3000, ...time },
    );
    assert.deepEqual(monitor.snapshot(), { kafka: 'unknown' }, 'nothing known before start');
    monitor.start();
    await time.advance(0);
    assert.deepEqual(monitor.snapshot(), { kafka: 'ok' }, 'the first probe answered');
    fail = true;
    await time.advance(4999);
    assert.equal(calls, 1, 'no new probe before the interval');
    assert.deepEqual(monitor.snapshot(), { kafka: 'ok' }, 'the last result stands until the next probe');
    await time.advance(1);
    assert.equal(calls, 2, 'probed again after the interval');
    assert.deepEqual(monitor.snapshot(), { kafka: 'unreachable: connect ECONNREFUSED 127.0.0.1:1' }, 'the reason is shown');
    await monitor.stop();
    assert.equal(time.pending(), 0, 'stop leaves no timer');
  });

  it('never runs two probes of a dependency at once: a hanging probe is reported after the timeout and not duplicated', async () => {
    const time = virtualTime();
    let started = 0;
    let release!: () => void;
    const monitor = new DependencyMonitor(
      {
        kafka: () => {
          started += 1;
          return new Promise<void>((r) => (release = r));
        },
        registry: async () => undefined,
      },
      { intervalMs: 1000, timeoutMs: 3000, ...time },
    ).start();
    await time.advance(2999);
    assert.deepEqual(monitor.snapshot(), { kafka: 'unknown', registry: 'ok' }, 'one slow dependency does not hold up another');
    await time.advance(1);
    assert.equal(monitor.snapshot()['kafka'], 'unreachable: no answer within 3000 ms', 'a hanging probe is reported at its timeout');
    for (let i = 0; i < 10; i++) {
      monitor.snapshot();
      await time.advance(1000);
    }
    assert.equal(started, 1, 'however long it hangs and however often /readyz reads, one probe is in flight');
    release();
    await time.advance(0);
    assert.equal(monitor.snapshot()['kafka'], 'ok', 'the late answer counts');
    await time.advance(1000);
    assert.equal(started, 2, 'the next probe starts an interval after the previous one settled');
    release();
    const closed: string[] = [];
    const withClose = new DependencyMonitor({ x: async () => undefined }, { ...time }, [async () => void closed.push('admin')]);
    await withClose.stop();
    assert.deepEqual(closed, ['admin'], 'stop closes what the probes hold');
    await monitor.stop();
  });
});
