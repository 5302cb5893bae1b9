/**
 * What the aggregate stage's state costs per user, at the `produce` default profile and at
 * `--profile heavy`, measured on the real code: the generator's events folded with `foldEvent`
 * into windows, encoded as the changelog and LMDB store them (`encodeWindowParts`), written to a
 * real `LmdbWindowStore`, and loaded back into the in-memory form the window cache holds
 * (`loadWindowState`). The sizes in deploy/k8s and AGGREGATE_CACHE_MAX_BYTES's estimate are derived
 * from these figures (docs/operations.md, "Sizing").
 *
 *   node --expose-gc --import tsx bench/state-size.ts
 *
 * Per profile it reports, per user: the encoded window (the baseline every other figure is a ratio
 * of), LMDB bytes on disk (data.mdb's allocated blocks after the writes, less an empty store's),
 * and heap / RSS growth per cached window (gc before and after; the windows held in a Map like the
 * cache does). It fits `bytes ≈ perEncodedByte · encodedLength + perWindow` through the two
 * profiles' heap figures: the estimate src/pipeline/state/window-cache.ts uses, and reports its error.
 *
 * Environment (optional): BENCH_USERS (default 300), BENCH_SEED (state-size),
 * BENCH_EVENTS_PER_USER (50, the `produce` default of 5000 events for 100 users),
 * BENCH_HEAVY_EVENTS_PER_USER (600: over the 512 cap, every heavy window full).
 * Results: bench/results/state-size-<time>.json.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { decodeWindow, encodeEntry, encodeWindowParts } from '../src/adapters/codecs.js';
import { LmdbWindowStore } from '../src/adapters/lmdb-window-store.js';
import { foldEvent, loadWindowState, type WindowState } from '../src/pipeline/domain/window-state.js';
import { generateEvents } from '../src/workload/generate-events.js';
import type { Profile } from '../src/workload/profiles.js';
import { hostInfo, intEnv, percentile, writeResults } from './support.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (the heap figures need a full collection before and after)');
const collect = () => {
  for (let i = 0; i < 3; i++) gc();
};

const USERS = intEnv('BENCH_USERS', 300);
const SEED = process.env.BENCH_SEED || 'state-size';
const PER_USER: Record<Profile, number> = { realistic: intEnv('BENCH_EVENTS_PER_USER', 50), heavy: intEnv('BENCH_HEAVY_EVENTS_PER_USER', 600) };
const WINDOW = { windowDays: 7, maxEvents: 512 };
const START_MS = Date.UTC(2026, 0, 5);

/** Bytes the file system allocated to a file (sparse LMDB maps count only what was written). */
const allocated = (file: string) => statSync(file).blocks * 512;

interface ProfileResult {
  profile: Profile;
  users: number;
  events: number;
  entriesPerUser: { mean: number; p50: number; max: number };
  encodedBytesPerUser: { mean: number; p50: number; p99: number; max: number };
  lmdbBytesPerUser: number;
  heapBytesPerUser: number;
  rssBytesPerUser: number;
  ratios: { lmdbPerEncoded: number; heapPerEncoded: number; rssPerEncoded: number };
  meanEncodedLength: number;
}

function foldProfile(profile: Profile): { windows: Map<string, WindowState>; events: number } {
  const events = USERS * PER_USER[profile];
  const windows = new Map<string, WindowState>();
  let seq = 0;
  for (const r of generateEvents({ seed: SEED, users: USERS, events, startMs: START_MS, profile, ...WINDOW })) {
    if (r.class !== 'valid' || !r.event) continue;
    const { state } = foldEvent(windows.get(r.event.user_id), r.event, seq++, WINDOW, encodeEntry);
    windows.set(r.event.user_id, state);
  }
  return { windows, events };
}

function measure(profile: Profile): ProfileResult {
  const { windows, events } = foldProfile(profile);
  const encoded = new Map<string, Buffer>();
  for (const [user, s] of windows) encoded.set(user, encodeWindowParts(s.userId, s.end, s.encoded));
  const sizes = [...encoded.values()].map((b) => b.length).sort((a, b) => a - b);
  const entries = [...windows.values()].map((s) => s.entries.length).sort((a, b) => a - b);
  const meanEncoded = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const meanEncodedLength = [...windows.values()].reduce((a, s) => a + s.encodedLength, 0) / windows.size;
  windows.clear();

  // LMDB: an empty store's file, then every window written as the stage writes them (per transaction of 500)
  const dir = mkdtempSync(join(tmpdir(), `aura-state-size-${profile}-`));
  let lmdbBytesPerUser: number;
  try {
    const store = new LmdbWindowStore(dir);
    store.apply(0, new Map(), '0');
    const empty = allocated(join(dir, 'data.mdb'));
    const all = [...encoded.entries()];
    for (let i = 0; i < all.length; i += 500) store.apply(0, new Map(all.slice(i, i + 500)), String(i));
    void store.close();
    lmdbBytesPerUser = (allocated(join(dir, 'data.mdb')) - empty) / encoded.size;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // the cache's form: each stored window decoded and loaded, held in a Map
  collect();
  const before = process.memoryUsage();
  const cache = new Map<string, WindowState>();
  for (const [user, value] of encoded) cache.set(user, loadWindowState(decodeWindow(value), encodeEntry));
  collect();
  const after = process.memoryUsage();
  const heapBytesPerUser = (after.heapUsed + after.external - before.heapUsed - before.external) / cache.size;
  const rssBytesPerUser = (after.rss - before.rss) / cache.size;
  if (cache.size !== encoded.size) throw new Error('lost a window');
  cache.clear();

  return {
    profile,
    users: encoded.size,
    events,
    entriesPerUser: { mean: entries.reduce((a, b) => a + b, 0) / entries.length, p50: percentile(entries, 50), max: entries.at(-1)! },
    encodedBytesPerUser: { mean: meanEncoded, p50: percentile(sizes, 50), p99: percentile(sizes, 99), max: sizes.at(-1)! },
    lmdbBytesPerUser,
    heapBytesPerUser,
    rssBytesPerUser,
    ratios: { lmdbPerEncoded: lmdbBytesPerUser / meanEncoded, heapPerEncoded: heapBytesPerUser / meanEncoded, rssPerEncoded: rssBytesPerUser / meanEncoded },
    meanEncodedLength,
  };
}

const startedAt = new Date();
const load0 = loadavg();
const results = (['realistic', 'heavy'] as const).map(measure);
const [d, h] = results as [ProfileResult, ProfileResult];
// heap ≈ perChar · encodedLength + perWindow, through the two profiles
const perChar = (h.heapBytesPerUser - d.heapBytesPerUser) / (h.meanEncodedLength - d.meanEncodedLength);
const perWindow = d.heapBytesPerUser - perChar * d.meanEncodedLength;
const estimate = (r: ProfileResult) => perChar * r.meanEncodedLength + perWindow;

for (const r of results) {
  console.log(
    `${r.profile.padEnd(9)} ${r.users} users, ${r.entriesPerUser.mean.toFixed(0)} entries/window: encoded ${(r.encodedBytesPerUser.mean / 1024).toFixed(1)} KiB (p99 ${(r.encodedBytesPerUser.p99 / 1024).toFixed(1)}), ` +
      `LMDB ${(r.lmdbBytesPerUser / 1024).toFixed(1)} KiB (${r.ratios.lmdbPerEncoded.toFixed(2)}x encoded), heap ${(r.heapBytesPerUser / 1024).toFixed(1)} KiB (${r.ratios.heapPerEncoded.toFixed(2)}x), ` +
      `RSS ${(r.rssBytesPerUser / 1024).toFixed(1)} KiB (${r.ratios.rssPerEncoded.toFixed(2)}x); estimate ${(estimate(r) / 1024).toFixed(1)} KiB`,
  );
}
console.log(`heap per cached window ≈ ${perChar.toFixed(2)} · encodedLength + ${perWindow.toFixed(0)} bytes`);
const file = writeResults('state-size', startedAt, {
  startedAt: startedAt.toISOString(),
  host: hostInfo(load0),
  options: { users: USERS, seed: SEED, eventsPerUser: PER_USER, window: WINDOW },
  profiles: results,
  heapEstimate: { perEncodedChar: perChar, perWindow, errors: results.map((r) => ({ profile: r.profile, estimate: estimate(r), measured: r.heapBytesPerUser })) },
});
console.log(`results: ${file}`);
