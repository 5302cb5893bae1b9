import type { ActivityCreated } from '../contracts/events.js';
import { cloneEvent, makeEvent, type EventContext } from './event-content.js';
import { userIdOf } from './ids.js';
import { compileOptions, DAY_MS, DUPLICATE_RECENT, FUTURE_SKEW_MS, HOUR_MS, MAX_INGEST_DELAY_MS, MAX_LATE_BEHIND_MS, MINUTE_MS } from './options.js';
import type { CompiledOptions, GenerateEventsOptions } from './options.js';
import { makePersona, type Persona } from './personas.js';
import { HEAVY_NOTE_LENGTH, shapePersona } from './profiles.js';
import { Prng } from './prng.js';
import { POISON_KINDS } from './records.js';
import type { GeneratedRecord, PoisonKind, RecordClass } from './records.js';
import { accept, type SimWindow } from './window-replay.js';

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

/**
 * Validates the options up front (a CONFIG error names the offending option) and returns a lazy
 * iterable of `events` records.
 */
export function generateEvents(options: GenerateEventsOptions): Iterable<GeneratedRecord> {
  const compiled = compileOptions(options);
  return { [Symbol.iterator]: () => generate(compiled) };
}

function* generate(options: CompiledOptions): Generator<GeneratedRecord, void, undefined> {
  const { seedKey, users, events, startMs, spanMs, windowMs, maxEvents } = options;
  // Duplicates come from the newest entries only, so a stage whose cap breaks ties differently agrees too.
  const keep = Math.min(DUPLICATE_RECENT, Math.ceil(maxEvents / 2));
  const ctx: EventContext = { seedKey, startMs, ...(options.profile === 'heavy' && { noteLength: HEAVY_NOTE_LENGTH }) };
  const spanDays = spanMs / DAY_MS;
  const personas = Array.from({ length: users }, (_, i) => shapePersona(makePersona(seedKey, i + 1, spanDays), options.profile));
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
