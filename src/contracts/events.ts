import type { UserDeleted } from './erasure.js';

/**
 * Domain shapes of the records on `aura360.user.events` (schemas/MoodCreated.avsc,
 * schemas/ActivityCreated.avsc). Timestamps are epoch milliseconds (UTC); the serde adapter
 * converts Avro `timestamp-millis` to and from these numbers.
 */

export const MOOD_LEVELS = ['very_low', 'low', 'moderate', 'good', 'excellent'] as const;
/** `unknown` is the Avro enum default: a symbol added by a newer producer reads as `unknown`. */
export type MoodLevel = (typeof MOOD_LEVELS)[number] | 'unknown';

export const ACTIVITY_TYPES = ['cardio', 'strength', 'flexibility', 'mindfulness'] as const;
/** `other` is the Avro enum default. */
export type ActivityType = (typeof ACTIVITY_TYPES)[number] | 'other';

export const INTENSITIES = ['low', 'moderate', 'high'] as const;
/** `unknown` is the Avro enum default. */
export type Intensity = (typeof INTENSITIES)[number] | 'unknown';

/** Fields every user event carries. */
export interface EventEnvelope {
  /** UUID string; the idempotence key of the window. */
  event_id: string;
  user_id: string;
  /** Event time, epoch ms UTC. */
  occurred_at: number;
  trace_id: string | null;
  source: string | null;
}

export interface MoodCreated extends EventEnvelope {
  type: 'MoodCreated';
  mood_id: string;
  level: MoodLevel;
  recorded_at: number;
  note: string | null;
  tags: string[];
}

export interface ActivityCreated extends EventEnvelope {
  type: 'ActivityCreated';
  activity_id: string;
  activity_type: ActivityType;
  intensity: Intensity;
  duration_minutes: number;
  /** Epoch ms of the session's date (timestamp-millis on the wire). */
  session_date: number;
  notes: string | null;
}

export type UserEvent = MoodCreated | ActivityCreated;
export type UserEventType = UserEvent['type'];

/** Every record type of the user-events topic: the events a window folds, and the erasure of a user. */
export type UserRecord = UserEvent | UserDeleted;

/** Avro full names of the record types, used for TopicRecordNameStrategy subjects. */
export const EVENT_FULL_NAMES: Record<UserEventType, string> = {
  MoodCreated: 'aura360.events.MoodCreated',
  ActivityCreated: 'aura360.events.ActivityCreated',
};

/** Where a record came from in Kafka; offsets are decimal strings as kafkajs gives them. */
export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
}
