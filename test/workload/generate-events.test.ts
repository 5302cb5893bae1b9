import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UserEvent } from '../../src/contracts/events.js';
import { AuraError } from '../../src/errors.js';
import type { UserWindow } from '../../src/contracts/window.js';
import { aggregateBatch } from '../oracles/aggregate-batch.js';
import type { AggregateInput } from '../oracles/aggregate-batch.js';
import { v5 as uuidv5 } from 'uuid';
import { GENERATOR_NAMESPACE, HEAVY_NOTE_LENGTH, generateEvents, generatorUuid, latestTimestampMs, POISON_ERROR_CODES, POISON_KINDS, WIRE_POISON_KINDS } from '../../src/workload/index.js';
import { validateEvent } from '../../src/pipeline/domain/validate-event.js';
import type { GeneratedRecord, GenerateEventsOptions, PoisonKind } from '../../src/workload/index.js';
import { createTally, formatSummary, summarize } from '../../src/workload/index.js';

const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2025, 0, 6);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function run(overrides: Partial<GenerateEventsOptions> = {}): GeneratedRecord[] {
  return [...generateEvents({ seed: 'aura', users: 12, events: 5000, startMs: START_MS, ...overrides })];
}

const records = run();

/**
 * docs/ARCHITECTURE.md §3 and §5 applied independently of the generator: validation first, then the per-user
 * window (late when occurred_at <= end - window, duplicate when the event_id is in the window,
 * otherwise accepted; the window keeps (end - window, end], the newest maxEvents by
 * (occurred_at, input order)). Out of range is taken as a negative or > 1 day duration.
 */
function classifyLikeTheStage(input: GeneratedRecord[], windowDays = 7, maxEvents = 512): string[] {
  const windowMs = windowDays * DAY_MS;
  const state = new Map<string, { end: number; entries: { id: string; at: number; seq: number }[] }>();
  return input.map((record) => {
    const event = record.event;
    if (!event) return 'poison';
    if (event.user_id.trim() === '') return 'poison';
    if (record.key !== event.user_id) return 'poison';
    if (event.occurred_at > record.timestampMs + DAY_MS) return 'poison';
    if (event.type === 'ActivityCreated' && (event.duration_minutes < 0 || event.duration_minutes > 1440)) return 'poison';
    const user = state.get(event.user_id);
    if (user && event.occurred_at <= user.end - windowMs) return 'late';
    if (user && user.entries.some((entry) => entry.id === event.event_id)) return 'duplicate';
    const end = Math.max(user?.end ?? -Infinity, event.occurred_at);
    const entries = [...(user?.entries ?? []), { id: event.event_id, at: event.occurred_at, seq: record.index }]
      .filter((entry) => entry.at > end - windowMs)
      .sort((a, b) => a.at - b.at || a.seq - b.seq)
      .slice(-maxEvents);
    state.set(event.user_id, { end, entries });
    return 'valid';
  });
}

function eventOf(record: GeneratedRecord): UserEvent {
  assert.ok(record.event, `record ${record.index} (${record.class}) carries an event`);
  return record.event;
}

describe('generateEvents', () => {
  test('the same seed gives the same sequence', () => {
    const again = run();
    assert.deepEqual(again.slice(0, 500), records.slice(0, 500), 'first 500 records are identical for seed "aura"');
    assert.deepEqual(again, records, 'the whole run is identical for seed "aura"');
    const numeric = [...generateEvents({ seed: 42, users: 5, events: 300, startMs: START_MS })];
    const asString = [...generateEvents({ seed: '42', users: 5, events: 300, startMs: START_MS })];
    assert.deepEqual(numeric, asString, 'a number seed and its decimal string are the same seed');
  });

  test('a different seed gives a different sequence', () => {
    const other = run({ seed: 'aura-2' });
    const differing = other.slice(0, 500).filter((record, i) => JSON.stringify(record) !== JSON.stringify(records[i])).length;
    assert.ok(differing > 450, `most of the first 500 records differ between seeds (${differing} differ)`);
  });

  test('iterating twice replays the same records', () => {
    const iterable = generateEvents({ seed: 7, users: 3, events: 200, startMs: START_MS });
    assert.deepEqual([...iterable], [...iterable], 'the iterable restarts from the seed');
  });

  test('the fractions are roughly honoured and the counts add up', () => {
    const summary = summarize(records);
    assert.equal(summary.total, 5000, 'one record per requested event');
    assert.equal(summary.valid + summary.late + summary.duplicate + summary.poison, summary.total, 'classes add up to the total');
    const kinds = Object.values(summary.poisonByKind).reduce((a, b) => a + b, 0);
    assert.equal(kinds, summary.poison, 'poison kinds add up to the poison count');
    // Binomial sd for p = 0.02, n = 5000 is ~10 records: allow ~4 sd.
    assert.ok(Math.abs(summary.late - 100) <= 40, `about 2% late (got ${summary.late})`);
    assert.ok(Math.abs(summary.duplicate - 100) <= 40, `about 2% duplicates (got ${summary.duplicate})`);
    assert.ok(Math.abs(summary.poison - 50) <= 28, `about 1% poison (got ${summary.poison})`);
    assert.equal(summary.users, 12, 'every user has valid events in a run this long');
    assert.deepEqual(
      records.map((r) => r.index),
      Array.from({ length: 5000 }, (_, i) => i),
      'indexes run 0..events-1 in order',
    );
  });

  test('zero fractions give only valid records', () => {
    const clean = [...generateEvents({ seed: 1, users: 4, events: 400, startMs: START_MS, lateFraction: 0, duplicateFraction: 0, poisonFraction: 0 })];
    assert.ok(
      clean.every((r) => r.class === 'valid'),
      'no late, duplicate or poison record is drawn',
    );
  });

  test('every poison kind appears, in rotation', () => {
    const poison = records.filter((r) => r.class === 'poison');
    assert.ok(poison.length >= POISON_KINDS.length, `enough poison to rotate (${poison.length})`);
    poison.forEach((record, i) => {
      assert.equal(record.poisonKind, POISON_KINDS[i % POISON_KINDS.length], `poison #${i} follows the rotation`);
    });
    const few = [...generateEvents({ seed: 3, users: 2, events: 8, startMs: START_MS, poisonFraction: 1, lateFraction: 0, duplicateFraction: 0 })];
    assert.deepEqual(
      few.map((r) => r.poisonKind),
      [...POISON_KINDS],
      'eight poison records cover the eight kinds',
    );
  });

  test('each poison record breaks exactly the rule its kind names', () => {
    for (const record of records.filter((r) => r.class === 'poison')) {
      const kind = record.poisonKind as PoisonKind;
      if (WIRE_POISON_KINDS.includes(kind)) {
        assert.equal(record.event, undefined, `${kind} at ${record.index} leaves the bytes to the producer`);
        assert.match(record.key ?? '', /^user-\d{4}$/, `${kind} at ${record.index} is keyed by a user`);
        continue;
      }
      const event = eventOf(record);
      assert.match(event.event_id, UUID, `${kind} at ${record.index} has a UUID event_id`);
      const blank = event.user_id.trim() === '';
      const mismatch = record.key !== event.user_id;
      const future = event.occurred_at > record.timestampMs + DAY_MS;
      const outOfRange = event.type === 'ActivityCreated' && (event.duration_minutes < 0 || event.duration_minutes > 1440);
      const broken = { 'blank-user-id': blank, 'key-mismatch': mismatch, 'future-timestamp': future, 'out-of-range': outOfRange };
      assert.deepEqual(
        Object.entries(broken).filter(([, isBroken]) => isBroken).map(([rule]) => rule),
        [kind],
        `${kind} at ${record.index} breaks that rule and no other`,
      );
      if (kind === 'out-of-range') {
        assert.ok(event.type === 'ActivityCreated' && [-5, 100_000].includes(event.duration_minutes), 'out-of-range uses -5 or 100000 minutes');
      }
    }
  });

  test('every late record is late by the window rule against the earlier valid events of its user', () => {
    const maxByUser = new Map<string, number>();
    let late = 0;
    for (const record of records) {
      if (record.class === 'valid') {
        const event = eventOf(record);
        maxByUser.set(event.user_id, Math.max(maxByUser.get(event.user_id) ?? -Infinity, event.occurred_at));
      } else if (record.class === 'late') {
        late++;
        const event = eventOf(record);
        const max = maxByUser.get(event.user_id);
        assert.ok(max !== undefined, `late record ${record.index} belongs to a user with earlier valid events`);
        assert.ok(event.occurred_at <= max - 7 * DAY_MS, `late record ${record.index} is at or before end - 7 days`);
        assert.ok(event.occurred_at <= record.timestampMs, `late record ${record.index} is not a future timestamp`);
      }
    }
    assert.ok(late > 0, 'the run has late records');
  });

  test('every duplicate repeats an earlier valid event of its user inside the window', () => {
    const validById = new Map<string, GeneratedRecord>();
    const maxByUser = new Map<string, number>();
    let duplicates = 0;
    for (const record of records) {
      const event = record.event;
      if (record.class === 'valid' && event) {
        validById.set(event.event_id, record);
        maxByUser.set(event.user_id, Math.max(maxByUser.get(event.user_id) ?? -Infinity, event.occurred_at));
      } else if (record.class === 'duplicate') {
        duplicates++;
        const duplicate = eventOf(record);
        const original = validById.get(duplicate.event_id);
        assert.ok(original, `duplicate ${record.index} repeats an earlier valid event_id`);
        assert.deepEqual(duplicate, original.event, `duplicate ${record.index} is an exact re-send`);
        assert.equal(record.key, duplicate.user_id, `duplicate ${record.index} is keyed by its user`);
        const max = maxByUser.get(duplicate.user_id) as number;
        assert.ok(duplicate.occurred_at > max - 7 * DAY_MS, `duplicate ${record.index} is inside the window, not late`);
      }
    }
    assert.ok(duplicates > 0, 'the run has duplicates');
  });

  test('a consumer applying the window rules classifies every record as its class says', () => {
    const expected = classifyLikeTheStage(records);
    const mismatches = records.filter((r, i) => r.class !== expected[i]).map((r) => `${r.index}: ${r.class} vs ${expected[r.index]}`);
    assert.deepEqual(mismatches, [], 'no record is classified differently');
  });

  test("the aggregate stage's own validation and window fold agree with every class and poison kind", () => {
    const check = (input: GeneratedRecord[], maxEvents: number): void => {
      const config = { windowDays: 7, maxEvents, aggregatorVersion: 'test' };
      const store = new Map<string, UserWindow>();
      const verdicts = new Map<number, string>();
      // Batches of 500, the store carrying the windows between them, as the stage runs.
      for (let from = 0; from < input.length; from += 500) {
        const batch: AggregateInput[] = [];
        for (const record of input.slice(from, from + 500)) {
          if (!record.event) {
            verdicts.set(record.index, 'poison');
            continue;
          }
          try {
            validateEvent(record.event, record.key, record.timestampMs);
          } catch (error) {
            assert.ok(error instanceof AuraError && error.poison, `record ${record.index} fails validation as poison`);
            const expected = record.poisonKind ? POISON_ERROR_CODES[record.poisonKind] : 'none';
            assert.equal(error.code, expected, `record ${record.index} (${record.poisonKind ?? record.class}) fails with the code of its kind`);
            verdicts.set(record.index, 'poison');
            continue;
          }
          const position = { topic: 'aura360.user.events', partition: 0, offset: String(record.index), timestamp: record.timestampMs };
          batch.push({ position, key: record.key, event: record.event });
        }
        const result = aggregateBatch(batch, (userId) => store.get(userId), config);
        for (const [userId, window] of result.states) store.set(userId, window);
        const names = { accepted: 'valid', late: 'late', duplicate: 'duplicate' } as const;
        batch.forEach((item, i) => verdicts.set(Number(item.position.offset), names[result.outcomes[i] as keyof typeof names]));
      }
      const mismatches = input.filter((r) => verdicts.get(r.index) !== r.class).map((r) => `${r.index}: ${r.class} vs ${verdicts.get(r.index)}`);
      assert.deepEqual(mismatches, [], `the stage classifies every record as generated (maxEvents ${maxEvents})`);
    };
    check(records, 512);
    check([...generateEvents({ seed: 'cap', users: 2, events: 3000, startMs: START_MS, spanDays: 3, maxEvents: 20, duplicateFraction: 0.1 })], 20);
  });

  test('the accounting stays exact when the entry cap evicts events', () => {
    const options = { seed: 'cap', users: 2, events: 4000, startMs: START_MS, spanDays: 3, maxEvents: 20, duplicateFraction: 0.1, lateFraction: 0.05 };
    const capped = [...generateEvents(options)];
    const expected = classifyLikeTheStage(capped, 7, 20);
    const mismatches = capped.filter((r, i) => r.class !== expected[i]).map((r) => `${r.index}: ${r.class} vs ${expected[r.index]}`);
    assert.deepEqual(mismatches, [], 'cap-evicted events are never the target of a duplicate');
    const summary = summarize(capped);
    assert.ok(summary.duplicate > 300, `duplicates are still produced under a small cap (${summary.duplicate})`);
  });

  test('the accounting stays exact with a short window and a long span', () => {
    const options = { seed: 'short', users: 5, events: 3000, startMs: START_MS, spanDays: 30, windowDays: 2 };
    const run2 = [...generateEvents(options)];
    const expected = classifyLikeTheStage(run2, 2, 512);
    const mismatches = run2.filter((r, i) => r.class !== expected[i]).map((r) => `${r.index}: ${r.class} vs ${expected[r.index]}`);
    assert.deepEqual(mismatches, [], 'every record matches the rules for a 2-day window');
  });

  test('some late records sit exactly on the window edge', () => {
    const maxByUser = new Map<string, number>();
    let onEdge = 0;
    for (const record of records) {
      const event = record.event;
      if (record.class === 'valid' && event) maxByUser.set(event.user_id, Math.max(maxByUser.get(event.user_id) ?? -Infinity, event.occurred_at));
      if (record.class === 'late' && event && event.occurred_at === (maxByUser.get(event.user_id) as number) - 7 * DAY_MS) onEdge++;
    }
    assert.ok(onEdge > 0, `the <= boundary of the late rule is exercised (${onEdge} on the edge)`);
  });

  test('valid event ids are unique UUIDs and ids of every kind are UUID-shaped', () => {
    const valid = records.filter((r) => r.class === 'valid').map(eventOf);
    const ids = new Set(valid.map((e) => e.event_id));
    assert.equal(ids.size, valid.length, 'no two valid events share an event_id');
    const fresh = records.filter((r) => r.event && r.class !== 'duplicate').map(eventOf);
    assert.equal(new Set(fresh.map((e) => e.event_id)).size, fresh.length, 'late and poison events have fresh event_ids too');
    for (const event of valid) {
      assert.match(event.event_id, UUID, `event_id ${event.event_id} is a UUID`);
      const entityId = event.type === 'MoodCreated' ? event.mood_id : event.activity_id;
      assert.match(entityId, UUID, `entity id of ${event.event_id} is a UUID`);
      if (event.trace_id !== null) assert.match(event.trace_id, /^[0-9a-f]{32}$/, `trace_id of ${event.event_id} is 32 hex digits`);
    }
  });

  test('generator ids are RFC 9562 UUIDv5, equal to the uuid package', () => {
    for (const name of ['aura/event/0', 'aura/mood/4999', '42/trace/17', 'sëed with ünicode/event/3']) {
      assert.equal(generatorUuid(name), uuidv5(name, GENERATOR_NAMESPACE), `UUIDv5 of ${JSON.stringify(name)} matches`);
    }
  });

  test('non-poison records are keyed by their user id', () => {
    for (const record of records.filter((r) => r.class !== 'poison')) {
      const event = eventOf(record);
      assert.equal(record.key, event.user_id, `record ${record.index} key equals user_id`);
      assert.match(event.user_id, /^user-\d{4}$/, `record ${record.index} has a user-NNNN id`);
    }
  });

  test('valid events are timed like a live feed: from startMs over the span, ingested shortly after', () => {
    const valid = records.filter((r) => r.class === 'valid');
    const times = valid.map((r) => eventOf(r).occurred_at);
    assert.equal(eventOf(valid[0] as GeneratedRecord).occurred_at, START_MS, 'the first event time is startMs');
    assert.ok(Math.min(...times) >= START_MS, 'no valid event precedes startMs');
    assert.ok(Math.max(...times) <= START_MS + 10 * DAY_MS, 'no valid event is past the 10-day span');
    assert.ok(Math.max(...times) >= START_MS + 9.9 * DAY_MS, 'valid events reach the end of the span');
    for (const record of valid) {
      const delay = record.timestampMs - eventOf(record).occurred_at;
      assert.ok(delay > 0 && delay <= 20 * 60_000, `record ${record.index} is ingested within 20 minutes (${delay} ms)`);
    }
    const bound = latestTimestampMs(START_MS);
    assert.ok(
      records.every((r) => r.timestampMs <= bound),
      'latestTimestampMs bounds every Kafka timestamp',
    );
    let outOfOrder = 0;
    const lastByUser = new Map<string, number>();
    for (const record of valid) {
      const event = eventOf(record);
      if (event.occurred_at < (lastByUser.get(event.user_id) ?? -Infinity)) outOfOrder++;
      lastByUser.set(event.user_id, event.occurred_at);
    }
    assert.ok(outOfOrder > 0 && outOfOrder < valid.length / 5, `some but few valid events arrive out of order (${outOfOrder})`);
  });

  test('event content is realistic and exercises the snapshot rules', () => {
    const events = records.filter((r) => r.class === 'valid').map(eventOf);
    const moods = events.filter((e) => e.type === 'MoodCreated');
    const activities = events.filter((e) => e.type === 'ActivityCreated');
    assert.ok(moods.length > 1000 && activities.length > 1000, `both record types are common (${moods.length} moods, ${activities.length} activities)`);
    assert.ok(
      activities.every((a) => Number.isInteger(a.duration_minutes) && a.duration_minutes >= 10 && a.duration_minutes <= 120),
      'valid durations are whole minutes in 10..120',
    );
    assert.ok(
      activities.every((a) => a.session_date % DAY_MS === 0 && a.session_date <= a.occurred_at && a.occurred_at - a.session_date < DAY_MS),
      'session_date is the UTC midnight of the session',
    );
    const tags = moods.flatMap((m) => m.tags);
    assert.ok(tags.some((t) => t !== t.trim().toLowerCase()), 'some tags need trimming or lower-casing');
    assert.ok(
      moods.every((m) => new Set(m.tags.map((t) => t.trim().toLowerCase())).size === m.tags.length),
      'a mood never repeats a normalised tag',
    );
    const notes = events.map((e) => (e.type === 'MoodCreated' ? e.note : e.notes));
    assert.ok(notes.some((n) => n === null), 'some notes are absent');
    assert.ok(notes.some((n) => n === ''), 'some notes are empty strings');
    assert.ok(notes.some((n) => n !== null && n.length > 200), 'some notes exceed 200 characters');
    assert.ok(moods.some((m) => m.level === 'unknown'), 'the mood enum default appears');
    assert.ok(activities.some((a) => a.activity_type === 'other'), 'the activity type enum default appears');
    assert.ok(activities.some((a) => a.intensity === 'unknown'), 'the intensity enum default appears');
    const sources = new Set(events.map((e) => e.source));
    assert.ok(sources.has('app') && sources.has('api'), 'both sources appear');
    const traced = events.filter((e) => e.trace_id !== null).length;
    assert.ok(traced > events.length * 0.8, `most events carry a trace id (${traced}/${events.length})`);
  });

  test('personas shape each user: mood trends differ between users', () => {
    const long = run({ seed: 'personas', users: 8, events: 8000, poisonFraction: 0, lateFraction: 0, duplicateFraction: 0 });
    const score: Record<string, number> = { very_low: 1, low: 2, moderate: 3, good: 4, excellent: 5 };
    const byUser = new Map<string, { first: number[]; last: number[] }>();
    for (const record of long) {
      const event = eventOf(record);
      if (event.type !== 'MoodCreated' || event.level === 'unknown') continue;
      const half = event.occurred_at < START_MS + 5 * DAY_MS ? 'first' : 'last';
      const entry = byUser.get(event.user_id) ?? { first: [], last: [] };
      entry[half].push(score[event.level] as number);
      byUser.set(event.user_id, entry);
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const shifts = [...byUser.values()].map(({ first, last }) => mean(last) - mean(first));
    assert.ok(Math.max(...shifts) - Math.min(...shifts) > 1, `users drift differently (shifts ${shifts.map((s) => s.toFixed(2)).join(', ')})`);
  });

  test('generation never calls Math.random', () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error('Math.random called during generation');
    };
    try {
      const generated = [...generateEvents({ seed: 'no-random', users: 6, events: 2000, startMs: START_MS })];
      assert.equal(generated.length, 2000, 'the run completes without Math.random');
    } finally {
      Math.random = original;
    }
  });

  test('invalid options are rejected up front with a CONFIG error naming the option', () => {
    const base = { seed: 1, users: 2, events: 10, startMs: START_MS };
    const cases: [Partial<GenerateEventsOptions>, RegExp][] = [
      [{ users: 0 }, /users/],
      [{ events: -1 }, /events/],
      [{ events: 1.5 }, /events/],
      [{ startMs: Number.NaN }, /startMs/],
      [{ spanDays: 0 }, /spanDays/],
      [{ windowDays: -1 }, /windowDays/],
      [{ maxEvents: 0 }, /maxEvents/],
      [{ lateFraction: 1.5 }, /lateFraction/],
      [{ poisonFraction: 0.5, lateFraction: 0.3, duplicateFraction: 0.3 }, /must not exceed 1/],
      [{ seed: Number.POSITIVE_INFINITY }, /seed/],
      [{ startMs: Date.UTC(2000, 0, 5) }, /startMs .*2000-01-10/],
    ];
    for (const [override, message] of cases) {
      assert.throws(
        () => generateEvents({ ...base, ...override }),
        (error: unknown) => error instanceof AuraError && error.code === 'CONFIG' && message.test(error.message),
        `${JSON.stringify(override)} is rejected before iteration`,
      );
    }
  });
});

describe('summarize and formatSummary', () => {
  test('a tally fed record by record equals summarize over the run', () => {
    const tally = createTally();
    for (const record of records) tally.add(record);
    assert.deepEqual(tally.summary(), summarize(records), 'incremental and batch counts agree');
  });

  test('the summary lists every poison kind, zero included', () => {
    const summary = summarize(records.slice(0, 3));
    assert.deepEqual(Object.keys(summary.poisonByKind), [...POISON_KINDS], 'every kind is a key, in rotation order');
    const empty = summarize([]);
    assert.equal(empty.total, 0, 'an empty run has no records');
    assert.equal(empty.users, 0, 'an empty run has no users');
  });

  test('the printed table shows every class, kind, the total and the users', () => {
    const summary = summarize(records);
    const table = formatSummary(summary);
    const lines = table.split('\n');
    assert.match(lines[0] ?? '', /^class\s+records\s+share$/, 'the header names the columns');
    for (const cls of ['valid', 'late', 'duplicate', 'poison'] as const) {
      assert.ok(lines.some((line) => new RegExp(`^${cls}\\s+${summary[cls]}\\s`).test(line)), `a row for ${cls} shows ${summary[cls]}`);
    }
    for (const kind of POISON_KINDS) {
      assert.ok(lines.some((line) => line.includes(`poison: ${kind}`)), `a row for poison kind ${kind}`);
    }
    assert.ok(lines.some((line) => /^total\s+5000\s+100\.0%$/.test(line)), 'the total row shows 5000 and 100%');
    assert.ok(lines.some((line) => /^users\s+12$/.test(line)), 'the users row shows 12');
    assert.equal(new Set(lines.map((l) => l.indexOf('  ', 6) >= 0)).size, 1, 'rows are laid out in columns');
  });
});

describe('the heavy profile', () => {
  const heavy = [...generateEvents({ seed: 'heavy', users: 6, events: 6 * 620, startMs: START_MS, profile: 'heavy', lateFraction: 0.01, duplicateFraction: 0.01, poisonFraction: 0 })];

  test('every user has more valid events than the 512-event cap, all within two days', () => {
    const perUser = new Map<string, number>();
    for (const r of heavy) if (r.class === 'valid') perUser.set(r.key!, (perUser.get(r.key!) ?? 0) + 1);
    assert.equal(perUser.size, 6);
    for (const [user, n] of perUser) assert.ok(n > 530, `${user}: ${n} valid events`);
    const times = heavy.filter((r) => r.class === 'valid').map((r) => r.event!.occurred_at);
    assert.ok(Math.max(...times) - Math.min(...times) <= 2 * 86_400_000, 'inside two days');
  });

  test('every event carries a note of exactly 200 characters with nothing to trim', () => {
    for (const r of heavy.filter((x) => x.event)) {
      const note = r.event!.type === 'MoodCreated' ? r.event!.note : r.event!.notes;
      assert.equal(note?.length, HEAVY_NOTE_LENGTH, `record ${r.index}`);
      assert.equal(note.trim(), note, `record ${r.index} has no leading or trailing space`);
    }
  });

  test('an unknown profile is a CONFIG error naming the choices', () => {
    assert.throws(() => generateEvents({ seed: 1, users: 1, events: 1, startMs: START_MS, profile: 'huge' as 'heavy' }), /profile must be realistic \| heavy/);
  });
});
