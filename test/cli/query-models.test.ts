import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
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
    const models = new QueryModels({ embeddingModelPath: MINILM, embeddingModelsDir: join(MODELS_DIR, 'nothing-here'), embeddingThreads: 1 }, createLogger('silent'), initial);
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
