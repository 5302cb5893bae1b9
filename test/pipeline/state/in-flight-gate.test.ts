import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightGate } from '../../../src/pipeline/state/in-flight-gate.js';

function recordingGate(maxInFlight: number, lowWaterMark?: number): { gate: InFlightGate; calls: string[] } {
  const calls: string[] = [];
  const gate = new InFlightGate(
    maxInFlight,
    () => calls.push(`pause@${gate.inFlight}`),
    () => calls.push(`resume@${gate.inFlight}`),
    lowWaterMark,
  );
  return { gate, calls };
}

describe('InFlightGate', () => {
  it('pauses once on reaching the maximum and resumes once below the low-water mark', () => {
    const { gate, calls } = recordingGate(4, 2);
    for (let i = 0; i < 4; i += 1) gate.acquire();
    assert.deepEqual(calls, ['pause@4'], 'the fourth batch in flight pauses the source');
    gate.acquire();
    assert.deepEqual(calls, ['pause@4'], 'a batch fetched before the pause took effect does not pause again');

    gate.release();
    gate.release();
    gate.release();
    assert.deepEqual(calls, ['pause@4'], 'down to 2 in flight the source stays paused (hysteresis)');
    assert.equal(gate.paused, true, 'still paused at the low-water mark');
    gate.release();
    assert.deepEqual(calls, ['pause@4', 'resume@1'], 'below the low-water mark the source resumes');
    gate.release();
    assert.deepEqual(calls, ['pause@4', 'resume@1'], 'draining further does not resume again');
    assert.equal(gate.inFlight, 0, 'every acquire was released');
  });

  it('does not flap when the count oscillates around the maximum', () => {
    const { gate, calls } = recordingGate(4, 2);
    for (let i = 0; i < 4; i += 1) gate.acquire();
    for (let i = 0; i < 10; i += 1) {
      gate.release();
      gate.acquire();
    }
    assert.deepEqual(calls, ['pause@4'], 'oscillating between 3 and 4 pauses once and never resumes');
  });

  it('pauses again after a resume when the maximum is reached again', () => {
    const { gate, calls } = recordingGate(2, 1);
    gate.acquire();
    gate.acquire();
    gate.release();
    gate.release();
    gate.acquire();
    gate.acquire();
    assert.deepEqual(calls, ['pause@2', 'resume@0', 'pause@2'], 'a full cycle, then a second pause');
  });

  it('defaults the low-water mark to half the maximum, rounded up', () => {
    assert.equal(new InFlightGate(4, () => {}, () => {}).lowWaterMark, 2, 'max 4 resumes below 2');
    assert.equal(new InFlightGate(5, () => {}, () => {}).lowWaterMark, 3, 'max 5 resumes below 3');
    const { gate, calls } = recordingGate(1);
    gate.acquire();
    gate.release();
    assert.deepEqual(calls, ['pause@1', 'resume@0'], 'max 1 pauses with one batch and resumes when it ends');
  });

  it('stays consistent when a callback throws', () => {
    const gate = new InFlightGate(
      1,
      () => {
        throw new Error('pause failed');
      },
      () => {},
    );
    assert.throws(() => gate.acquire(), /pause failed/, 'the callback error surfaces to the caller');
    assert.equal(gate.inFlight, 1, 'the batch is counted');
    assert.equal(gate.paused, true, 'the gate considers itself paused and will resume on release');
  });

  it('refuses an unbalanced release and invalid limits', () => {
    const { gate } = recordingGate(2);
    assert.throws(() => gate.release(), /without a matching acquire/, 'release before acquire is a bug');
    assert.throws(() => new InFlightGate(0, () => {}, () => {}), /maxInFlight/, 'a zero maximum is refused');
    assert.throws(() => new InFlightGate(3, () => {}, () => {}, 4), /lowWaterMark/, 'a mark above the maximum is refused');
    assert.throws(() => new InFlightGate(3, () => {}, () => {}, 0), /lowWaterMark/, 'a mark of zero would never resume');
  });
});
