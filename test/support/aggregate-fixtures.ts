// Builders shared by the aggregate-stage tests (not a test file itself).
import type { ActivityCreated, MoodCreated, SourcePosition, UserEvent } from '../../src/contracts/events.js';
import type { UserWindow } from '../../src/contracts/window.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** Epoch ms of an ISO instant; a bare date means midnight UTC. */
export function at(iso: string): number {
  const ms = Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(ms)) throw new Error(`bad instant ${iso}`);
  return ms;
}

/** A valid, deterministic UUID-shaped event id for a small number. */
export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function mood(
  n: number,
  occurredAt: number,
  fields: Partial<Pick<MoodCreated, 'level' | 'tags' | 'note' | 'user_id' | 'trace_id'>> = {},
): MoodCreated {
  return {
    type: 'MoodCreated',
    event_id: uuid(n),
    user_id: fields.user_id ?? 'u-1',
    occurred_at: occurredAt,
    trace_id: fields.trace_id ?? null,
    source: null,
    mood_id: `m-${n}`,
    level: fields.level ?? 'moderate',
    recorded_at: occurredAt,
    note: fields.note ?? null,
    tags: fields.tags ?? [],
  };
}

export function activity(
  n: number,
  occurredAt: number,
  fields: Partial<Pick<ActivityCreated, 'activity_type' | 'intensity' | 'duration_minutes' | 'notes' | 'user_id'>> = {},
): ActivityCreated {
  return {
    type: 'ActivityCreated',
    event_id: uuid(n),
    user_id: fields.user_id ?? 'u-1',
    occurred_at: occurredAt,
    trace_id: null,
    source: null,
    activity_id: `a-${n}`,
    activity_type: fields.activity_type ?? 'cardio',
    intensity: fields.intensity ?? 'moderate',
    duration_minutes: fields.duration_minutes ?? 30,
    session_date: occurredAt,
    notes: fields.notes ?? null,
  };
}

export function position(offset: number, partition = 0): SourcePosition {
  return { topic: 'aura360.user.events', partition, offset: String(offset), timestamp: 1_800_000_000_000 };
}

/** Input records at consecutive offsets starting at `first`, keyed by user. */
export function records(events: readonly UserEvent[], first = 0): Array<{ position: SourcePosition; key: string; event: UserEvent }> {
  return events.map((event, i) => ({ position: position(first + i), key: event.user_id, event }));
}

/** Deep copy, to prove a function did not mutate its input. */
export function clone(window: UserWindow): UserWindow {
  return structuredClone(window);
}

/** mulberry32: a tiny seeded PRNG, so randomised tests are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
