import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderText } from '../../../src/pipeline/domain/render-text.js';
import { THEME_LEXICON, snapshotFacts } from '../../../src/pipeline/domain/snapshot-facts.js';
import { activity, at, mood } from '../../support/aggregate-fixtures.js';
import { snapshotOfEvents } from '../../support/snapshot-of-events.js';

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
  /** Three moderate moods, one a day, each with its note, and an hour of strength training. */
  const windowOf = (notes: [string, string, string]) =>
    snapshotOfEvents([
      activity(1, at('2026-03-01T07:00:00Z'), { activity_type: 'strength', intensity: 'moderate', duration_minutes: 60 }),
      ...notes.map((note, i) => mood(2 + i, at(`2026-03-0${i + 1}T08:00:00Z`), { level: 'moderate', note })),
    ]);

  test('workout notes give no work theme, in the facts (the payload field) or the text', () => {
    const w = windowOf(['Great workout today.', 'Worked out with a friend, felt strong.', 'Working out before breakfast.']);
    assert.deepEqual(w.recent_notes, ['Working out before breakfast.', 'Worked out with a friend, felt strong.', 'Great workout today.']);
    assert.deepEqual(snapshotFacts(w).themes, []);
    assert.equal(
      renderText(w),
      'Mixed mood, so-so (3 logged). Mood stable and consistent, about the same each day. Moderate workouts: only strength training (weights, gym), about 60 minutes this week. Barely active, little exercise (1 of 7 days).',
    );
  });

  test('"deadline at work" notes give the work theme, in the facts and the text', () => {
    const w = windowOf(['Deadline at work, stayed late.', 'Another deadline at work.', 'Great workout today.']);
    assert.deepEqual(snapshotFacts(w).themes, ['work']);
    assert.match(renderText(w), /\. Often mentions work \(job, deadlines\)\.$/);
  });
});
