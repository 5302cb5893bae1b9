import { ACTIVITY_TYPES, INTENSITIES, MOOD_LEVELS } from '../../contracts/events.js';
import type { UserRecord } from '../../contracts/events.js';
import { AuraError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';

/** Earliest accepted `occurred_at`: 2000-01-01T00:00:00Z. Older is a unit mix-up (seconds), not data. */
export const MIN_OCCURRED_AT = Date.UTC(2000, 0, 1);
/** How far `occurred_at` may lie after the record's Kafka timestamp: 24 h (docs/ARCHITECTURE.md §3). */
export const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;
/** Range of `duration_minutes`: a session lasts at most one day. */
export const MAX_DURATION_MINUTES = 1440;

/**
 * Bounds on string fields, in characters (Unicode code points); beyond them a record is
 * dead-lettered as FIELD_TOO_LONG, never cut. They keep one event's share of a window (and so of a
 * changelog record, at most WINDOW_MAX_EVENTS events) small: a snapshot keeps only the first
 * NOTE_MAX_CODE_POINTS (200) characters of a note anyway.
 */
export const NOTE_MAX_LENGTH = 1000;
export const TAG_MAX_LENGTH = 64;
/** Tags per MoodCreated. */
export const TAGS_MAX_COUNT = 32;
/** user_id, mood_id, activity_id, trace_id, source. */
export const ID_MAX_LENGTH = 128;

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks a decoded user event against the rules the aggregate stage relies on; throws an
 * `AuraError` with a poison code (the caller sends the record to the DLQ) naming the field, the
 * value and the rule. Checks run in a fixed order and the first failure wins:
 * type → user_id → key → event_id → occurred_at → envelope optionals → type-specific fields.
 * A UserDeleted has no occurred_at: type → user_id → key → event_id → requested_at → trace_id →
 * reason (at most NOTE_MAX_LENGTH characters) → requester → signature (at most ID_MAX_LENGTH); its requested_at is not checked against time (an
 * erasure asked for at any instant is honoured).
 *
 * Decisions where docs/ARCHITECTURE.md is silent:
 * - A null or empty record key is KEY_MISMATCH (the key must equal the body's user_id), not
 *   MISSING_USER_ID: the body's user id is there, the key disagrees with it.
 * - A user_id that is absent, null or blank is MISSING_USER_ID; one of another type INVALID_FIELD.
 *   A user_id is compared to the key byte for byte (no trimming).
 * - event_id must be UUID-shaped (8-4-4-4-12 hex, any case, any version). Dedupe compares the
 *   string as sent; a redelivery carries the same bytes.
 * - Non-finite or non-integer numbers are OUT_OF_RANGE; a value of the wrong type INVALID_FIELD.
 * - Strings longer than their bound (NOTE_MAX_LENGTH, TAG_MAX_LENGTH, TAGS_MAX_COUNT, ID_MAX_LENGTH)
 *   are FIELD_TOO_LONG: dead-lettered whole, not cut, so what the stage keeps is what was sent.
 * - FUTURE_TIMESTAMP needs a reference: with a negative or non-finite Kafka timestamp (no
 *   timestamp; not produced by Kafka 4.x) that check is skipped; the other checks still apply.
 */
export function validateEvent(event: UserRecord, key: string | null, kafkaTimestampMs: number): void {
  const body = event as unknown as Record<string, unknown>;

  if (body.type !== 'MoodCreated' && body.type !== 'ActivityCreated' && body.type !== 'UserDeleted') {
    fail('UNKNOWN_RECORD_TYPE', 'type', body.type, 'must be MoodCreated, ActivityCreated or UserDeleted');
  }

  const userId = body.user_id;
  if (userId === undefined || userId === null || (typeof userId === 'string' && userId.trim() === '')) {
    fail('MISSING_USER_ID', 'user_id', userId, 'must be a non-blank string');
  }
  if (typeof userId !== 'string') fail('INVALID_FIELD', 'user_id', userId, 'must be a string');
  maxLength('user_id', userId, ID_MAX_LENGTH);

  if (key === null || key === '') {
    fail('KEY_MISMATCH', 'key', key, `record key is missing; it must equal the body's user_id ${show(userId)}`);
  }
  if (key !== userId) fail('KEY_MISMATCH', 'key', key, `must equal the body's user_id ${show(userId)}`);

  if (typeof body.event_id !== 'string' || !UUID_SHAPE.test(body.event_id)) {
    fail('INVALID_FIELD', 'event_id', body.event_id, 'must be a UUID string (8-4-4-4-12 hex digits)');
  }

  if (body.type === 'UserDeleted') {
    integerMs('requested_at', body.requested_at);
    optionalString('trace_id', body.trace_id, ID_MAX_LENGTH);
    optionalString('reason', body.reason, NOTE_MAX_LENGTH);
    // Absent (a producer older than the fields) is null; whether it may erase is the fold's check.
    optionalString('requester', body.requester ?? null, ID_MAX_LENGTH);
    optionalString('signature', body.signature ?? null, ID_MAX_LENGTH);
    return;
  }

  const occurredAt = integerMs('occurred_at', body.occurred_at);
  if (occurredAt < MIN_OCCURRED_AT) {
    fail('OUT_OF_RANGE', 'occurred_at', occurredAt, `must not be before ${new Date(MIN_OCCURRED_AT).toISOString()}`, isoOrRaw(occurredAt));
  }
  if (Number.isFinite(kafkaTimestampMs) && kafkaTimestampMs >= 0 && occurredAt - kafkaTimestampMs > MAX_FUTURE_SKEW_MS) {
    fail('FUTURE_TIMESTAMP', 'occurred_at', occurredAt, `must not be more than 24 h after the record timestamp ${isoOrRaw(kafkaTimestampMs)}`, isoOrRaw(occurredAt));
  }

  optionalString('trace_id', body.trace_id, ID_MAX_LENGTH);
  optionalString('source', body.source, ID_MAX_LENGTH);

  if (body.type === 'MoodCreated') {
    requiredString('mood_id', body.mood_id, ID_MAX_LENGTH);
    oneOf('level', body.level, [...MOOD_LEVELS, 'unknown']);
    integerMs('recorded_at', body.recorded_at);
    optionalString('note', body.note, NOTE_MAX_LENGTH);
    if (!Array.isArray(body.tags)) fail('INVALID_FIELD', 'tags', body.tags, 'must be an array of strings');
    if (body.tags.length > TAGS_MAX_COUNT) fail('FIELD_TOO_LONG', 'tags', `[${body.tags.length} tags]`, `must hold at most ${TAGS_MAX_COUNT} tags`, `[${body.tags.length} tags]`);
    body.tags.forEach((tag: unknown, i: number) => {
      if (typeof tag !== 'string') fail('INVALID_FIELD', `tags[${i}]`, tag, 'must be a string');
      maxLength(`tags[${i}]`, tag, TAG_MAX_LENGTH);
    });
  } else {
    requiredString('activity_id', body.activity_id, ID_MAX_LENGTH);
    oneOf('activity_type', body.activity_type, [...ACTIVITY_TYPES, 'other']);
    oneOf('intensity', body.intensity, [...INTENSITIES, 'unknown']);
    const minutes = body.duration_minutes;
    if (typeof minutes !== 'number') fail('INVALID_FIELD', 'duration_minutes', minutes, 'must be a number');
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > MAX_DURATION_MINUTES) {
      fail('OUT_OF_RANGE', 'duration_minutes', minutes, `must be an integer from 0 to ${MAX_DURATION_MINUTES}`);
    }
    integerMs('session_date', body.session_date);
    optionalString('notes', body.notes, NOTE_MAX_LENGTH);
  }
}

/** Throws `<field> <value> <rule>`, e.g. `duration_minutes -5 must be an integer from 0 to 1440`. */
function fail(code: ErrorCode, field: string, value: unknown, rule: string, shown: string = show(value)): never {
  throw new AuraError(code, `${field} ${shown} ${rule}`, { field });
}

function integerMs(field: string, value: unknown): number {
  if (typeof value !== 'number') fail('INVALID_FIELD', field, value, 'must be a number (epoch ms)');
  if (!Number.isFinite(value) || !Number.isInteger(value)) fail('OUT_OF_RANGE', field, value, 'must be a finite integer (epoch ms)');
  return value;
}

function requiredString(field: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.trim() === '') fail('INVALID_FIELD', field, value, 'must be a non-blank string');
  maxLength(field, value, max);
}

function optionalString(field: string, value: unknown, max: number): void {
  if (value !== null && typeof value !== 'string') fail('INVALID_FIELD', field, value, 'must be a string or null');
  if (typeof value === 'string') maxLength(field, value, max);
}

/** FIELD_TOO_LONG beyond `max` code points (counted only when the UTF-16 length leaves a doubt). */
function maxLength(field: string, value: string, max: number): void {
  if (value.length <= max) return;
  let codePoints = 0;
  if (value.length <= 2 * max) for (const _ of value) codePoints++;
  if (value.length > 2 * max || codePoints > max) {
    fail('FIELD_TOO_LONG', field, value, `must be at most ${max} characters (got ${value.length > 2 * max ? `more than ${2 * max}` : codePoints})`, `${show(value.slice(0, 40))}`);
  }
}

function oneOf(field: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) fail('INVALID_FIELD', field, value, `must be one of ${allowed.join(', ')}`);
}

/** A value for an error message: JSON where possible (NaN and Infinity by name), cut to 80 characters. */
function show(value: unknown): string {
  let s: string;
  if (typeof value === 'number' && !Number.isFinite(value)) s = String(value);
  else if (value === undefined) s = 'undefined';
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `1767225600000 (2026-01-01T00:00:00.000Z)`, or the raw number when it is not a valid date. */
function isoOrRaw(epochMs: number): string {
  const d = new Date(epochMs);
  return Number.isNaN(d.getTime()) ? String(epochMs) : `${epochMs} (${d.toISOString()})`;
}
