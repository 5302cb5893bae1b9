import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanceDbSink } from '../../src/adapters/lancedb-sink.js';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { versionCollection, type IndexVersion } from '../../src/contracts/index-version.js';
import { AuraError } from '../../src/errors.js';
import { openWriterIndex, resolveAliasTarget, requireQueryModel, versionedWriter, type VectorStore } from '../../src/cli/index-versions.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import { DIM, point, unit } from '../support/sink-points.js';

const V1: IndexVersion = { model_id: 'all-MiniLM-L6-v2-q', model_version: 'sha256:aaaa', manifest_sha256: '3556349b' + 'a'.repeat(56), text_version: 1 };
const V2: IndexVersion = { model_id: 'bge-small-en-v1.5-q', model_version: 'sha256:bbbb', manifest_sha256: 'db060233' + 'b'.repeat(56), text_version: 2 };

/** The same scenarios on both stores: LanceDB in a temporary folder, Qdrant's engine behind the OpenAPI-validating front. */
const STORES: Array<{ name: string; setUp(): Promise<{ store(alias: string): VectorStore; tearDown(): Promise<void>; double?: QdrantEngine }> }> = [
  {
    name: 'LanceDB',
    async setUp() {
      const dir = mkdtempSync(join(tmpdir(), 'aura-versions-'));
      return { store: (alias) => new LanceDbSink({ dir, collection: alias }), tearDown: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'Qdrant',
    async setUp() {
      const double = await startQdrantEngine();
      return { double, store: (alias) => new QdrantSink({ url: double.url, collection: alias, timeoutMs: 5000 }), tearDown: () => double.close() };
    },
  },
];

for (const { name, setUp } of STORES) {
  describe(`versioned indexes behind an alias on ${name}`, () => {
    let env: Awaited<ReturnType<(typeof STORES)[number]['setUp']>>;
    before(async () => {
      env = await setUp();
    });
    after(async () => {
      if (env.double) assert.deepEqual(env.double.responseViolations, [], 'every response of Qdrant matches the OpenAPI document');
      await env.tearDown();
    });

    it('creates the first version and the alias on a first start, and a reader resolves the alias to it with its version', async () => {
      const store = env.store('first');
      const writer = await openWriterIndex(store, V1, DIM);
      assert.equal(writer.state, 'current', writer.summary);
      assert.equal(writer.sink.collection, versionCollection('first', V1));
      assert.match(writer.sink.collection, /^first__all-minilm-l6-v2-q_3556349b_t1$/, 'the physical name carries model slug, manifest hash and text version');
      await writer.sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0), 'v1 text', { model_id: V1.model_id, model_version: V1.model_version, manifest_sha256: V1.manifest_sha256, text_version: 1 })]);
      assert.deepEqual(await resolveAliasTarget(store), { alias: 'first', collection: writer.sink.collection, version: V1, legacy: false });
      // A reader opening the alias name (not the physical one) reads the same points.
      const reader = env.store('first');
      assert.deepEqual((await reader.scroll()).map((p) => p.payload.text), ['v1 text'], 'the alias name reads the target collection');
      await reader.close();
    });

    it('prepares a second version beside the current one without moving the alias, and says so', async () => {
      const store = env.store('prep');
      const current = await openWriterIndex(store, V1, DIM);
      const next = await openWriterIndex(store, V2, DIM);
      assert.equal(next.state, 'preparing');
      assert.match(next.summary, /in preparation/);
      assert.match(next.summary, /aura-stream reindex/);
      assert.equal((await resolveAliasTarget(store))?.collection, current.sink.collection, 'the alias still names the first version');
      assert.deepEqual((await store.collections()).map((c) => [c.collection, c.version]), [
        [current.sink.collection, V1],
        [next.sink.collection, V2],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))), 'both versions are listed with their recorded versions');
    });

    it('refuses to write vectors of one version into a collection that records another', async () => {
      const store = env.store('guard');
      const physical = versionCollection('guard', V1);
      await store.open(physical).ensureCollection(DIM, V1);
      await assert.rejects(store.open(physical).ensureCollection(DIM, { ...V1, model_version: 'sha256:other' }), (err: unknown) => {
        assert.ok(err instanceof AuraError && err.code === 'CONFIG', `a CONFIG error, got ${String(err)}`);
        assert.match(err.message, /never mixes two versions/);
        assert.match(err.message, /Fix: /);
        return true;
      });
    });

    it('swaps the alias in one step, and a reader that resolved before the swap keeps reading its version', async () => {
      const store = env.store('swap');
      const a = await openWriterIndex(store, V1, DIM);
      const b = await openWriterIndex(store, V2, DIM);
      await a.sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0), 'old')]);
      await b.sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0), 'new')]);
      const before = await resolveAliasTarget(store);
      const pinned = store.open(before!.collection);
      await store.setAlias(b.sink.collection);
      assert.deepEqual(await resolveAliasTarget(store), { alias: 'swap', collection: b.sink.collection, version: V2, legacy: false });
      assert.deepEqual((await pinned.scroll()).map((p) => p.payload.text), ['old'], 'a handle on the old version still reads the old version');
      const fresh = env.store('swap');
      assert.deepEqual((await fresh.scroll()).map((p) => p.payload.text), ['new'], 'a reader after the swap reads the new version');
      await Promise.all([pinned.close(), fresh.close()]);
      assert.throws(() => requireQueryModel((before as NonNullable<typeof before>), { modelId: V2.model_id, modelVersion: V2.model_version, manifestSha256: V2.manifest_sha256 }), /not be comparable/);
    });

    it('erases a user in every version, its own first, and reports its own count', async () => {
      const store = env.store('erase');
      const a = await openWriterIndex(store, V1, DIM);
      const b = await openWriterIndex(store, V2, DIM);
      await a.sink.upsert([point('gone', '2025-03-01', unit(1, 0, 0, 0)), point('gone', '2025-03-02', unit(0, 1, 0, 0)), point('kept', '2025-03-01', unit(1, 0, 0, 0))]);
      await b.sink.upsert([point('gone', '2025-03-01', unit(1, 0, 0, 0)), point('kept', '2025-03-01', unit(1, 0, 0, 0))]);
      const writer = versionedWriter(a.sink, store);
      assert.equal(writer.collection, 'erase', 'records name the alias');
      assert.equal(await writer.deleteUser('gone'), 2, 'the count of its own collection');
      for (const s of [a.sink, b.sink]) {
        assert.deepEqual((await s.scroll()).map((p) => p.payload.user_id), ['kept'], `no point of the erased user is left in ${s.collection}`);
      }
    });

    it('treats a collection named like the alias as the legacy current version, and replaces it on promote', async () => {
      const store = env.store('legacy');
      await store.ensureCollection(DIM);
      await store.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0), 'legacy')]);
      assert.deepEqual(await resolveAliasTarget(store), { alias: 'legacy', collection: 'legacy', version: undefined, legacy: true });
      const next = await openWriterIndex(store, V1, DIM);
      assert.equal(next.state, 'preparing', 'a legacy index stays the answer until promote');
      await next.sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0), 'versioned')]);
      await store.setAlias(next.sink.collection);
      const reader = env.store('legacy');
      assert.deepEqual((await reader.scroll()).map((p) => p.payload.text), ['versioned'], 'after promote the alias name reads the version');
      await reader.close();
    });
  });
}
