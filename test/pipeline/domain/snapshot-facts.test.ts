import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderText } from '../../../src/pipeline/domain/render-text.js';
import type { RenderInput } from '../../../src/pipeline/domain/render-text.js';
import { THEME_LEXICON, snapshotFacts } from '../../../src/pipeline/domain/snapshot-facts.js';

/** The themes a single note mentions, by the lexicon alone. */
const mentioned = (note: string): string[] =>
  Object.entries(THEME_LEXICON)
    .filter(([, pattern]) => pattern.test(note))
    .map(([theme]) => theme);

/** Per theme: notes that must mention it, and notes that must not (the false friends). */
const CASES: Record<string, { yes: string[]; no: string[] }> = {
  work: {
    yes: [
      'Deadline pressure at work again.',
      'Short session before work.',
      'Stretched after a long day at the desk.',
      'working late again',
      'Worked overtime all week',
      'she works nights',
      'workload is crazy',
      'new workplace',
      'long workday',
      'lunch with coworkers',
      'my co-worker quit',
      'a colleague covered for me',
      'busy office',
      'team meeting ran long',
      'meetings all day',
      'my boss yelled',
      'Anxious before the review, but it went fine.',
      'workout first, then work',
      'worked out of the office today',
      'working outside on the patio',
    ],
    no: [
      'great workout',
      'Two workouts today',
      'Workout was tough',
      'a quick work out before dinner',
      'worked out with Sam',
      'Working out in the park',
      'she works out daily',
      'a short work-out',
      'it all worked out in the end',
      'core work after the run',
      'Speed work on the track',
      'hill work, legs burning',
      'mobility work and foam rolling',
      'meeting up for a run',
      'meeting friends for dinner',
      'homework with the kids',
      'network was down',
    ],
  },
  sleep: {
    yes: ['Slept badly, feeling foggy.', 'Woke up rested for once.', 'so tired today', 'sleepy all afternoon', 'insomnia again', 'two naps', 'short nap'],
    no: ['tired of waiting', 'Easy pace, legs felt heavy.', 'snapped at him'],
  },
  family: {
    yes: ['Good talk with my sister tonight.', 'The kids were sick, long day.', 'walk with my partner', 'called mom', 'my parents visited'],
    no: ['new running partner', 'Training partner cancelled', 'gym-partner was late', 'just kidding'],
  },
  stress: {
    yes: ['stressed out', 'stressful day', 'Deadline pressure at work again.', 'Too much coffee, a bit jittery.', 'anxious about money', 'overwhelmed'],
    no: ['stress fracture in my foot', 'stress test at the clinic', 'blood pressure is fine', 'pressed 60 kg'],
  },
  friends: {
    yes: ['Dinner with friends, laughed a lot.', 'ran with a friend'],
    no: ['friendly staff at the gym', 'my boyfriend cooked'],
  },
};

describe('THEME_LEXICON', () => {
  test('covers exactly the themes tested here', () => {
    assert.deepEqual(Object.keys(THEME_LEXICON).sort(), Object.keys(CASES).sort());
  });
  for (const [theme, { yes, no }] of Object.entries(CASES)) {
    test(`${theme}: its words match, its false friends do not`, () => {
      for (const note of yes) assert.ok(mentioned(note).includes(theme), `"${note}" mentions ${theme} (got ${mentioned(note).join(', ') || 'none'})`);
      for (const note of no) assert.ok(!mentioned(note).includes(theme), `"${note}" does not mention ${theme} (got ${mentioned(note).join(', ')})`);
    });
  }
  test('exercise notes name no theme at all, a note about the job and exercise names work', () => {
    assert.deepEqual(mentioned('Great workout, then worked out some more'), []);
    assert.deepEqual(mentioned('Worked out after a long day at work'), ['work']);
  });
});

describe('themes of a window from its notes', () => {
  const input = (notes: string[]): RenderInput => ({
    window_days: 7,
    mood: {
      count: 3,
      mean: 3,
      min: 3,
      max: 3,
      stddev: 0,
      trend_per_day: 0,
      latest: 'moderate',
      distribution: { very_low: 0, low: 0, moderate: 3, good: 0, excellent: 0, unknown: 0 },
      top_tags: [],
    },
    activity: {
      sessions: 3,
      total_minutes: 120,
      minutes_by_type: { cardio: 0, strength: 120, flexibility: 0, mindfulness: 0, other: 0 },
      minutes_by_intensity: { low: 0, moderate: 120, high: 0, unknown: 0 },
      active_days: 3,
      streak_days: 1,
    },
    recent_notes: notes,
  });

  test('workout notes give no work theme, in the facts (the payload field) or the text', () => {
    const notes = input(['Great workout today.', 'Worked out with a friend, felt strong.', 'Working out before breakfast.']);
    assert.deepEqual(snapshotFacts(notes).themes, []);
    assert.equal(
      renderText(notes),
      'Mixed mood, so-so (3 logged). Mood stable and consistent, about the same each day. Moderate workouts: only strength training (weights, gym), about 2 hours this week. Exercises some days (3 of 7 days).',
    );
  });

  test('"deadline at work" notes give the work theme, in the facts and the text', () => {
    const notes = input(['Deadline at work, stayed late.', 'Another deadline at work.', 'Great workout today.']);
    assert.deepEqual(snapshotFacts(notes).themes, ['work']);
    assert.match(renderText(notes), /\. Often mentions work \(job, deadlines\)\.$/);
  });
});
