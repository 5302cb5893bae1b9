import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { modelFolderIdentity } from '../../src/adapters/transformers-embedder.js';
import { versionCollection, type IndexVersion } from '../../src/contracts/index-version.js';
import { AuraError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { Embedder } from '../../src/ports.js';
import { findModelFolder, QueryModels } from '../../src/cli/query-models.js';
import { ROOT } from '../support/stack-env.js';

/** The models `aura-stream stack up` lays out (both share a folder): EMBEDDING_MODEL_PATH's siblings, whichever model it names. */
const MODELS_DIR = process.env['EMBEDDING_MODEL_PATH'] ? dirname(resolve(process.env['EMBEDDING_MODEL_PATH'])) : join(ROOT, '.cache/stack/models');
const MINILM = join(MODELS_DIR, 'all-MiniLM-L6-v2-q');
const BGE = join(MODELS_DIR, 'bge-small-en-v1.5-q');

const versionOf = (folder: string): IndexVersion => {
  const id = modelFolderIdentity(folder);
  assert.ok(id, `${folder} is a model folder (run \`aura-stream stack up\`)`);
  return { model_id: id.modelId, model_version: id.modelVersion, manifest_sha256: id.manifestSha256, text_version: 1 };
};

/** An embedder that is never asked to embed: the configured model of a QueryModels. */
function configured(v: IndexVersion): Embedder {
  return { modelId: v.model_id, modelVersion: v.model_version, manifestSha256: v.manifest_sha256, queryPrefix: '', dimension: 384, embed: async () => [], embedQueries: async () => [], close: async () => {} };
}

describe('finding the query model of an index version', () => {
  it('reads a model folder\'s identity from its manifest: the id, the ONNX hash the embedder reports, and the manifest hash', () => {
    const minilm = versionOf(MINILM);
    const bge = versionOf(BGE);
    assert.equal(minilm.model_id, 'all-MiniLM-L6-v2-q');
    assert.equal(bge.model_id, 'bge-small-en-v1.5-q');
    assert.match(bge.model_version, /^[0-9a-f]{16}$/);
    assert.notEqual(bge.manifest_sha256, minilm.manifest_sha256);
    assert.equal(modelFolderIdentity(join(MODELS_DIR, 'no-such-model')), undefined, 'not a model folder');
  });

  it('finds each version\'s folder under EMBEDDING_MODELS_DIR by model id, ONNX hash and manifest hash, and none for another manifest', () => {
    const config = { embeddingModelPath: MINILM, embeddingModelsDir: MODELS_DIR };
    assert.equal(findModelFolder(config, versionOf(BGE)), BGE);
    assert.equal(findModelFolder(config, versionOf(MINILM)), MINILM);
    assert.equal(findModelFolder({ embeddingModelPath: undefined, embeddingModelsDir: undefined }, versionOf(BGE)), undefined, 'nowhere to look');
    const pooledOtherwise = { ...versionOf(BGE), manifest_sha256: 'f'.repeat(64) };
    assert.equal(findModelFolder(config, pooledOtherwise), undefined, 'the same ONNX file under another manifest gives other vectors: not a match');
    assert.equal(findModelFolder(config, { ...versionOf(BGE), manifest_sha256: '' }), BGE, 'a version recording no manifest hash matches on id and ONNX hash');
  });

  it('answers a legacy index and the configured model\'s own version with the configured model, and refuses a version whose model is nowhere with MODEL_LOAD naming it', async () => {
    const minilm = versionOf(MINILM);
    const initial = configured(minilm);
    const models = new QueryModels({ embeddingModelPath: MINILM, embeddingModelsDir: join(MODELS_DIR, 'nothing-here'), embeddingThreads: 1, serveMaxModels: 2 }, createLogger('silent'), initial);
    const target = (v: IndexVersion | undefined) => ({ alias: 'a', collection: v ? versionCollection('a', v) : 'a', version: v, legacy: v === undefined });
    assert.equal(await models.forTarget(target(undefined)), initial);
    assert.equal(await models.forTarget(target(minilm)), initial);
    const bge = versionOf(BGE);
    assert.equal(models.available(target(bge)), false, 'the bge folder is not under this EMBEDDING_MODELS_DIR');
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(models.forTarget(target(bge)), (err: unknown) => {
        assert.ok(err instanceof AuraError && err.code === 'MODEL_LOAD', String(err));
        assert.match(err.message, /bge-small-en-v1\.5-q/);
        assert.match(err.message, /EMBEDDING_MODELS_DIR/);
        return true;
      }, `attempt ${attempt + 1}: a failed lookup is not cached as a model`);
    }
    assert.equal(models.loaded(target(bge)), undefined);
    await models.close();
  });
});

describe('how many query models serve keeps (SERVE_MAX_MODELS)', () => {
  // Fakes for the units: model folders holding only what modelFolderIdentity reads, and an embedder
  // factory that records its loads and closes; the real model's load is covered above and in serve's tests.
  const dir = mkdtempSync(join(tmpdir(), 'aura-query-models-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const folderOf = (name: string): string => {
    const folder = join(dir, name);
    mkdirSync(join(folder, 'onnx'), { recursive: true });
    writeFileSync(join(folder, 'config.json'), '{}');
    writeFileSync(join(folder, 'onnx', 'model_quantized.onnx'), '');
    const onnx = createHash('sha256').update(name).digest('hex');
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify({ model_id: `fake-${name}`, onnx_sha256: onnx, embedding: { pooling: 'mean', normalize: true, dimension: 2, query_prefix: '' } }));
    return folder;
  };
  const names = ['a', 'b', 'c', 'd'] as const;
  const folders = Object.fromEntries(names.map((n) => [n, folderOf(n)])) as Record<(typeof names)[number], string>;

  interface Fake extends Embedder {
    readonly folder: string;
    closes: number;
    /** resolves the query `embedQueries` waits on, when it waits */
    gate?: Promise<void>;
  }
  function harness() {
    const made: Fake[] = [];
    const loadFolder = async (folder: string): Promise<Embedder> => {
      const id = modelFolderIdentity(folder);
      assert.ok(id, folder);
      const fake: Fake = {
        ...id,
        folder,
        closes: 0,
        queryPrefix: '',
        dimension: 2,
        embed: async () => [],
        embedQueries: async (texts) => {
          assert.equal(fake.closes, 0, `${id.modelId} encodes a query after it was closed`);
          await fake.gate;
          assert.equal(fake.closes, 0, `${id.modelId} was closed while a request encoded with it`);
          return texts.map(() => Float32Array.of(1, 0));
        },
        close: async () => {
          fake.closes += 1;
        },
      };
      made.push(fake);
      return fake;
    };
    return { made, loadFolder };
  }
  const versionIn = (folder: string): IndexVersion => ({ ...versionOf(folder), text_version: 1 });
  const target = (folder: string) => {
    const v = versionIn(folder);
    return { alias: 'ctx', collection: versionCollection('ctx', v), version: v, legacy: false };
  };
  const config = (serveMaxModels: number) => ({ embeddingModelPath: folders.a, embeddingModelsDir: dir, embeddingThreads: 1, serveMaxModels });
  /** Runs one text query on `folder`'s version through `use`, as serve's search does. */
  const query = (models: QueryModels, folder: string) => models.use(target(folder), async (e) => ({ model: e.modelId, vectors: await e.embedQueries(['q']) }));
  const state = (models: QueryModels, made: Fake[]) => ({
    loaded: names.filter((n) => models.loaded(target(folders[n])) !== undefined),
    closes: made.map((f) => `${f.modelId}:${f.closes}`),
  });

  it('keeps the current and the previous model by default: a third load unloads the least recently used, the configured one included, and loads it again when asked', async () => {
    const { made, loadFolder } = harness();
    const initial = await loadFolder(folders.a);
    const models = new QueryModels(config(2), createLogger('silent'), initial, { loadFolder });
    assert.deepEqual(await query(models, folders.b), { model: 'fake-b', vectors: [Float32Array.of(1, 0)] });
    assert.deepEqual(state(models, made), { loaded: ['a', 'b'], closes: ['fake-a:0', 'fake-b:0'] });
    await query(models, folders.c);
    assert.deepEqual(state(models, made), { loaded: ['b', 'c'], closes: ['fake-a:1', 'fake-b:0', 'fake-c:0'] }, 'the configured model was the least recently used');
    await query(models, folders.b);
    await query(models, folders.a);
    assert.deepEqual(state(models, made), { loaded: ['a', 'b'], closes: ['fake-a:1', 'fake-b:0', 'fake-c:1', 'fake-a:0'] }, 'b was used after c, so c went; a is a new load');
    assert.equal(models.loadedCount, 2);
    await models.close();
    assert.deepEqual(state(models, made).closes, ['fake-a:1', 'fake-b:1', 'fake-c:1', 'fake-a:1'], 'close closes each model once, the configured one included');
  });

  it('closes an unloaded model only once the requests encoding with it finish', async () => {
    const { made, loadFolder } = harness();
    const models = new QueryModels(config(2), createLogger('silent'), await loadFolder(folders.a), { loadFolder });
    let open!: () => void;
    await query(models, folders.b);
    const b = made[1]!;
    b.gate = new Promise<void>((resolve) => (open = resolve));
    const held = query(models, folders.b);
    await query(models, folders.c); // unloads a (least recently used)
    await query(models, folders.d); // unloads b, which a request still uses
    assert.deepEqual(state(models, made), { loaded: ['c', 'd'], closes: ['fake-a:1', 'fake-b:0', 'fake-c:0', 'fake-d:0'] });
    open();
    assert.deepEqual(await held, { model: 'fake-b', vectors: [Float32Array.of(1, 0)] });
    assert.equal(b.closes, 1, 'the last request using b closed it');
    await models.close();
    assert.deepEqual(state(models, made).closes, ['fake-a:1', 'fake-b:1', 'fake-c:1', 'fake-d:1']);
  });

  it('requests arriving during a load share it, and SERVE_MAX_MODELS=1 keeps only the model in use', async () => {
    const { made, loadFolder } = harness();
    let loads = 0;
    const counting = async (folder: string) => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 20));
      return loadFolder(folder);
    };
    const models = new QueryModels(config(1), createLogger('silent'), await loadFolder(folders.a), { loadFolder: counting });
    const answers = await Promise.all([query(models, folders.b), query(models, folders.b), query(models, folders.b)]);
    assert.deepEqual(answers.map((a) => a.model), ['fake-b', 'fake-b', 'fake-b']);
    assert.equal(loads, 1, 'one load for three concurrent requests');
    assert.deepEqual(state(models, made), { loaded: ['b'], closes: ['fake-a:1', 'fake-b:0'] });
    await query(models, folders.c);
    assert.deepEqual(state(models, made), { loaded: ['c'], closes: ['fake-a:1', 'fake-b:1', 'fake-c:0'] });
    await models.close();
  });
});
