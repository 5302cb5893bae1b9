import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserDeleted } from '../../../src/contracts/erasure.js';
import type { UserEvent } from '../../../src/contracts/events.js';
import { AuraError } from '../../../src/errors.js';
import type { ErrorCode } from '../../../src/errors.js';
import { ID_MAX_LENGTH, NOTE_MAX_LENGTH, TAG_MAX_LENGTH, TAGS_MAX_COUNT, validateEvent } from '../../../src/pipeline/domain/validate-event.js';
import { activity, at, mood, uuid } from '../../support/aggregate-fixtures.js';

const recordTs = at('2026-03-04T12:00:00Z');
const HOUR = 3_600_000;

/** An event with some fields overwritten by arbitrary (possibly ill-typed) values. */
function broken(event: UserEvent, fields: Record<string, unknown>): UserEvent {
  return { ...event, ...fields } as unknown as UserEvent;
}

function rejects(event: UserEvent, key: string | null, code: ErrorCode, messageParts: RegExp[], what: string): void {
  assert.throws(
    () => validateEvent(event, key, recordTs),
    (e: unknown) => {
      assert.ok(e instanceof AuraError, `${what}: an AuraError`);
      assert.equal(e.code, code, `${what}: code (message was: ${e.message})`);
      assert.ok(e.poison, `${what}: poison`);
      for (const part of messageParts) assert.match(e.message, part, `${what}: message names field, value and rule`);
      return true;
    },
    what,
  );
}

const goodMood = mood(1, recordTs - HOUR, { tags: ['work'], note: 'ok' });
const goodActivity = activity(2, recordTs - HOUR, { duration_minutes: 45 });

describe('validateEvent', () => {
  test('well-formed moods and activities pass', () => {
    assert.doesNotThrow(() => validateEvent(goodMood, 'u-1', recordTs), 'mood');
    assert.doesNotThrow(() => validateEvent(goodActivity, 'u-1', recordTs), 'activity');
    assert.doesNotThrow(() => validateEvent(broken(goodMood, { level: 'unknown' }), 'u-1', recordTs), 'the Avro default symbol is valid');
    assert.doesNotThrow(() => validateEvent(broken(goodActivity, { duration_minutes: 0 }), 'u-1', recordTs), '0 minutes is in range');
    assert.doesNotThrow(() => validateEvent(broken(goodActivity, { duration_minutes: 1440 }), 'u-1', recordTs), '1440 minutes is in range');
    assert.doesNotThrow(() => validateEvent(broken(goodMood, { event_id: uuid(1).toUpperCase() }), 'u-1', recordTs), 'UUIDs in upper case');
  });

  test('a missing or blank user_id is MISSING_USER_ID', () => {
    rejects(broken(goodMood, { user_id: undefined }), 'u-1', 'MISSING_USER_ID', [/user_id/, /non-blank/], 'absent');
    rejects(broken(goodMood, { user_id: null }), 'u-1', 'MISSING_USER_ID', [/user_id null/], 'null');
    rejects(broken(goodMood, { user_id: '' }), '', 'MISSING_USER_ID', [/user_id ""/], 'empty');
    rejects(broken(goodMood, { user_id: '  ' }), '  ', 'MISSING_USER_ID', [/user_id "  "/], 'blank');
  });

  test('a key that differs from the body user_id, or is missing, is KEY_MISMATCH', () => {
    rejects(goodMood, 'u-2', 'KEY_MISMATCH', [/key "u-2"/, /user_id "u-1"/], 'other user');
    rejects(goodMood, 'U-1', 'KEY_MISMATCH', [/key "U-1"/], 'compared byte for byte');
    rejects(goodMood, null, 'KEY_MISMATCH', [/key null/, /missing/], 'null key');
    rejects(goodMood, '', 'KEY_MISMATCH', [/key ""/, /missing/], 'empty key');
  });

  test('an occurred_at more than 24 h after the record timestamp is FUTURE_TIMESTAMP', () => {
    rejects(broken(goodMood, { occurred_at: recordTs + 24 * HOUR + 1 }), 'u-1', 'FUTURE_TIMESTAMP', [/occurred_at/, /2026-03-05T12:00:00\.001Z/, /24 h/], 'one ms too far');
    assert.doesNotThrow(() => validateEvent(broken(goodMood, { occurred_at: recordTs + 24 * HOUR }), 'u-1', recordTs), 'exactly 24 h is allowed');
    assert.doesNotThrow(() => validateEvent(broken(goodMood, { occurred_at: recordTs + 48 * HOUR }), 'u-1', -1), 'no record timestamp: no reference to compare with');
  });

  test('values outside their range are OUT_OF_RANGE', () => {
    rejects(broken(goodActivity, { duration_minutes: -1 }), 'u-1', 'OUT_OF_RANGE', [/duration_minutes -1/, /0 to 1440/], 'negative minutes');
    rejects(broken(goodActivity, { duration_minutes: 1441 }), 'u-1', 'OUT_OF_RANGE', [/duration_minutes 1441/], 'more than a day');
    rejects(broken(goodActivity, { duration_minutes: 12.5 }), 'u-1', 'OUT_OF_RANGE', [/duration_minutes 12\.5/, /integer/], 'fractional minutes');
    rejects(broken(goodActivity, { duration_minutes: Number.NaN }), 'u-1', 'OUT_OF_RANGE', [/duration_minutes NaN/], 'NaN minutes');
    rejects(broken(goodMood, { occurred_at: at('1999-12-31T23:59:59.999Z') }), 'u-1', 'OUT_OF_RANGE', [/occurred_at/, /1999-12-31/, /2000-01-01/], 'before 2000');
    rejects(broken(goodMood, { occurred_at: 1_772_625_600 }), 'u-1', 'OUT_OF_RANGE', [/occurred_at 1772625600/], 'seconds instead of milliseconds');
    rejects(broken(goodMood, { occurred_at: Number.POSITIVE_INFINITY }), 'u-1', 'OUT_OF_RANGE', [/occurred_at Infinity/, /finite/], 'infinite time');
    rejects(broken(goodMood, { recorded_at: Number.NaN }), 'u-1', 'OUT_OF_RANGE', [/recorded_at NaN/], 'NaN recorded_at');
  });

  test('malformed fields are INVALID_FIELD', () => {
    rejects(broken(goodMood, { event_id: '' }), 'u-1', 'INVALID_FIELD', [/event_id ""/, /UUID/], 'blank event id');
    rejects(broken(goodMood, { event_id: 'evt-1' }), 'u-1', 'INVALID_FIELD', [/event_id "evt-1"/], 'not UUID-shaped');
    rejects(broken(goodMood, { event_id: 7 }), 'u-1', 'INVALID_FIELD', [/event_id 7/], 'not a string');
    rejects(broken(goodMood, { tags: ['ok', 3] }), 'u-1', 'INVALID_FIELD', [/tags\[1\] 3/, /string/], 'a tag that is not a string');
    rejects(broken(goodMood, { tags: null }), 'u-1', 'INVALID_FIELD', [/tags null/], 'tags not an array');
    rejects(broken(goodMood, { level: 'ecstatic' }), 'u-1', 'INVALID_FIELD', [/level "ecstatic"/, /very_low/], 'level outside the enum');
    rejects(broken(goodMood, { note: 42 }), 'u-1', 'INVALID_FIELD', [/note 42/], 'note not a string');
    rejects(broken(goodMood, { mood_id: ' ' }), 'u-1', 'INVALID_FIELD', [/mood_id " "/], 'blank mood id');
    rejects(broken(goodActivity, { activity_type: 'yoga' }), 'u-1', 'INVALID_FIELD', [/activity_type "yoga"/], 'type outside the enum');
    rejects(broken(goodActivity, { intensity: 3 }), 'u-1', 'INVALID_FIELD', [/intensity 3/], 'intensity not a symbol');
    rejects(broken(goodActivity, { duration_minutes: '30' }), 'u-1', 'INVALID_FIELD', [/duration_minutes "30"/, /number/], 'minutes as a string');
    rejects(broken(goodActivity, { trace_id: 5 }), 'u-1', 'INVALID_FIELD', [/trace_id 5/], 'trace id not a string');
    rejects(broken(goodMood, { user_id: 17 }), '17', 'INVALID_FIELD', [/user_id 17/], 'user id not a string');
  });

  test('a record type the stage does not know is UNKNOWN_RECORD_TYPE', () => {
    rejects(broken(goodMood, { type: 'SleepLogged' }), 'u-1', 'UNKNOWN_RECORD_TYPE', [/type "SleepLogged"/], 'unknown type');
  });

  test('long values are shortened in the message', () => {
    assert.throws(
      () => validateEvent(goodMood, 'x'.repeat(500), recordTs),
      (e: unknown) => e instanceof AuraError && e.message.length < 250 && e.message.includes('...'),
      'a 500-character key does not flood the DLQ headers',
    );
  });

  test('string bounds: at the bound passes, one character beyond is FIELD_TOO_LONG (dead-letter, never cut)', () => {
    const emoji = '\u{1F642}'; // one character, two UTF-16 units: bounds count characters
    assert.doesNotThrow(() => validateEvent(broken(goodMood, { note: emoji.repeat(NOTE_MAX_LENGTH) }), 'u-1', recordTs), 'a note of NOTE_MAX_LENGTH characters (2× as many UTF-16 units)');
    rejects(broken(goodMood, { note: 'x'.repeat(NOTE_MAX_LENGTH + 1) }), 'u-1', 'FIELD_TOO_LONG', [/^note /, /at most 1000 characters \(got 1001\)/], 'note one over');
    rejects(broken(goodMood, { note: 'n'.repeat(600_000) }), 'u-1', 'FIELD_TOO_LONG', [/^note /, /at most 1000 characters/], 'a 600 000-character note');
    rejects(broken(goodActivity, { notes: emoji.repeat(NOTE_MAX_LENGTH + 1) }), 'u-1', 'FIELD_TOO_LONG', [/^notes /], 'activity notes one over');
    assert.doesNotThrow(() => validateEvent(broken(goodMood, { tags: Array.from({ length: TAGS_MAX_COUNT }, () => 't'.repeat(TAG_MAX_LENGTH)) }), 'u-1', recordTs), 'TAGS_MAX_COUNT tags of TAG_MAX_LENGTH');
    rejects(broken(goodMood, { tags: Array.from({ length: TAGS_MAX_COUNT + 1 }, () => 'work') }), 'u-1', 'FIELD_TOO_LONG', [/^tags /, /at most 32 tags/], 'one tag too many');
    rejects(broken(goodMood, { tags: ['work', 't'.repeat(TAG_MAX_LENGTH + 1)] }), 'u-1', 'FIELD_TOO_LONG', [/^tags\[1\] /, /at most 64 characters/], 'a tag one over');
    const longId = 'u'.repeat(ID_MAX_LENGTH + 1);
    rejects(broken(goodMood, { user_id: longId }), longId, 'FIELD_TOO_LONG', [/^user_id /], 'user_id');
    rejects(broken(goodMood, { trace_id: 'f'.repeat(ID_MAX_LENGTH + 1) }), 'u-1', 'FIELD_TOO_LONG', [/^trace_id /], 'trace_id');
    rejects(broken(goodActivity, { activity_id: 'a'.repeat(ID_MAX_LENGTH + 1) }), 'u-1', 'FIELD_TOO_LONG', [/^activity_id /], 'activity_id');
    assert.doesNotThrow(() => validateEvent(broken(goodMood, { user_id: 'u'.repeat(ID_MAX_LENGTH) }), 'u'.repeat(ID_MAX_LENGTH), recordTs), 'user_id at the bound');
  });
});

describe('validateEvent: UserDeleted', () => {
  const goodDelete: UserDeleted = { type: 'UserDeleted', event_id: uuid(9), user_id: 'u-1', requested_at: recordTs, reason: 'ticket-42', trace_id: null, requester: 'ops@example', signature: 'c2lnbmF0dXJl' };
  const asEvent = (fields: Record<string, unknown>) => ({ ...goodDelete, ...fields }) as unknown as UserEvent;

  test('a well-formed UserDeleted passes, whenever it was requested (requested_at is not checked against time)', () => {
    assert.doesNotThrow(() => validateEvent(goodDelete, 'u-1', recordTs), 'plain');
    assert.doesNotThrow(() => validateEvent({ ...goodDelete, reason: null, requested_at: recordTs + 30 * 24 * HOUR }, 'u-1', recordTs), 'no reason, a future request time');
  });

  test('the user id, the key and the event id are checked as for other events; requested_at and reason by type and size', () => {
    rejects(asEvent({ user_id: '' }), '', 'MISSING_USER_ID', [/user_id/, /non-blank/], 'empty user_id');
    rejects(asEvent({}), 'u-2', 'KEY_MISMATCH', [/key "u-2"/, /user_id "u-1"/], 'key of another user');
    rejects(asEvent({}), null, 'KEY_MISMATCH', [/missing/], 'no key');
    rejects(asEvent({ event_id: 'del-1' }), 'u-1', 'INVALID_FIELD', [/event_id "del-1"/, /UUID/], 'event_id not a UUID');
    rejects(asEvent({ requested_at: 'yesterday' }), 'u-1', 'INVALID_FIELD', [/requested_at "yesterday"/], 'requested_at not a number');
    rejects(asEvent({ reason: 'x'.repeat(NOTE_MAX_LENGTH + 1) }), 'u-1', 'FIELD_TOO_LONG', [/reason/], 'reason too long');
    rejects(asEvent({ type: 'UserForgotten' }), 'u-1', 'UNKNOWN_RECORD_TYPE', [/MoodCreated, ActivityCreated or UserDeleted/], 'unknown type');
  });
});
