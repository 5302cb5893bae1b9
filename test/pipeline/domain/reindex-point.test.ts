import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pointId } from '../../../src/contracts/ids.js';
import { reindexedPoint, rerenderText } from '../../../src/pipeline/domain/reindex-point.js';
import { toPoint } from '../../../src/pipeline/domain/to-point.js';
import { activity, at, mood } from '../../support/aggregate-fixtures.js';
import { snapshotOfEvents } from '../../support/snapshot-of-events.js';

describe('reindexedPoint', () => {
  // A window whose notes are about the gym: text v2's lexicon counted "workout" as work.
  const snapshot = snapshotOfEvents([
    mood(1, at('2026-03-01T08:00:00Z'), { level: 'good', note: 'Great workout this morning.' }),
    activity(2, at('2026-03-01T18:00:00Z'), { activity_type: 'strength', intensity: 'high', duration_minutes: 60, notes: 'Worked out with Sam.' }),
    mood(3, at('2026-03-02T08:00:00Z'), { level: 'good', note: 'Sore from the workout.' }),
    mood(4, at('2026-03-03T08:00:00Z'), { level: 'excellent' }),
  ]);
  const current = toPoint({ record: { topic: 'agg', partition: 0, offset: '9' }, snapshot, pointId: pointId('u-1', snapshot.window_end) }, Float32Array.from([1, 0]), { modelId: 'm', modelVersion: 'v', manifestSha256: 'h' });
  // The same point as a text-v2 index stored it: the work theme in the payload and in the text.
  const storedV2 = {
    id: current.id,
    payload: { ...current.payload, themes: ['work'], text: `${current.payload.text} Often mentions work (job, deadlines).`, text_version: 2 },
  };

  test('re-derives the facts fields with this build\'s lexicon, so themes agree with the new text', () => {
    assert.deepEqual(current.payload.recent_notes, ['Sore from the workout.', 'Worked out with Sam.', 'Great workout this morning.']);
    const text = rerenderText(storedV2.payload);
    assert.doesNotMatch(text, /Often mentions/);
    const version = { model_id: 'm2', model_version: 'v2', manifest_sha256: 'h2', text_version: 3 };
    const next = reindexedPoint(storedV2, text, Float32Array.from([0, 1]), version);
    assert.deepEqual(next.payload.themes, [], 'the v2 work theme is gone from the filterable field');
    assert.equal(next.payload.text, text);
    assert.deepEqual([next.payload.model_id, next.payload.manifest_sha256, next.payload.text_version], ['m2', 'h2', 3]);
    // Everything else is the stored point's: statistics, notes, source offsets, and the other facts.
    assert.deepEqual({ ...next.payload, themes: [], text: '', model_id: '', model_version: '', manifest_sha256: '', text_version: 0 }, { ...current.payload, themes: [], text: '', model_id: '', model_version: '', manifest_sha256: '', text_version: 0 });
    assert.deepEqual([next.payload.mood_level, next.payload.main_activity, next.payload.intensity], ['good', 'strength', 'hard']);
  });
});
