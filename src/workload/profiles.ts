import type { Persona } from './personas.js';

/**
 * Workload profiles:
 * - `realistic` (default): personas with uneven traffic, notes on some events, event times over
 *   10 days.
 * - `heavy`: the users a production stage must survive. Every user gets the same share of the
 *   traffic, every mood and activity carries a note of exactly HEAVY_NOTE_LENGTH characters, and
 *   the events fall within HEAVY_SPAN_DAYS, inside one window: with more than WINDOW_MAX_EVENTS
 *   (512) events per user, every user's window reaches the cap and stays there, so each changelog
 *   record carries a full window of long notes and each chunk touches many users.
 */
export const PROFILES = ['realistic', 'heavy'] as const;
export type Profile = (typeof PROFILES)[number];

/** Length of every note of the heavy profile: what a snapshot keeps of a note (200 characters). */
export const HEAVY_NOTE_LENGTH = 200;
/** Default span of the heavy profile's event times, days (inside the default 7-day window). */
export const HEAVY_SPAN_DAYS = 2;

/** The persona as the profile shapes it. */
export function shapePersona(persona: Persona, profile: Profile): Persona {
  return profile === 'heavy' ? { ...persona, weight: 1, noteChance: 1 } : persona;
}
