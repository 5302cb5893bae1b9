/**
 * Reader latency on a large index: `aura-stream serve` against the bare library call and the
 * `aura-stream search` command, on the same index and queries, in one run.
 *
 *   npx tsx bench/search.ts
 *
 * - Index: BENCH_USERS (1000) users × BENCH_DAYS (100) days of the seeded workload through the
 *   aggregate fold, one point per user per UTC day (≥ 100 000 points by default), written as the
 *   vectorize stage writes (the model's version collection behind the alias) into an embedded
 *   LanceDB under a temporary STATE_DIR. Embedding 100 000 texts would take over an hour on
 *   2 shared cores, so only BENCH_DISTINCT_VECTORS (512) texts are embedded with the real model and
 *   point i carries the vector of text i mod 512: payloads are all real, vectors are real model
 *   vectors, and the search is exact (no vector index), so its cost does not depend on which
 *   vector a point holds.
 * - Queries (the agent's kinds), each for a random user: `text` ("sleeping badly and stressed",
 *   user_id, limit 3), `structured` (user_id, order_by mood_mean asc, limit 3), `latest`
 *   (GET /v1/users/{id}/context/latest).
 * - Ways, one after the other on the same index:
 *   1. `library`: searchContext in this process with the model loaded (the baseline: no HTTP);
 *   2. `serve`: `aura-stream serve` as its own process, requests one at a time over loopback;
 *   3. `cli`: `aura-stream search --user U …` as a new process per call (model load included for
 *      text), BENCH_CLI_RUNS (8) calls per kind.
 * - Reports p50/p99 per way and kind and serve's p99 over the library's. JSON key
 *   `search_p99_ms`: serve's p99 for text queries within a user.
 *
 * Environment (all optional): BENCH_USERS, BENCH_DAYS, BENCH_EVENTS_PER_DAY (3), BENCH_REQUESTS
 * (300 per kind), BENCH_CLI_RUNS, BENCH_DISTINCT_VECTORS, EMBEDDING_MODEL_PATH (default the local
 * stack's MiniLM). Writes bench/results/search-<time>.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTransformersEmbedder } from '../src/adapters/transformers-embedder.js';
import { createVectorStore, indexVersionOf, openWriterIndex, resolveAliasTarget } from '../src/cli/index-versions.js';
import { loadConfig } from '../src/config.js';
import { searchContext, type ContextQuery } from '../src/query/index.js';
import { historyPoint, userHistory } from './lib/user-history.js';
import { hostInfo, intEnv, percentile, writeResults } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'aura-stream.js');
const TOKEN = 'bench-token-0123456789abcdef';
const TEXT = 'sleeping badly and stressed';
const KINDS = ['text', 'structured', 'latest'] as const;
type Kind = (typeof KINDS)[number];

function modelPath(): string {
  const fromEnv = process.env['EMBEDDING_MODEL_PATH'];
  if (fromEnv) return resolve(fromEnv);
  const stack = process.env['AURA_STACK_DIR'] ? resolve(process.env['AURA_STACK_DIR']) : join(ROOT, '.cache', 'stack');
  const dir = join(stack, 'models', 'all-MiniLM-L6-v2-q');
  if (!existsSync(dir)) throw new Error(`no model at ${dir}: run \`node bin/aura-stream.js stack up\` or set EMBEDDING_MODEL_PATH`);
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Deterministic user picks (a small LCG), so every way asks for the same users. */
function users(all: string[], n: number): string[] {
  let x = 12345;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return all[x % all.length]!;
  });
}

const queryOf = (kind: Exclude<Kind, 'latest'>, user: string): ContextQuery =>
  kind === 'text' ? { text: TEXT, user_id: user, limit: 3 } : { user_id: user, order_by: { field: 'mood_mean', direction: 'asc' }, limit: 3 };

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { n: sorted.length, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), max_ms: sorted.at(-1) ?? NaN };
};

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = loadavg();
  const nUsers = intEnv('BENCH_USERS', 1000);
  const days = intEnv('BENCH_DAYS', 100);
  const perDay = intEnv('BENCH_EVENTS_PER_DAY', 3);
  const requests = intEnv('BENCH_REQUESTS', 300);
  const cliRuns = intEnv('BENCH_CLI_RUNS', 8);
  const distinct = intEnv('BENCH_DISTINCT_VECTORS', 512);
  const model = modelPath();
  const stateDir = mkdtempSync(join(tmpdir(), 'aura-bench-search-'));
  const env = { ...process.env, STATE_DIR: stateDir, VECTOR_COLLECTION: 'bench_context', EMBEDDING_MODEL_PATH: model, EMBEDDING_THREADS: '1', LOG_LEVEL: 'warn', QDRANT_URL: '' };
  const config = loadConfig(env);
  try {
    let t0 = performance.now();
    const snapshots = userHistory({ seed: 'bench-search', users: nUsers, days, eventsPerUserDay: perDay });
    const allUsers = [...new Set(snapshots.map((s) => s.user_id))];
    console.log(`${snapshots.length} points of ${allUsers.length} users folded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const embedder = await createTransformersEmbedder({ modelPath: model, threads: 1 });
    const store = createVectorStore(config);
    let writerCollection: string;
    {
      const writer = await openWriterIndex(store, indexVersionOf(embedder), embedder.dimension);
      writerCollection = writer.sink.collection;
      t0 = performance.now();
      const sample = await embedder.embed(snapshots.slice(0, distinct).map((s) => s.text));
      console.log(`embedded ${sample.length} texts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      t0 = performance.now();
      const CHUNK = 10_000;
      for (let i = 0; i < snapshots.length; i += CHUNK) {
        await writer.sink.upsert(snapshots.slice(i, i + CHUNK).map((s, j) => historyPoint(s, sample[(i + j) % sample.length]!, embedder, i + j)));
      }
      console.log(`stored ${await writer.sink.count()} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await writer.sink.close();
    }

    // 1. The bare library call: model loaded, index open, no HTTP.
    const library: Record<Kind, number[]> = { text: [], structured: [], latest: [] };
    const target = (await resolveAliasTarget(store))!;
    const reader = store.open(target.collection);
    const picks = users(allUsers, requests);
    for (const kind of KINDS) {
      for (const user of picks) {
        const q: ContextQuery = kind === 'latest' ? { user_id: user, limit: 1 } : queryOf(kind, user);
        const t = performance.now();
        const answer = await searchContext({ reader, embedder, index: target, mode: 'dense' }, q);
        library[kind].push(performance.now() - t);
        if (answer.hits.length === 0) throw new Error(`library ${kind} query for ${user} found nothing`);
      }
    }
    await reader.close();
    await store.close();
    await embedder.close();
    console.log('library done');

    // 2. serve in its own process.
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...env, SEARCH_TOKENS: `${TOKEN}:*`, SERVE_PORT: String(port), SERVE_HOST: '127.0.0.1' }, stdio: ['ignore', 'ignore', 'inherit'] });
    const served: Record<Kind, number[]> = { text: [], structured: [], latest: [] };
    const base = `http://127.0.0.1:${port}`;
    let startupMs = NaN;
    try {
      const s0 = performance.now();
      for (let i = 0; ; i++) {
        if (i > 600) throw new Error('serve did not become ready within 120 s');
        const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      startupMs = performance.now() - s0;
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      for (const kind of KINDS) {
        for (const user of picks) {
          const t = performance.now();
          const res =
            kind === 'latest'
              ? await fetch(`${base}/v1/users/${encodeURIComponent(user)}/context/latest`, { headers })
              : await fetch(`${base}/v1/search`, { method: 'POST', headers, body: JSON.stringify(queryOf(kind, user)) });
          const body = (await res.json()) as { hits?: unknown[]; hit?: unknown };
          served[kind].push(performance.now() - t);
          if (!res.ok || (body.hits ?? [body.hit]).length === 0) throw new Error(`serve ${kind} for ${user}: HTTP ${res.status}`);
        }
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    console.log('serve done');

    // 3. The command, a new process per call.
    const cli: Record<Exclude<Kind, 'latest'>, number[]> = { text: [], structured: [] };
    for (const kind of ['text', 'structured'] as const) {
      for (const user of picks.slice(0, cliRuns)) {
        const args = kind === 'text' ? ['search', TEXT, '--user', user, '--limit', '3', '--json'] : ['search', '--user', user, '--order-by', 'mood_mean:asc', '--limit', '3', '--json'];
        const t = performance.now();
        const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
        cli[kind].push(performance.now() - t);
        if (r.status !== 0 || r.stdout.trim() === '') throw new Error(`search ${kind} for ${user} failed: ${r.stderr}`);
      }
    }

    const report = {
      library: Object.fromEntries(KINDS.map((k) => [k, stats(library[k])])),
      serve: Object.fromEntries(KINDS.map((k) => [k, stats(served[k])])),
      cli: { text: stats(cli.text), structured: stats(cli.structured) },
    };
    const ratio = Object.fromEntries(KINDS.map((k) => [k, report.serve[k]!.p99_ms / report.library[k]!.p99_ms]));
    console.log(`\nlatency on ${snapshots.length} points (LanceDB, exact search, sequential requests), ms:`);
    for (const way of ['library', 'serve', 'cli'] as const) {
      for (const [kind, s] of Object.entries(report[way])) console.log(`${way.padEnd(8)} ${kind.padEnd(10)} p50 ${s.p50_ms.toFixed(1).padStart(7)}  p99 ${s.p99_ms.toFixed(1).padStart(7)}  (n ${s.n})`);
    }
    console.log(`serve p99 / library p99: ${KINDS.map((k) => `${k} ${ratio[k]!.toFixed(2)}`).join(', ')}; serve start to ready ${(startupMs / 1000).toFixed(1)} s`);
    const file = writeResults('search', startedAt, {
      bench: 'search',
      startedAt: startedAt.toISOString(),
      host: hostInfo(load),
      index: { store: 'lancedb', points: snapshots.length, users: allUsers.length, days, collection: writerCollection, distinct_vectors: distinct, exact_search: true },
      search_p99_ms: stats(served.text).p99_ms,
      search_p50_ms: stats(served.text).p50_ms,
      ratio_serve_p99_over_library_p99: ratio,
      serve_ready_ms: startupMs,
      ...report,
    });
    console.log(`results: ${file}`);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
