import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type Config } from '../config.js';
import { AuraError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { SearchHit } from '../ports.js';
import { describeVersion } from '../contracts/index-version.js';
import { createVectorStore, requireQueryModel, resolveAliasTarget } from './index-versions.js';
import { createEmbedder } from './run-vectorize.js';

export interface SearchOptions {
  user?: string;
  /** YYYY-MM-DD: only points whose window ends on or after that UTC day. */
  since?: string;
  limit: number;
  json: boolean;
}

/** Folder name of a demo run under STATE_DIR: `demo-<UTC yyyymmddhhmmss>-<hex>`, so names sort by time. */
export const DEMO_RUN = /^demo-\d{14}-[0-9a-f]+$/;

/** `YYYY-MM-DD` → epoch ms of that UTC midnight; a CONFIG error naming the expected form otherwise. */
export function parseSince(day: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00.000Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw new AuraError('CONFIG', `--since ${JSON.stringify(day)} is not a date: expected YYYY-MM-DD, e.g. --since 2026-03-01`);
  }
  return ms;
}

/**
 * Where `search` reads. Qdrant when QDRANT_URL is set. Otherwise the LanceDB folder under
 * STATE_DIR; when it holds no index and STATE_DIR was not set, the newest demo run's folder
 * (`<STATE_DIR>/demo-*`), so that `search` right after `npm run demo` needs no settings.
 */
export function searchTarget(env: NodeJS.ProcessEnv = process.env): { config: Config; note?: string } {
  const config = loadConfig(env);
  if (config.qdrantUrl) return { config };
  // The alias record, or a table of the alias's name (an index written before versions).
  const table = (stateDir: string) => ['alias.json', 'lance'].some((ext) => existsSync(join(resolve(stateDir), 'lancedb', `${config.collection}.${ext}`)));
  if (table(config.stateDir) || env['STATE_DIR']) return { config };
  const runs = existsSync(config.stateDir) ? readdirSync(config.stateDir).filter((n) => DEMO_RUN.test(n) && table(join(config.stateDir, n))) : [];
  const latest = runs.sort().at(-1);
  if (latest === undefined) {
    throw new AuraError(
      'CONFIG',
      `no vector index in ${resolve(config.stateDir, 'lancedb')} (table "${config.collection}") nor in a demo run under ${resolve(config.stateDir)}. ` +
        'Fix: run `aura-stream demo` (or `aura-stream run vectorize`) first, or set STATE_DIR to the folder the stage wrote, or QDRANT_URL to the Qdrant that holds the index.',
    );
  }
  const stateDir = join(config.stateDir, latest);
  return { config: loadConfig({ ...env, STATE_DIR: stateDir }), note: `searching the latest demo run (STATE_DIR=${stateDir})` };
}

/** One JSON line per hit: the score, who and when, the text, and the payload with every statistic. */
export function hitJson(hit: SearchHit): string {
  return JSON.stringify({ score: hit.score, user_id: hit.payload.user_id, day: hit.payload.day, text: hit.payload.text, payload: hit.payload });
}

export async function runSearch(text: string, options: SearchOptions, print: (line: string) => void = console.log, note: (line: string) => void = console.error): Promise<void> {
  const sinceMs = options.since !== undefined ? parseSince(options.since) : undefined;
  if (text.trim() === '') throw new AuraError('CONFIG', 'the search text is empty. Fix: aura-stream search "mood getting worse"');
  const where = searchTarget();
  const { config } = where;
  if (where.note) note(where.note);
  const store = createVectorStore(config);
  const target = await resolveAliasTarget(store).finally(() => store.close());
  if (target === undefined) {
    throw new AuraError('CONFIG', `no index "${config.collection}" in ${store.kind} at ${store.location}. Fix: run \`aura-stream run vectorize\` (or \`aura-stream demo\`) first, or set VECTOR_COLLECTION to the index's name.`);
  }
  // The physical collection the alias names now: one search reads exactly one version.
  const sink = store.open(target.collection);
  try {
    // Fail on a missing index before the model is loaded (seconds), with the fix in the message.
    await sink.count();
    // Only warnings on stderr unless LOG_LEVEL asks for more: the results are the output.
    const embedder = await createEmbedder(config, createLogger(process.env['LOG_LEVEL'] ? config.logLevel : 'warn'));
    try {
      requireQueryModel(target, embedder);
      const [vector] = await embedder.embedQueries([text]);
      const hits = await sink.search(vector!, { limit: options.limit, mode: config.retrievalMode, text, ...(options.user !== undefined && { userId: options.user }), ...(sinceMs !== undefined && { sinceMs }) });
      if (options.json) {
        for (const h of hits) print(hitJson(h));
        return;
      }
      print(`${sink.kind} ${sink.location} index ${target.alias} → ${target.collection} (${describeVersion(target.version)}): ${hits.length} result(s)`);
      for (const h of hits) print(`${h.score.toFixed(3)}  ${h.payload.user_id}  ${h.payload.day}  ${h.payload.text}`);
    } finally {
      await embedder.close();
    }
  } finally {
    await sink.close();
  }
}
