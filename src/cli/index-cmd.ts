import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import type { DirectFetch } from '../adapters/kafka/direct-fetch.js';
import { openEmbeddingCache } from '../adapters/lmdb-embedding-cache.js';
import type { Config } from '../config.js';
import { describeVersion, type IndexVersion } from '../contracts/index-version.js';
import { AuraError } from '../errors.js';
import { CheckpointFile, checkpointPath, groupLag, reindexGroupId } from './reindex.js';
import { cacheModelVersion, createVectorStore, resolveAliasTarget } from './index-versions.js';

/**
 * `aura-stream index status | promote | drop` (docs/reindex.md): the versions behind the alias,
 * the atomic swap once a new version has caught up, and removing an old one.
 */

export interface VersionStatus {
  collection: string;
  version: IndexVersion | undefined;
  points: number;
  /** True for the alias target. */
  current: boolean;
  /**
   * Records of the aggregated topic not yet in this version: the live vectorize group's lag for
   * the alias target, the reindex group's for a version being built; null when neither applies
   * (a reindex still copying, or a version nobody writes).
   */
  lag: number | null;
  /** Who keeps it fresh: `vectorize` | `reindex` | `copy` (the reindex is still copying) | `none`. */
  writer: 'vectorize' | 'reindex' | 'copy' | 'none';
}

export interface IndexStatus {
  alias: string;
  store: string;
  location: string;
  /** The alias target; null when the store holds no index yet. */
  target: string | null;
  versions: VersionStatus[];
}

export async function indexStatus(config: Config, admin: Admin, direct?: () => Promise<DirectFetch | undefined>): Promise<IndexStatus> {
  const store = createVectorStore(config);
  try {
    const target = await resolveAliasTarget(store);
    const versions: VersionStatus[] = [];
    for (const c of await store.collections()) {
      const current = c.collection === target?.collection;
      const reindexLag = await groupLag(admin, reindexGroupId(config, c.collection), config.aggregatedTopic, direct);
      const copying = new CheckpointFile(checkpointPath(config, c.collection)).load()?.copyDone === false;
      const lag = current ? ((await groupLag(admin, config.vectorizeGroupId, config.aggregatedTopic, direct)) ?? null) : (reindexLag ?? null);
      const writer = current ? 'vectorize' : reindexLag !== undefined ? 'reindex' : copying ? 'copy' : 'none';
      versions.push({ collection: c.collection, version: c.version, points: c.points, current, lag, writer });
    }
    return { alias: store.alias, store: store.kind, location: store.location, target: target?.collection ?? null, versions };
  } finally {
    await store.close();
  }
}

export function formatStatus(s: IndexStatus): string[] {
  const lines = [`index "${s.alias}" in ${s.store} at ${s.location}: ${s.target === null ? 'no alias yet (start `aura-stream run vectorize`)' : `alias → ${s.target}`}`];
  for (const v of s.versions) {
    lines.push(
      `${v.current ? '*' : ' '} ${v.collection}  ${describeVersion(v.version)}  points ${v.points}  lag ${v.lag === null ? '-' : v.lag}  written by ${v.writer}`,
    );
  }
  return lines;
}

/**
 * Points the alias at `collection` (default: the only version that is not the target) once it is
 * caught up: its reindex group's lag is at most `maxLag` records. A search during the swap reads
 * the old or the new version, never none and never both: Qdrant swaps the alias in one request,
 * the LanceDB alias record is replaced by rename(2), and a reader resolves the alias once per search.
 */
export async function promote(config: Config, admin: Admin, options: { collection?: string; maxLag: number }, direct?: () => Promise<DirectFetch | undefined>): Promise<{ from: string; to: string; lag: number; version: IndexVersion }> {
  const store = createVectorStore(config);
  try {
    const target = await resolveAliasTarget(store);
    if (target === undefined) throw new AuraError('CONFIG', `no index "${store.alias}" yet: nothing to promote. Fix: start \`aura-stream run vectorize\` first.`);
    const others = (await store.collections()).filter((c) => c.collection !== target.collection);
    const chosen = options.collection ?? (others.length === 1 ? others[0]!.collection : undefined);
    if (chosen === undefined) {
      throw new AuraError('CONFIG', `index "${store.alias}" has ${others.length} versions besides the current one (${others.map((o) => o.collection).join(', ') || 'none'}). Fix: name the one to promote: aura-stream index promote <collection>`);
    }
    if (chosen === target.collection) throw new AuraError('CONFIG', `${chosen} is already the current version of "${store.alias}"`);
    const entry = others.find((o) => o.collection === chosen);
    if (!entry?.version) throw new AuraError('CONFIG', `${chosen} is not a version of "${store.alias}" (versions: ${others.map((o) => o.collection).join(', ') || 'none'}). Fix: see \`aura-stream index status\``);
    const lag = await groupLag(admin, reindexGroupId(config, chosen), config.aggregatedTopic, direct);
    if (lag === undefined) {
      throw new AuraError('CONFIG', `${chosen} has not started catching up: its reindex is still copying or never ran. Fix: run \`aura-stream reindex\` with its model until it logs "caught up", then promote.`);
    }
    if (lag > options.maxLag) {
      throw new AuraError('CONFIG', `${chosen} is ${lag} records behind the aggregated topic, more than --max-lag ${options.maxLag}. Fix: keep \`aura-stream reindex\` running and promote once it logs "caught up".`);
    }
    await store.setAlias(chosen);
    return { from: target.collection, to: chosen, lag, version: entry.version };
  } finally {
    await store.close();
  }
}

/**
 * Removes a version that is not the alias target: its collection, its reindex checkpoint and
 * consumer group, and the embedding-cache entries (`<STATE_DIR>/embedding-cache`) of its model when
 * no remaining version uses that model (two text versions of one model share its vectors' cache).
 */
export async function dropVersion(config: Config, admin: Admin, collection: string): Promise<{ points: number; cacheEntries: number }> {
  const store = createVectorStore(config);
  try {
    const target = await resolveAliasTarget(store);
    if (collection === target?.collection) {
      throw new AuraError('CONFIG', `${collection} is the current version of "${store.alias}": searches answer from it. Fix: promote another version first (\`aura-stream index promote\`).`);
    }
    const entry = (await store.collections()).find((c) => c.collection === collection);
    if (!entry) throw new AuraError('CONFIG', `${collection} is not a collection of "${store.alias}". Fix: see \`aura-stream index status\``);
    await store.drop(collection);
    new CheckpointFile(checkpointPath(config, collection)).remove();
    await admin.deleteGroups([reindexGroupId(config, collection)]).catch(() => undefined);
    let cacheEntries = 0;
    const v = entry.version;
    const shared = v !== undefined && (await store.collections()).some((c) => c.version?.model_id === v.model_id && c.version.model_version === v.model_version);
    const cacheDir = join(config.stateDir, 'embedding-cache');
    if (v !== undefined && !shared && existsSync(cacheDir)) {
      const cache = openEmbeddingCache({ dir: cacheDir, modelId: v.model_id, modelVersion: cacheModelVersion(v), maxEntries: config.embeddingCacheMaxEntries });
      try {
        cacheEntries = await cache.dropModel(v.model_id, cacheModelVersion(v));
      } finally {
        await cache.close();
      }
    }
    return { points: entry.points, cacheEntries };
  } finally {
    await store.close();
  }
}
