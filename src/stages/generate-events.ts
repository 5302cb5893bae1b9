import { createHash } from 'node:crypto';
import { ACTIVITY_TYPES, INTENSITIES, MOOD_LEVELS } from '../contracts/events.js';
import type { ActivityCreated, ActivityType, Intensity, MoodCreated, MoodLevel, UserEvent } from '../contracts/events.js';
import { AuraError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { MIN_OCCURRED_AT } from './validate-event.js';

/**
 * Deterministic workload behind `aura-stream produce` and the demo: realistic mood and activity
 * events for N users, mixed with late, duplicate and poison records whose class is known up front,
 * so a run can be accounted for exactly against what the `aggregate` stage counted.
 *
 * Pure: no I/O, no clock, no Math.random. The same options (seed included) give the same records.
 * The generator replays docs/ARCHITECTURE.md §3's window rules per user (event-time window and entry cap), so
 * every record's `class` is what a consumer applying those rules must conclude, provided the
 * records of a user reach it in generation order (key = user id, one partition per key).
 */

/** Every poison class of docs/ARCHITECTURE.md §5, in the order the generator rotates through them. */
export const POISON_KINDS = [
  'wrong-magic-byte',
  'unknown-schema-id',
  'undecodable',
  'unknown-record-type',
  'blank-user-id',
  'key-mismatch',
  'future-timestamp',
  'out-of-range',
] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

/**
 * Poison kinds the producer has to materialise as bytes (the record carries no `event`):
 * - `wrong-magic-byte`: a first byte other than 0;
 * - `unknown-schema-id`: magic 0 and a schema id the registry does not know;
 * - `undecodable`: magic 0, a known schema id, a body that is not valid Avro for it;
 * - `unknown-record-type`: a well-formed record of a type the stage does not handle.
 * The other kinds carry an `event` that encodes fine and breaks one validation rule.
 */
export const WIRE_POISON_KINDS: readonly PoisonKind[] = ['wrong-magic-byte', 'unknown-schema-id', 'undecodable', 'unknown-record-type'];

/** The error code a stage must report (DLQ header, metric label) for each poison kind. */
export const POISON_ERROR_CODES: Record<PoisonKind, ErrorCode> = {
  'wrong-magic-byte': 'WRONG_MAGIC_BYTE',
  'unknown-schema-id': 'UNKNOWN_SCHEMA_ID',
  undecodable: 'UNDECODABLE',
  'unknown-record-type': 'UNKNOWN_RECORD_TYPE',
  'blank-user-id': 'MISSING_USER_ID',
  'key-mismatch': 'KEY_MISMATCH',
  'future-timestamp': 'FUTURE_TIMESTAMP',
  'out-of-range': 'OUT_OF_RANGE',
};

export const RECORD_CLASSES = ['valid', 'late', 'duplicate', 'poison'] as const;
export type RecordClass = (typeof RECORD_CLASSES)[number];

export interface GeneratedRecord {
  /** Position in the generated sequence, from 0; the producer sends records in this order. */
  index: number;
  class: RecordClass;
  /** Set when `class` is 'poison'. */
  poisonKind?: PoisonKind;
  /** Kafka key: the user id ('' for 'blank-user-id', another user for 'key-mismatch'). */
  key: string | null;
  /** Set for valid, late, duplicate and the semantic poison kinds; absent for the wire kinds. */
  event?: UserEvent;
  /** The Kafka record timestamp (CreateTime) the producer must set, epoch ms. */
  timestampMs: number;
}

export interface GenerateEventsOptions {
  /** Same seed, same records. A number and its decimal string are the same seed. */
  seed: number | string;
  /** Users `user-0001` … `user-<users>`, each with a persona derived from the seed (≥ 1). */
  users: number;
  /** Number of records to generate, all classes included (≥ 0). */
  events: number;
  /**
   * Epoch ms of the first event time; event times run from here over `spanDays`. Late events reach
   * back `windowDays` + 2 days before it, which must not precede MIN_OCCURRED_AT (2000-01-01).
   */
  startMs: number;
  /** Days the event times spread over (default 10). */
  spanDays?: number;
  /** Share of records that are late: older than the user's window (default 0.02). */
  lateFraction?: number;
  /** Share of records that re-send an event still in the user's window (default 0.02). */
  duplicateFraction?: number;
  /** Share of poison records, rotating through POISON_KINDS (default 0.01). */
  poisonFraction?: number;
  /** The stage's WINDOW_DAYS, which decides what is late (default 7). */
  windowDays?: number;
  /** The stage's WINDOW_MAX_EVENTS, which decides what a duplicate can repeat (default 512). */
  maxEvents?: number;
}

export const GENERATE_DEFAULTS = {
  spanDays: 10,
  lateFraction: 0.02,
  duplicateFraction: 0.02,
  poisonFraction: 0.01,
  windowDays: 7,
  maxEvents: 512,
} as const;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Largest ingest delay the generator adds to an event time (offline sync); see `latestTimestampMs`. */
const MAX_INGEST_DELAY_MS = 20 * MINUTE_MS;
/** A future-timestamp poison is this far past its Kafka timestamp; the rule's limit is 24 h. */
const FUTURE_SKEW_MS = 3 * DAY_MS;
/** Late events lie up to this far before their user's window. */
const MAX_LATE_BEHIND_MS = 2 * DAY_MS;
/** Duplicates repeat one of the newest entries of the user's window, far from the cap's edge. */
const DUPLICATE_RECENT = 50;
/** Namespace of the generator's UUIDv5 ids; names are `<seed>/<kind>/<index>`. Fixed forever. */
export const GENERATOR_NAMESPACE = 'a7c3e1f0-5d2b-5c8e-9f14-3b6d2e8a0c57';
const NAMESPACE_BYTES = Buffer.from(GENERATOR_NAMESPACE.replaceAll('-', ''), 'hex');

/**
 * RFC 9562 UUIDv5 of `name` in GENERATOR_NAMESPACE: SHA-1(namespace bytes ‖ UTF-8 name), first 16
 * bytes, version nibble 5, variant 10. Equal to `uuid`'s v5, without re-parsing the namespace on
 * every call (three ids per event make that the generator's hot path).
 */
export function generatorUuid(name: string): string {
  const bytes = createHash('sha1').update(NAMESPACE_BYTES).update(name, 'utf8').digest();
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Upper bound of every `timestampMs` a run produces. Brokers reject CreateTimes too far ahead of
 * their clock, so a live producer should pick `startMs` with this ≤ now.
 */
export function latestTimestampMs(startMs: number, spanDays: number = GENERATE_DEFAULTS.spanDays): number {
  return startMs + Math.ceil(spanDays * DAY_MS) + MAX_INGEST_DELAY_MS;
}

export function userIdOf(userNumber: number): string {
  return `user-${String(userNumber).padStart(4, '0')}`;
}

/**
 * Validates the options up front (a CONFIG error names the offending option) and returns a lazy
 * iterable of `events` records.
 */
export function generateEvents(options: GenerateEventsOptions): Iterable<GeneratedRecord> {
  const compiled = compileOptions(options);
  return { [Symbol.iterator]: () => generate(compiled) };
}

interface CompiledOptions {
  seedKey: string;
  users: number;
  events: number;
  startMs: number;
  spanMs: number;
  lateFraction: number;
  duplicateFraction: number;
  poisonFraction: number;
  windowMs: number;
  maxEvents: number;
}

function compileOptions(options: GenerateEventsOptions): CompiledOptions {
  const { seed } = options;
  if (!(typeof seed === 'string' || (typeof seed === 'number' && Number.isFinite(seed)))) {
    throw configError('seed', 'a finite number or a string', seed);
  }
  const users = requireInteger('users', options.users, 1);
  const events = requireInteger('events', options.events, 0);
  const startMs = requireInteger('startMs', options.startMs, 0);
  const spanDays = requirePositive('spanDays', options.spanDays ?? GENERATE_DEFAULTS.spanDays);
  const windowDays = requirePositive('windowDays', options.windowDays ?? GENERATE_DEFAULTS.windowDays);
  const maxEvents = requireInteger('maxEvents', options.maxEvents ?? GENERATE_DEFAULTS.maxEvents, 1);
  const lateFraction = requireFraction('lateFraction', options.lateFraction ?? GENERATE_DEFAULTS.lateFraction);
  const duplicateFraction = requireFraction('duplicateFraction', options.duplicateFraction ?? GENERATE_DEFAULTS.duplicateFraction);
  const poisonFraction = requireFraction('poisonFraction', options.poisonFraction ?? GENERATE_DEFAULTS.poisonFraction);
  const windowMs = Math.round(windowDays * DAY_MS);
  const earliestStartMs = MIN_OCCURRED_AT + windowMs + MAX_LATE_BEHIND_MS;
  if (startMs < earliestStartMs) {
    throw configError('startMs', `≥ ${earliestStartMs} (${new Date(earliestStartMs).toISOString()}), so late events stay after 2000-01-01`, startMs);
  }
  if (lateFraction + duplicateFraction + poisonFraction > 1) {
    throw new AuraError('CONFIG', `lateFraction + duplicateFraction + poisonFraction must not exceed 1 (got ${lateFraction + duplicateFraction + poisonFraction})`);
  }
  return {
    seedKey: String(seed),
    users,
    events,
    startMs,
    spanMs: Math.round(spanDays * DAY_MS),
    lateFraction,
    duplicateFraction,
    poisonFraction,
    windowMs,
    maxEvents,
  };
}

function configError(name: string, accepted: string, got: unknown): AuraError {
  return new AuraError('CONFIG', `generateEvents option ${name} must be ${accepted} (got ${JSON.stringify(got) ?? String(got)})`);
}

function requireInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw configError(name, `an integer ≥ ${min}`, value);
  return value;
}

function requirePositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw configError(name, 'a number > 0', value);
  return value;
}

function requireFraction(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw configError(name, 'a number in [0, 1]', value);
  return value;
}

// ── Seeded randomness ────────────────────────────────────────────────────────────────────────────

/**
 * sfc32 (Chris Doty-Humphrey's small fast counter, 128-bit state) seeded from a string hash.
 * Integer arithmetic only, so every engine gives the same bits.
 */
class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(key: string) {
    [this.a, this.b, this.c, this.d] = hashKey(key);
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Index drawn with probability proportional to `weights`. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] as number;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** Approximately standard normal (Irwin–Hall of three uniforms): no transcendental functions. */
  gauss(): number {
    return (this.next() + this.next() + this.next() - 1.5) * 2;
  }
}

/** Four 32-bit lanes of FNV-1a over the key's UTF-16 units, each finished with murmur3's fmix32. */
function hashKey(key: string): [number, number, number, number] {
  const lane = (salt: number): number => {
    let h = (0x811c9dc5 ^ Math.imul(salt, 0x9e3779b9)) >>> 0;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  };
  return [lane(1), lane(2), lane(3), lane(4)];
}

// ── Personas ─────────────────────────────────────────────────────────────────────────────────────

type MoodTrend = 'improving' | 'declining' | 'steady' | 'volatile';

interface Persona {
  userId: string;
  /** Relative share of the traffic. */
  weight: number;
  /** Probability that one of the user's events is a mood (otherwise an activity). */
  moodShare: number;
  trend: MoodTrend;
  /** Mood score (1–5) at startMs, its drift per day and the spread around it. */
  moodBase: number;
  moodSlopePerDay: number;
  moodNoise: number;
  /** Weights over ACTIVITY_TYPES, and the user's usual minutes per type. */
  activityWeights: number[];
  usualMinutes: number[];
  /** Weights over INTENSITIES. */
  intensityWeights: number[];
  favouriteTags: string[];
  noteChance: number;
  apiShare: number;
}

const TAGS = ['work', 'sleep', 'family', 'exercise', 'stress', 'friends', 'outdoors', 'meditation'] as const;
/** Usual session minutes per ACTIVITY_TYPES entry: [low, high] of a persona's habit. */
const MINUTES_RANGE: Record<(typeof ACTIVITY_TYPES)[number], [number, number]> = {
  cardio: [20, 70],
  strength: [30, 80],
  flexibility: [15, 45],
  mindfulness: [10, 30],
};

function makePersona(seedKey: string, userNumber: number, spanDays: number): Persona {
  const rng = new Prng(`${seedKey}/persona/${userNumber}`);
  const trend = rng.pick<MoodTrend>(['improving', 'declining', 'steady', 'steady', 'volatile']);
  // Improving and declining users move about two levels across the span.
  const drift = rng.range(1.2, 2.2) / Math.max(spanDays, 1);
  const mood = {
    improving: { base: rng.range(1.6, 2.6), slope: drift, noise: 0.5 },
    declining: { base: rng.range(3.6, 4.6), slope: -drift, noise: 0.5 },
    steady: { base: rng.range(2.6, 4.2), slope: 0, noise: 0.45 },
    volatile: { base: rng.range(2.6, 3.4), slope: 0, noise: 1.2 },
  }[trend];
  const favouriteType = rng.int(0, ACTIVITY_TYPES.length - 1);
  const activityWeights = ACTIVITY_TYPES.map((_, i) => (i === favouriteType ? 6 : rng.range(0.3, 2.5)));
  const usualMinutes = ACTIVITY_TYPES.map((type) => {
    const [low, high] = MINUTES_RANGE[type];
    return rng.range(low, high);
  });
  const intensityWeights = [rng.range(0.5, 3), rng.range(1, 4), rng.range(0.2, 2.5)];
  const favouriteTags: string[] = [];
  while (favouriteTags.length < 3) {
    const tag = rng.pick(TAGS);
    if (!favouriteTags.includes(tag)) favouriteTags.push(tag);
  }
  return {
    userId: userIdOf(userNumber),
    weight: rng.range(0.4, 2),
    moodShare: rng.range(0.35, 0.7),
    trend,
    moodBase: mood.base,
    moodSlopePerDay: mood.slope,
    moodNoise: mood.noise,
    activityWeights,
    usualMinutes,
    intensityWeights,
    favouriteTags,
    noteChance: rng.range(0.2, 0.6),
    apiShare: rng.range(0, 0.3),
  };
}

// ── Event content ────────────────────────────────────────────────────────────────────────────────

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

function pickNote(rng: Prng, persona: Persona, sentences: readonly string[]): string | null {
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

interface EventContext {
  seedKey: string;
  startMs: number;
}

function generatorId(ctx: EventContext, kind: string, index: number): string {
  return generatorUuid(`${ctx.seedKey}/${kind}/${index}`);
}

function makeEvent(
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
      note: pickNote(rng, persona, MOOD_NOTES),
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
    notes: pickNote(rng, persona, ACTIVITY_NOTES),
  };
  return activity;
}

function cloneEvent(event: UserEvent): UserEvent {
  return event.type === 'MoodCreated' ? { ...event, tags: [...event.tags] } : { ...event };
}

// ── The stage's window, replayed ─────────────────────────────────────────────────────────────────

/**
 * The newest `keep` entries of a user's window as docs/ARCHITECTURE.md §3 defines it. The stage's window is the
 * accepted events with occurred_at in (end - window, end], cut to the newest maxEvents by
 * (occurred_at, seq). Time eviction drops a prefix of that order and the cap keeps a suffix, so
 * with keep ≤ maxEvents the newest `keep` accepted events, time-evicted, are exactly the newest
 * `keep` entries of the stage's window: a duplicate of any of them is one the stage still knows,
 * and memory stays at `keep` events per user.
 */
interface SimWindow {
  /** Largest accepted occurred_at, as the stage's `end`. */
  end: number;
  /** Sorted by (occurred_at, seq) ascending. */
  entries: { seq: number; event: UserEvent }[];
}

function accept(window: SimWindow, event: UserEvent, seq: number, windowMs: number, keep: number): void {
  const { entries } = window;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const entry = entries[mid] as SimWindow['entries'][number];
    if (entry.event.occurred_at < event.occurred_at || (entry.event.occurred_at === event.occurred_at && entry.seq < seq)) lo = mid + 1;
    else hi = mid;
  }
  entries.splice(lo, 0, { seq, event: cloneEvent(event) });
  window.end = Math.max(window.end, event.occurred_at);
  let evicted = 0;
  while (evicted < entries.length && (entries[evicted] as SimWindow['entries'][number]).event.occurred_at <= window.end - windowMs) evicted++;
  evicted = Math.max(evicted, entries.length - keep);
  if (evicted > 0) entries.splice(0, evicted);
}

// ── The sequence ─────────────────────────────────────────────────────────────────────────────────

function* generate(options: CompiledOptions): Generator<GeneratedRecord, void, undefined> {
  const { seedKey, users, events, startMs, spanMs, windowMs, maxEvents } = options;
  // Duplicates come from the newest entries only, so a stage whose cap breaks ties differently agrees too.
  const keep = Math.min(DUPLICATE_RECENT, Math.ceil(maxEvents / 2));
  const ctx: EventContext = { seedKey, startMs };
  const spanDays = spanMs / DAY_MS;
  const personas = Array.from({ length: users }, (_, i) => makePersona(seedKey, i + 1, spanDays));
  const cumulativeWeights: number[] = [];
  let totalWeight = 0;
  for (const persona of personas) cumulativeWeights.push((totalWeight += persona.weight));
  const rng = new Prng(`${seedKey}/stream`);

  const windows = new Map<number, SimWindow>();
  /** Users with at least one accepted event, in order of their first one. */
  const activeUsers: number[] = [];
  // Classes drawn before any user could carry them (nothing accepted yet) are emitted later.
  let owedLate = 0;
  let owedDuplicate = 0;
  let poisonCount = 0;
  // Out-of-order jitter stays far inside the window, so a valid event is never late.
  const maxJitterMs = Math.min(3 * HOUR_MS, Math.floor(windowMs / 4));

  const pickUser = (): number => {
    const u = rng.next() * totalWeight;
    let lo = 0;
    let hi = users - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulativeWeights[mid] as number) <= u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const pickActiveUser = (): number => {
    const preferred = pickUser();
    return windows.has(preferred) ? preferred : (activeUsers[Math.floor(rng.next() * activeUsers.length)] as number);
  };
  const ingestDelay = (): number => (rng.chance(0.95) ? rng.int(20, 2_000) : rng.int(MINUTE_MS, MAX_INGEST_DELAY_MS));

  for (let index = 0; index < events; index++) {
    // The stream's clock: event times advance evenly over the span.
    const nowMs = startMs + Math.floor((index * spanMs) / Math.max(events, 1));
    const draw = rng.next();
    let cls: RecordClass =
      draw < options.poisonFraction
        ? 'poison'
        : draw < options.poisonFraction + options.duplicateFraction
          ? 'duplicate'
          : draw < options.poisonFraction + options.duplicateFraction + options.lateFraction
            ? 'late'
            : 'valid';
    const anyActive = activeUsers.length > 0;
    if (!anyActive && cls === 'late') {
      owedLate++;
      cls = 'valid';
    } else if (!anyActive && cls === 'duplicate') {
      owedDuplicate++;
      cls = 'valid';
    } else if (anyActive && cls === 'valid' && owedDuplicate > 0) {
      owedDuplicate--;
      cls = 'duplicate';
    } else if (anyActive && cls === 'valid' && owedLate > 0) {
      owedLate--;
      cls = 'late';
    }

    if (cls === 'valid') {
      const userIndex = pickUser();
      const persona = personas[userIndex] as Persona;
      const jitter = rng.chance(0.2) ? rng.int(0, maxJitterMs) : rng.int(0, Math.min(MINUTE_MS, maxJitterMs));
      let occurredAt = Math.max(startMs, nowMs - jitter);
      const window = windows.get(userIndex);
      if (window && occurredAt <= window.end - windowMs) occurredAt = window.end - windowMs + 1;
      const event = makeEvent(ctx, rng, persona, index, occurredAt);
      if (window) accept(window, event, index, windowMs, keep);
      else {
        windows.set(userIndex, { end: occurredAt, entries: [{ seq: index, event: cloneEvent(event) }] });
        activeUsers.push(userIndex);
      }
      yield { index, class: 'valid', key: persona.userId, event, timestampMs: occurredAt + ingestDelay() };
    } else if (cls === 'late') {
      const userIndex = pickActiveUser();
      const persona = personas[userIndex] as Persona;
      const window = windows.get(userIndex) as SimWindow;
      // Just past the window, or exactly on its edge (late by the `<=` of the window rule) one time in ten.
      const behind = rng.chance(0.1) ? 0 : rng.int(MINUTE_MS, MAX_LATE_BEHIND_MS);
      const event = makeEvent(ctx, rng, persona, index, window.end - windowMs - behind);
      yield { index, class: 'late', key: persona.userId, event, timestampMs: nowMs + ingestDelay() };
    } else if (cls === 'duplicate') {
      const userIndex = pickActiveUser();
      const persona = personas[userIndex] as Persona;
      const { entries } = windows.get(userIndex) as SimWindow;
      const original = entries[Math.floor(rng.next() * entries.length)] as SimWindow['entries'][number];
      yield {
        index,
        class: 'duplicate',
        key: persona.userId,
        event: cloneEvent(original.event),
        timestampMs: Math.max(nowMs, original.event.occurred_at) + ingestDelay(),
      };
    } else {
      const poisonKind = POISON_KINDS[poisonCount % POISON_KINDS.length] as PoisonKind;
      const userIndex = pickUser();
      const persona = personas[userIndex] as Persona;
      const timestampMs = nowMs + ingestDelay();
      const record: GeneratedRecord = { index, class: 'poison', poisonKind, key: persona.userId, timestampMs };
      switch (poisonKind) {
        case 'blank-user-id': {
          const event = makeEvent(ctx, rng, persona, index, nowMs);
          event.user_id = '';
          // Key and body agree, so blank user id is the only broken rule.
          record.key = '';
          record.event = event;
          break;
        }
        case 'key-mismatch':
          record.event = makeEvent(ctx, rng, persona, index, nowMs);
          record.key = userIdOf(users === 1 ? 2 : ((userIndex + 1) % users) + 1);
          break;
        case 'future-timestamp': {
          const event = makeEvent(ctx, rng, persona, index, timestampMs + FUTURE_SKEW_MS);
          record.event = event;
          break;
        }
        case 'out-of-range': {
          const event = makeEvent(ctx, rng, persona, index, nowMs, 'ActivityCreated') as ActivityCreated;
          event.duration_minutes = Math.floor(poisonCount / POISON_KINDS.length) % 2 === 0 ? -5 : 100_000;
          record.event = event;
          break;
        }
        default:
          // Wire-level poison: the producer materialises the bytes.
          break;
      }
      poisonCount++;
      yield record;
    }
  }
}
