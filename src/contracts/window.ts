import type { ActivityType, Intensity, MoodLevel } from './events.js';

/**
 * Per-user rolling window state: what LMDB stores and what the changelog carries (msgpack-encoded
 * by the store, JSON-compatible). Entries are kept sorted by (occurred_at, seq) ascending.
 */
export interface WindowEntryBase {
  event_id: string;
  occurred_at: number;
  /** Input offset of the record (tie-breaker for equal occurred_at: input order). */
  seq: number;
}

export interface MoodEntry extends WindowEntryBase {
  kind: 'mood';
  level: MoodLevel;
  tags: string[];
  note: string | null;
}

export interface ActivityEntry extends WindowEntryBase {
  kind: 'activity';
  activity_type: ActivityType;
  intensity: Intensity;
  duration_minutes: number;
  notes: string | null;
}

export type WindowEntry = MoodEntry | ActivityEntry;

export interface UserWindow {
  user_id: string;
  /** Largest accepted occurred_at (epoch ms); the window is (end - WINDOW_DAYS, end]. */
  end: number;
  entries: WindowEntry[];
}

export interface WindowConfig {
  /** Event-time length of the window in days (WINDOW_DAYS, default 7). */
  windowDays: number;
  /** Cap on entries per user (WINDOW_MAX_EVENTS, default 512). */
  maxEvents: number;
}
