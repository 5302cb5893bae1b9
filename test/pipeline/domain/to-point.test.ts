import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserEvent } from '../../../src/contracts/events.js';
import { pointId } from '../../../src/contracts/ids.js';
import { toPoint } from '../../../src/pipeline/domain/to-point.js';
import { activity, at, mood } from '../../support/aggregate-fixtures.js';
import { snapshotOfEvents as snapshotOf } from '../../support/snapshot-of-events.js';
import { TEXT_VERSION } from '../../../src/pipeline/domain/render-text.js';

describe('toPoint', () => {
  const events: UserEvent[] = [
    mood(1, at('2026-03-01T08:00:00Z'), { level: 'excellent', tags: ['Work', 'sleep'] }),
    activity(2, at('2026-03-02T07:00:00Z'), { activity_type: 'mindfulness', intensity: 'low', duration_minutes: 50 }),
    mood(3, at('2026-03-03T08:00:00Z'), { level: 'good', tags: ['work'], note: 'slept badly' }),
    activity(4, at('2026-03-03T18:00:00Z'), { activity_type: 'cardio', intensity: 'high', duration_minutes: 20 }),
    mood(5, at('2026-03-04T08:00:00Z'), { level: 'low', tags: ['sleep'] }),
  ];
  const snapshot = snapshotOf(events);
  const vector = Float32Array.from([1, 0, 0]);
  const p = toPoint({ record: { topic: 'agg', partition: 4, offset: '77' }, snapshot, pointId: pointId('u-1', snapshot.window_end) }, vector, { modelId: 'm', modelVersion: 'v', manifestSha256: 'h'.repeat(64) });

  test('the payload carries the statistics as fields', () => {
    assert.equal(p.id, pointId('u-1', at('2026-03-04T08:00:00Z')));
    assert.equal(p.vector, vector);
    const q = p.payload;
    assert.deepEqual(
      [q.user_id, q.day, q.window_end, q.window_days, q.event_count, q.mood_count, q.mood_mean, q.mood_min, q.mood_max, q.mood_latest],
      ['u-1', '2026-03-04', at('2026-03-04T08:00:00Z'), 7, 5, 3, 11 / 3, 2, 5, 'low'],
    );
    assert.ok(q.mood_trend_per_day !== null && q.mood_trend_per_day < 0, `falling mood: ${q.mood_trend_per_day}`);
    assert.deepEqual(q.mood_distribution, { very_low: 0, low: 1, moderate: 0, good: 1, excellent: 1, unknown: 0 });
    assert.deepEqual([q.activity_sessions, q.activity_minutes, q.active_days, q.streak_days], [2, 70, 2, 0]);
    assert.deepEqual(q.minutes_by_type, { cardio: 20, strength: 0, flexibility: 0, mindfulness: 50, other: 0 });
    assert.deepEqual(q.minutes_by_intensity, { low: 50, moderate: 0, high: 20, unknown: 0 });
    assert.deepEqual(q.top_tags, [{ tag: 'sleep', count: 2 }, { tag: 'work', count: 2 }]);
    assert.deepEqual(q.recent_notes, ['slept badly']);
    assert.equal(q.text, snapshot.text);
    assert.deepEqual([q.model_id, q.model_version, q.snapshot_topic, q.snapshot_partition, q.snapshot_offset, q.event_partition, q.event_offset], ['m', 'v', 'agg', 4, 77, 2, 104]);
  });

  test('the payload names the model, its manifest and the text version that made the point', () => {
    assert.deepEqual([p.payload.model_id, p.payload.manifest_sha256, p.payload.text_version], ['m', 'h'.repeat(64), TEXT_VERSION]);
  });

  test('the payload carries the facts the text states, for filters', () => {
    const q = p.payload;
    // mean 11/3 ≥ 3.5 → good; 3 scored moods falling by more than 0.1/day → worse; sd 1.25 → variable.
    assert.deepEqual([q.mood_level, q.mood_direction, q.mood_variable], ['good', 'worse', true]);
    // mindfulness 50 of 70 min; low 50 of 70 known-intensity minutes.
    assert.deepEqual([q.main_activity, q.intensity], ['mindfulness', 'gentle']);
    // sleep: 2 moods + the note "slept badly"; work: 2 moods; 3 moods → floor 2.
    assert.deepEqual(q.themes, ['sleep', 'work']);
    assert.match(q.text, /^Good mood, fairly happy \(3 logged\)\. Mood getting worse, feeling worse lately\. Mood varies a lot, ups and downs from day to day\. Gentle, easy workouts: mostly mindfulness \(meditation, breathing exercises\), about 70 minutes this week\./);
    assert.match(q.text, /Often mentions sleep and tiredness and work \(job, deadlines\)\./);
  });

  test('equal inputs give equal payloads, key order included', () => {
    const again = toPoint({ record: { topic: 'agg', partition: 4, offset: '77' }, snapshot: snapshotOf(events), pointId: p.id }, vector, { modelId: 'm', modelVersion: 'v', manifestSha256: 'h'.repeat(64) });
    assert.equal(JSON.stringify(again.payload), JSON.stringify(p.payload));
  });
});
