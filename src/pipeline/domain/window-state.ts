import type { UserEvent } from '../../contracts/events.js';
import type { ActivityStats, MoodStats } from '../../contracts/snapshot.js';
import type { MoodEntry, UserWindow, WindowConfig, WindowEntry } from '../../contracts/window.js';
import { AuraError } from '../../errors.js';
import { DAY_MS, compareEntries, toEntry, upperBound, type WindowOutcome } from './window-entries.js';
import { ACTIVITY_TYPE_KEYS, INTENSITY_KEYS, MOOD_DISTRIBUTION_KEYS, NOTE_MAX_CODE_POINTS, RECENT_NOTES, addScore, cutCodePoints, emptyScoreSums, moodScore, moodTags, noteOf, scoreStats, streakDays, topTagsOf, utcDayNumber, type ScoreSums } from './snapshot-stats.js';

/**
 * A user's window with its statistics kept up to date as events come and go: the in-memory form
 * the aggregate stage folds into. `rollWindow` + `moodStats`/`activityStats`/`recentNotes` are the
 * definition; this is the same thing maintained incrementally (test/pipeline/domain/window-state.test.ts
 * proves equality on random sequences). Mutable, owned by one partition's fold.
 *
 * Cost of one event, with n entries in the window: the late and duplicate checks and every running
 * total are O(1); placing the entry is a binary search plus an array splice (a memmove, O(1) when
 * events arrive in time order); each evicted entry is removed once in O(1); reading the statistics
 * is O(distinct tags + window days). Nothing sorts or scans the window.
 */
export interface WindowState {
  userId: string;
  /** Largest accepted occurred_at; the window is (end - windowDays, end]. */
  end: number;
  /** Sorted by (occurred_at, seq) ascending. */
  entries: WindowEntry[];
  /** Event ids in the window: the idempotence memory. */
  ids: Set<string>;
  /** Encoded form of each entry (index-aligned with `entries`), so the window encodes without re-serialising every entry. */
  encoded: string[];
  /** Sum of the lengths of `encoded`: the size of the encoded window, less a small fixed overhead. */
  encodedLength: number;
  stats: RunningStats;
}

export interface RunningStats {
  moods: number;
  /** Per MOOD_DISTRIBUTION_KEYS index. */
  distribution: number[];
  scores: ScoreSums;
  /** The greatest mood by (occurred_at, seq), or null when there is none. */
  latestMood: MoodEntry | null;
  tags: Map<string, number>;
  sessions: number;
  totalMinutes: number;
  /** Per ACTIVITY_TYPE_KEYS index. */
  minutesByType: number[];
  /** Per INTENSITY_KEYS index. */
  minutesByIntensity: number[];
  /** Activities per UTC day number. */
  days: Map<number, number>;
  /** Entries with a non-empty note, sorted like `entries`. */
  noted: WindowEntry[];
}

/** What a snapshot reads from a window. */
export interface WindowStatistics {
  end: number;
  eventCount: number;
  mood: MoodStats;
  activity: ActivityStats;
  recentNotes: string[];
}

/** How a window entry is written in the changelog (see src/adapters/codecs.ts, version 2). */
export type EntryEncoder = (entry: WindowEntry) => string;

/** For callers that never encode the window (tests, the batch fold): keeps no encoded parts. */
export const NO_ENCODING: EntryEncoder = () => '';

/** Builds the running state of a stored window: O(n) once, when a window is loaded. */
export function loadWindowState(window: UserWindow, encodeEntry: EntryEncoder = NO_ENCODING): WindowState {
  const state: WindowState = { userId: window.user_id, end: window.end, entries: [], ids: new Set(), encoded: [], encodedLength: 0, stats: emptyStats() };
  for (const e of window.entries) {
    state.entries.push(e);
    const part = encodeEntry(e);
    state.encoded.push(part);
    state.encodedLength += part.length;
    state.ids.add(e.event_id);
    count(state.stats, e, 1);
    if (noteOf(e) !== '') state.stats.noted.push(e);
  }
  // Stored windows are sorted; a window from an older writer is sorted here once.
  if (!isSorted(state.entries)) {
    const order = state.entries.map((e, i) => ({ e, s: state.encoded[i]! })).sort((a, b) => compareEntries(a.e, b.e));
    state.entries = order.map((o) => o.e);
    state.encoded = order.map((o) => o.s);
    state.stats.noted.sort(compareEntries);
  }
  return state;
}

/** The window as stored: the same entries (shared, never mutated) in a plain record. */
export function windowOf(state: WindowState): UserWindow {
  return { user_id: state.userId, end: state.end, entries: [...state.entries] };
}

/**
 * Folds one event into `state` (undefined = the user's first event), mutating it, with the rules
 * of `rollWindow`: late (occurred_at ≤ end − windowDays, checked first), duplicate (event id in the
 * window), else accepted: placed by (occurred_at, seq), end moved, entries at or below the horizon
 * evicted, then the oldest beyond maxEvents.
 */
export function foldEvent(
  state: WindowState | undefined,
  event: UserEvent,
  seq: number,
  config: WindowConfig,
  encodeEntry: EntryEncoder = NO_ENCODING,
): { outcome: WindowOutcome; state: WindowState } {
  const windowMs = config.windowDays * DAY_MS;
  if (state !== undefined) {
    if (state.userId !== event.user_id) {
      throw new AuraError('INTERNAL', 'foldEvent: a window handed an event of another user (user ids not shown: they are personal data and this message reaches the log)');
    }
    if (event.occurred_at <= state.end - windowMs) return { outcome: 'late', state };
    if (state.ids.has(event.event_id)) return { outcome: 'duplicate', state };
  }
  const s: WindowState = state ?? { userId: event.user_id, end: event.occurred_at, entries: [], ids: new Set<string>(), encoded: [], encodedLength: 0, stats: emptyStats() };
  const entry = toEntry(event, seq);
  s.end = Math.max(s.end, event.occurred_at);
  const at = upperBound(s.entries, entry);
  const part = encodeEntry(entry);
  s.encodedLength += part.length;
  if (at === s.entries.length) {
    s.entries.push(entry);
    s.encoded.push(part);
  } else {
    s.entries.splice(at, 0, entry);
    s.encoded.splice(at, 0, part);
  }
  s.ids.add(entry.event_id);
  count(s.stats, entry, 1);
  if (noteOf(entry) !== '') {
    const noted = s.stats.noted;
    const i = upperBound(noted, entry);
    if (i === noted.length) noted.push(entry);
    else noted.splice(i, 0, entry);
  }

  // Evict a prefix: entries at or below the horizon, then the oldest beyond the cap.
  const horizon = s.end - windowMs;
  let evict = 0;
  while (evict < s.entries.length && s.entries[evict]!.occurred_at <= horizon) evict += 1;
  evict = Math.max(evict, s.entries.length - Math.max(0, config.maxEvents));
  if (evict > 0) {
    const last = s.entries[evict - 1]!;
    for (let i = 0; i < evict; i++) {
      const e = s.entries[i]!;
      s.ids.delete(e.event_id);
      s.encodedLength -= s.encoded[i]!.length;
      count(s.stats, e, -1);
    }
    s.entries.splice(0, evict);
    s.encoded.splice(0, evict);
    let n = 0;
    while (n < s.stats.noted.length && compareEntries(s.stats.noted[n]!, last) <= 0) n += 1;
    if (n > 0) s.stats.noted.splice(0, n);
    if (s.stats.latestMood !== null && compareEntries(s.stats.latestMood, last) <= 0) s.stats.latestMood = null;
  }
  return { outcome: 'accepted', state: s };
}

/** The statistics of the window now, equal to moodStats/activityStats/recentNotes over its entries. */
export function statisticsOf(state: WindowState): WindowStatistics {
  const st = state.stats;
  const recent: string[] = [];
  for (let i = st.noted.length - 1; i >= 0 && recent.length < RECENT_NOTES; i--) recent.push(cutCodePoints(noteOf(st.noted[i]!), NOTE_MAX_CODE_POINTS));
  return {
    end: state.end,
    eventCount: state.entries.length,
    mood: {
      count: st.moods,
      ...scoreStats(st.scores),
      latest: st.latestMood === null ? null : st.latestMood.level,
      distribution: record(MOOD_DISTRIBUTION_KEYS, st.distribution),
      top_tags: topTagsOf(st.tags),
    },
    activity: {
      sessions: st.sessions,
      total_minutes: st.totalMinutes,
      minutes_by_type: record(ACTIVITY_TYPE_KEYS, st.minutesByType),
      minutes_by_intensity: record(INTENSITY_KEYS, st.minutesByIntensity),
      active_days: st.days.size,
      streak_days: streakDays(st.days, state.end),
    },
    recentNotes: recent,
  };
}

function emptyStats(): RunningStats {
  return {
    moods: 0,
    distribution: MOOD_DISTRIBUTION_KEYS.map(() => 0),
    scores: emptyScoreSums(),
    latestMood: null,
    tags: new Map(),
    sessions: 0,
    totalMinutes: 0,
    minutesByType: ACTIVITY_TYPE_KEYS.map(() => 0),
    minutesByIntensity: INTENSITY_KEYS.map(() => 0),
    days: new Map(),
    noted: [],
  };
}

/** Adds (`sign` 1) or removes (`sign` -1) an entry's contribution to the running totals (not `noted`). */
function count(st: RunningStats, e: WindowEntry, sign: 1 | -1): void {
  if (e.kind === 'mood') {
    st.moods += sign;
    st.distribution[index(MOOD_DISTRIBUTION_KEYS, e.level)]! += sign;
    const score = moodScore(e.level);
    if (score !== null) addScore(st.scores, score, e.occurred_at, sign);
    for (const tag of moodTags(e)) {
      const n = (st.tags.get(tag) ?? 0) + sign;
      if (n === 0) st.tags.delete(tag);
      else st.tags.set(tag, n);
    }
    if (sign === 1 && (st.latestMood === null || compareEntries(e, st.latestMood) > 0)) st.latestMood = e;
    if (st.moods === 0) st.latestMood = null;
    return;
  }
  st.sessions += sign;
  st.totalMinutes += sign * e.duration_minutes;
  st.minutesByType[index(ACTIVITY_TYPE_KEYS, e.activity_type)]! += sign * e.duration_minutes;
  st.minutesByIntensity[index(INTENSITY_KEYS, e.intensity)]! += sign * e.duration_minutes;
  const day = utcDayNumber(e.occurred_at);
  const n = (st.days.get(day) ?? 0) + sign;
  if (n === 0) st.days.delete(day);
  else st.days.set(day, n);
}

/** Index of `value` in `keys`, or of the last key (the default symbol) when it is not there. */
function index(keys: readonly string[], value: string): number {
  const i = keys.indexOf(value);
  return i < 0 ? keys.length - 1 : i;
}

function record(keys: readonly string[], values: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = values[i]!;
  return out;
}

function isSorted(entries: readonly WindowEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (compareEntries(entries[i - 1]!, entries[i]!) > 0) return false;
  return true;
}

