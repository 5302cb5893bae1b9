import { AuraError } from '../errors.js';
import { MIN_OCCURRED_AT } from '../pipeline/domain/validate-event.js';
import { HEAVY_SPAN_DAYS, PROFILES, type Profile } from './profiles.js';

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
  /** `realistic` (default) or `heavy`: see profiles.ts. */
  profile?: Profile;
  /** Days the event times spread over (default 10; 2 for the heavy profile). */
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

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** Largest ingest delay the generator adds to an event time (offline sync); see `latestTimestampMs`. */
export const MAX_INGEST_DELAY_MS = 20 * MINUTE_MS;
/** A future-timestamp poison is this far past its Kafka timestamp; the rule's limit is 24 h. */
export const FUTURE_SKEW_MS = 3 * DAY_MS;
/** Late events lie up to this far before their user's window. */
export const MAX_LATE_BEHIND_MS = 2 * DAY_MS;
/** Duplicates repeat one of the newest entries of the user's window, far from the cap's edge. */
export const DUPLICATE_RECENT = 50;

/**
 * Upper bound of every `timestampMs` a run produces. Brokers reject CreateTimes too far ahead of
 * their clock, so a live producer should pick `startMs` with this ≤ now.
 */
export function latestTimestampMs(startMs: number, spanDays: number = GENERATE_DEFAULTS.spanDays): number {
  return startMs + Math.ceil(spanDays * DAY_MS) + MAX_INGEST_DELAY_MS;
}

export interface CompiledOptions {
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
  profile: Profile;
}

export function compileOptions(options: GenerateEventsOptions): CompiledOptions {
  const { seed } = options;
  if (!(typeof seed === 'string' || (typeof seed === 'number' && Number.isFinite(seed)))) {
    throw configError('seed', 'a finite number or a string', seed);
  }
  const users = requireInteger('users', options.users, 1);
  const events = requireInteger('events', options.events, 0);
  const startMs = requireInteger('startMs', options.startMs, 0);
  const profile = options.profile ?? 'realistic';
  if (!PROFILES.includes(profile)) throw configError('profile', PROFILES.join(' | '), profile);
  const spanDays = requirePositive('spanDays', options.spanDays ?? (profile === 'heavy' ? HEAVY_SPAN_DAYS : GENERATE_DEFAULTS.spanDays));
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
    profile,
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
