import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MOOD_LEVELS, type MoodLevel, type UserEvent } from '../../../src/contracts/events.js';
import type { UserWindow, WindowConfig, WindowEntry } from '../../../src/contracts/window.js';
import { encodeEntry } from '../../../src/adapters/codecs.js';
import { rollWindow } from '../../oracles/roll-window.js';
import { activityStats, moodScore, moodStats, recentNotes } from '../../../src/pipeline/domain/snapshot-stats.js';
import { foldEvent, loadWindowState, statisticsOf, windowOf, type WindowState } from '../../../src/pipeline/domain/window-state.js';
import { DAY, HOUR, activity, at, mood, seeded } from '../../support/aggregate-fixtures.js';

/**
 * The running statistics against their definition: every event of a random sequence is folded by
 * `foldEvent` and by `rollWindow`, and after each one the outcome, the window and every statistic
 * (floats compared bit for bit: deepStrictEqual uses Object.is) must be equal to
 * moodStats/activityStats/recentNotes over the reference window's entries.
 */

const TAGS = ['Work', 'work ', 'sleep', 'Family', 'gym', '  ', 'ÉTÉ', 'z', 'a'];
const NOTES = [null, '', '   ', 'short', ' padded note ', '😀'.repeat(250), 'x'.repeat(300)];
const LEVELS: MoodLevel[] = [...MOOD_LEVELS, 'unknown'];

function reference(window: UserWindow | undefined) {
  const entries = window?.entries ?? [];
  return {
    end: window?.end,
    eventCount: entries.length,
    mood: moodStats(entries),
    activity: activityStats(entries, window?.end ?? 0),
    recentNotes: recentNotes(entries),
  };
}

function running(state: WindowState | undefined) {
  if (state === undefined) return reference(undefined);
  const s = statisticsOf(state);
  return { end: s.end, eventCount: s.eventCount, mood: s.mood, activity: s.activity, recentNotes: s.recentNotes };
}

interface Shape {
  /** How far back an event may be placed, as a fraction of the window (> 1 gives late events). */
  spread: number;
  duplicateRate: number;
  /** Chance that time jumps forward by days (evicts by time). */
  jumpRate: number;
  maxEvents: number;
  windowDays: number;
  sameInstantRate: number;
}

function randomEvents(seed: number, n: number, shape: Shape): UserEvent[] {
  const r = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  let clock = at('2026-03-01T08:00:00Z');
  const out: UserEvent[] = [];
  for (let i = 0; i < n; i++) {
    if (out.length > 0 && r() < shape.duplicateRate) {
      out.push(pick(out));
      continue;
    }
    if (r() < shape.jumpRate) clock += Math.floor(r() * 3 * DAY);
    else clock += Math.floor(r() * 5 * HOUR);
    const back = Math.floor(r() * shape.spread * shape.windowDays * DAY);
    const occurredAt = r() < shape.sameInstantRate && out.length > 0 ? pick(out).occurred_at : clock - back;
    const id = 1000 + i;
    if (r() < 0.55) {
      const tags = Array.from({ length: Math.floor(r() * 4) }, () => pick(TAGS));
      out.push(mood(id, occurredAt, { level: pick(LEVELS), tags, note: pick(NOTES) }));
    } else {
      out.push(
        activity(id, occurredAt, {
          activity_type: pick(['cardio', 'strength', 'flexibility', 'mindfulness', 'other'] as const),
          intensity: pick(['low', 'moderate', 'high', 'unknown'] as const),
          duration_minutes: 1 + Math.floor(r() * 240),
          notes: pick(NOTES),
        }),
      );
    }
  }
  return out;
}

function check(seed: number, n: number, shape: Shape, reload = 0): { outcomes: Record<string, number>; maxLength: number } {
  const config: WindowConfig = { windowDays: shape.windowDays, maxEvents: shape.maxEvents };
  const events = randomEvents(seed, n, shape);
  let ref: UserWindow | undefined;
  let state: WindowState | undefined;
  const outcomes: Record<string, number> = { accepted: 0, late: 0, duplicate: 0 };
  let maxLength = 0;
  events.forEach((event, i) => {
    const seq = 10_000 + i;
    const a = rollWindow(ref, event, seq, config);
    const b = foldEvent(state, event, seq, config, encodeEntry);
    const where = `seed ${seed}, event ${i} (${event.type} at ${new Date(event.occurred_at).toISOString()})`;
    assert.equal(b.outcome, a.outcome, `outcome of ${where}`);
    outcomes[a.outcome]! += 1;
    ref = a.window;
    state = b.state;
    assert.deepEqual(windowOf(state), ref, `window after ${where}`);
    assert.deepEqual(state.encoded, ref.entries.map(encodeEntry), `encoded parts after ${where}`);
    assert.equal(state.encodedLength, state.encoded.reduce((n, p) => n + p.length, 0), `encoded length after ${where}`);
    assert.deepEqual(running(state), reference(ref), `statistics after ${where}`);
    maxLength = Math.max(maxLength, ref.entries.length);
    // A state rebuilt from the stored window (as after a restore) goes on identically.
    if (reload > 0 && i % reload === reload - 1) state = loadWindowState(structuredClone(windowOf(state)), encodeEntry);
  });
  return { outcomes, maxLength };
}

const BASE: Shape = { spread: 0.3, duplicateRate: 0.05, jumpRate: 0.05, maxEvents: 512, windowDays: 7, sameInstantRate: 0.05 };

describe('running window statistics equal their definition', () => {
  test('in-order events with some duplicates: long sequences, evicted by time', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const { outcomes } = check(seed, 400, { ...BASE, spread: 0 });
      assert.ok(outcomes.duplicate! > 0, `seed ${seed} has duplicates`);
    }
  });

  test('out-of-order and late events', () => {
    for (let seed = 11; seed <= 20; seed++) {
      const { outcomes } = check(seed, 300, { ...BASE, spread: 1.4 });
      assert.ok(outcomes.late! > 0, `seed ${seed} has late events`);
    }
  });

  test('eviction by the cap, including accepted events older than every kept entry', () => {
    for (let seed = 21; seed <= 30; seed++) {
      const { maxLength } = check(seed, 300, { ...BASE, spread: 0.9, maxEvents: 7, jumpRate: 0 });
      assert.equal(maxLength, 7, `seed ${seed} fills the cap`);
    }
  });

  test('a one-event cap and a one-day window', () => {
    for (let seed = 31; seed <= 36; seed++) check(seed, 200, { ...BASE, spread: 0.8, maxEvents: 1, windowDays: 1 });
  });

  test('many events at one instant (ties broken by seq) and heavy duplication', () => {
    for (let seed = 41; seed <= 46; seed++) check(seed, 250, { ...BASE, sameInstantRate: 0.6, duplicateRate: 0.3 });
  });

  test('states rebuilt from stored windows mid-sequence go on identically', () => {
    for (let seed = 51; seed <= 56; seed++) check(seed, 300, { ...BASE, spread: 0.7, maxEvents: 40 }, 17);
  });

  test('empty and one-event windows', () => {
    const empty = loadWindowState({ user_id: 'u-1', end: 0, entries: [] });
    assert.deepEqual(running(empty), { ...reference({ user_id: 'u-1', end: 0, entries: [] }) }, 'empty window');
    const one = foldEvent(undefined, mood(1, at('2026-03-01T10:00:00Z'), { level: 'good', tags: ['Work'], note: ' hi ' }), 5, { windowDays: 7, maxEvents: 512 });
    assert.equal(one.outcome, 'accepted', 'a first event is accepted');
    const s = statisticsOf(one.state);
    assert.equal(s.mood.count, 1, 'one mood');
    assert.equal(s.mood.stddev, 0, 'no spread');
    assert.equal(s.mood.trend_per_day, null, 'no trend with one point');
    assert.deepEqual(s.recentNotes, ['hi'], 'trimmed note');
    assert.deepEqual(s.mood.top_tags, [{ tag: 'work', count: 1 }], 'normalised tag');
    assert.deepEqual(running(one.state), reference(windowOf(one.state)), 'equals the definition');
  });

  test('an event of another user is refused', () => {
    const one = foldEvent(undefined, mood(1, at('2026-03-01')), 1, { windowDays: 7, maxEvents: 5 });
    assert.throws(() => foldEvent(one.state, mood(2, at('2026-03-02'), { user_id: 'u-2' }), 2, { windowDays: 7, maxEvents: 5 }), (e: unknown) => e instanceof Error && /another user/.test(e.message) && !e.message.includes('u-2'), 'refused without naming the user ids (the message reaches the log)');
  });

  test('an unsorted stored window is sorted once on load', () => {
    const sorted = foldEvent(foldEvent(undefined, mood(1, at('2026-03-01')), 1, { windowDays: 7, maxEvents: 5 }).state, mood(2, at('2026-03-02')), 2, { windowDays: 7, maxEvents: 5 }).state;
    const stored = windowOf(sorted);
    const reversed: UserWindow = { ...stored, entries: [...stored.entries].reverse() };
    assert.deepEqual(windowOf(loadWindowState(reversed)), stored, 'entries in (occurred_at, seq) order');
  });
});

describe('the float statistics from exact integer sums', () => {
  // Before the running statistics, stddev and trend summed float deviations in time order. The
  // integer-sum formulas are the same quantities, rounded once instead of at every step: they
  // agree with the old formulas to a few units in the last place.
  function legacy(entries: readonly WindowEntry[]): { stddev: number | null; trend: number | null } {
    const scored = entries
      .filter((e) => e.kind === 'mood')
      .flatMap((e) => {
        const score = moodScore(e.level);
        return score === null ? [] : [{ score, t: e.occurred_at }];
      });
    if (scored.length === 0) return { stddev: null, trend: null };
    const mean = scored.reduce((n, s) => n + s.score, 0) / scored.length;
    const stddev = Math.sqrt(scored.reduce((n, s) => n + (s.score - mean) ** 2, 0) / scored.length);
    if (scored.length < 2 || new Set(scored.map((s) => s.t)).size < 2) return { stddev, trend: null };
    const xs = scored.map((s) => (s.t - scored[0]!.t) / DAY);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    let sxx = 0;
    let sxy = 0;
    xs.forEach((x, i) => {
      sxx += (x - mx) ** 2;
      sxy += (x - mx) * (scored[i]!.score - mean);
    });
    return { stddev, trend: sxy / sxx };
  }

  test('agree with the step-by-step float formulas to 1e-9 relative on random windows', () => {
    for (let seed = 61; seed <= 80; seed++) {
      let state: WindowState | undefined;
      for (const event of randomEvents(seed, 200, BASE)) state = foldEvent(state, event, 0, { windowDays: 7, maxEvents: 512 }).state;
      const now = statisticsOf(state!).mood;
      const old = legacy(state!.entries);
      for (const [name, a, b] of [['stddev', now.stddev, old.stddev], ['trend', now.trend_per_day, old.trend]] as const) {
        assert.equal(a === null, b === null, `${name} null alike (seed ${seed})`);
        if (a !== null && b !== null) assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${name}: ${a} vs ${b} (seed ${seed})`);
      }
    }
  });
});
