import { ACTIVITY_TYPES, INTENSITIES, MOOD_LEVELS } from '../contracts/events.js';
import type { ActivityCreated, ActivityType, Intensity, MoodCreated, MoodLevel, UserEvent } from '../contracts/events.js';
import { generatorUuid } from './ids.js';
import { DAY_MS } from './options.js';
import type { Persona } from './personas.js';
import { TAGS } from './personas.js';
import type { Prng } from './prng.js';

const MOOD_NOTES = [
  'Slept badly, feeling foggy.',
  'Good talk with my sister tonight.',
  'Deadline pressure at work again.',
  'Walked by the river at lunch and felt lighter.',
  'Anxious before the review, but it went fine.',
  'Quiet evening with a book.',
  'The kids were sick, long day.',
  'Calm after a short meditation.',
  'Too much coffee, a bit jittery.',
  'Dinner with friends, laughed a lot.',
  'Hard to focus this afternoon.',
  'Woke up rested for once.',
];
const ACTIVITY_NOTES = [
  'Easy pace, legs felt heavy.',
  'New personal best on the rower.',
  'Short session before work.',
  'Hips are tight, more stretching needed.',
  'Breathing exercise during the lunch break.',
  'Intervals in the park.',
  'Stretched after a long day at the desk.',
  'Guided meditation, ten minutes felt long.',
  'Rainy run, still glad I went.',
  'Gym was crowded, cut it short.',
];

function pickNote(rng: Prng, persona: Persona, sentences: readonly string[], noteLength: number | undefined): string | null {
  if (noteLength !== undefined) {
    // Sentences run together and cut to exactly noteLength characters (all ASCII).
    let note = rng.pick(sentences);
    while (note.length < noteLength) note += ` ${rng.pick(sentences)}`;
    // No whitespace at either end: a snapshot trims a note, and it must keep all noteLength characters.
    return `${note.slice(0, noteLength - 1).trimEnd()}.`.padEnd(noteLength, '.');
  }
  if (rng.chance(persona.noteChance)) {
    if (!rng.chance(0.05)) return rng.pick(sentences);
    // A rambling note past the 200 characters a snapshot keeps.
    let note = rng.pick(sentences);
    while (note.length <= 200) note += ` ${rng.pick(sentences)}`;
    return note;
  }
  return rng.chance(0.15) ? '' : null;
}

/** Tag as a sloppy client may send it: 'work', 'Work', ' Work ', 'WORK', 'work '. */
function messyTag(rng: Prng, tag: string): string {
  if (!rng.chance(0.12)) return tag;
  const capitalised = tag.charAt(0).toUpperCase() + tag.slice(1);
  return rng.pick([capitalised, ` ${capitalised} `, tag.toUpperCase(), `${tag} `]);
}

function pickTags(rng: Prng, persona: Persona): string[] {
  const count = rng.weighted([2, 4, 3, 1]);
  const chosen: string[] = [];
  for (let attempt = 0; chosen.length < count && attempt < 10; attempt++) {
    const tag = rng.chance(0.75) ? rng.pick(persona.favouriteTags) : rng.pick(TAGS);
    // One occurrence per normalised tag and mood, whatever its spelling.
    if (!chosen.includes(tag)) chosen.push(tag);
  }
  return chosen.map((tag) => messyTag(rng, tag));
}

function moodLevel(rng: Prng, persona: Persona, occurredAt: number, startMs: number): MoodLevel {
  // The Avro enum default, as a newer producer's symbol would read.
  if (rng.chance(0.005)) return 'unknown';
  const days = (occurredAt - startMs) / DAY_MS;
  const score = persona.moodBase + persona.moodSlopePerDay * days + persona.moodNoise * rng.gauss();
  const level = Math.min(5, Math.max(1, Math.round(score)));
  return MOOD_LEVELS[level - 1] as MoodLevel;
}

function activityType(rng: Prng, persona: Persona): { type: ActivityType; typeIndex: number } {
  const typeIndex = rng.weighted(persona.activityWeights);
  if (rng.chance(0.005)) return { type: 'other', typeIndex };
  return { type: ACTIVITY_TYPES[typeIndex] as ActivityType, typeIndex };
}

function intensity(rng: Prng, persona: Persona, type: ActivityType): Intensity {
  if (rng.chance(0.005)) return 'unknown';
  const weights = type === 'mindfulness' ? [6, 1, 0.1] : persona.intensityWeights;
  return INTENSITIES[rng.weighted(weights)] as Intensity;
}

export interface EventContext {
  seedKey: string;
  startMs: number;
  /** Every note exactly this long (the heavy profile); unset = the persona's habits. */
  noteLength?: number;
}

function generatorId(ctx: EventContext, kind: string, index: number): string {
  return generatorUuid(`${ctx.seedKey}/${kind}/${index}`);
}

export function makeEvent(
  ctx: EventContext,
  rng: Prng,
  persona: Persona,
  index: number,
  occurredAt: number,
  forceType?: UserEvent['type'],
): UserEvent {
  const type = forceType ?? (rng.chance(persona.moodShare) ? 'MoodCreated' : 'ActivityCreated');
  const sourceDraw = rng.next();
  const envelope = {
    event_id: generatorId(ctx, 'event', index),
    user_id: persona.userId,
    occurred_at: occurredAt,
    // W3C-shaped trace id (32 hex digits) on most events.
    trace_id: rng.chance(0.9) ? generatorId(ctx, 'trace', index).replaceAll('-', '') : null,
    source: sourceDraw < 0.02 ? null : sourceDraw < 0.02 + persona.apiShare ? 'api' : 'app',
  };
  if (type === 'MoodCreated') {
    const mood: MoodCreated = {
      ...envelope,
      type,
      mood_id: generatorId(ctx, 'mood', index),
      level: moodLevel(rng, persona, occurredAt, ctx.startMs),
      recorded_at: occurredAt,
      note: pickNote(rng, persona, MOOD_NOTES, ctx.noteLength),
      tags: pickTags(rng, persona),
    };
    return mood;
  }
  const { type: activity_type, typeIndex } = activityType(rng, persona);
  const usual = persona.usualMinutes[typeIndex] as number;
  const activity: ActivityCreated = {
    ...envelope,
    type,
    activity_id: generatorId(ctx, 'activity', index),
    activity_type,
    intensity: intensity(rng, persona, activity_type),
    duration_minutes: Math.min(120, Math.max(10, Math.round(usual * rng.range(0.7, 1.35)))),
    session_date: occurredAt - (((occurredAt % DAY_MS) + DAY_MS) % DAY_MS),
    notes: pickNote(rng, persona, ACTIVITY_NOTES, ctx.noteLength),
  };
  return activity;
}

export function cloneEvent(event: UserEvent): UserEvent {
  return event.type === 'MoodCreated' ? { ...event, tags: [...event.tags] } : { ...event };
}
