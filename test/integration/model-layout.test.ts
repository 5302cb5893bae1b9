// `stack up`'s model step (ensureModels, src/stack/model.ts) on the real jars, in a stack folder of
// its own: the jars are copied from the local stack's artifacts, whose models folder is never touched.
// A folder whose layout record is missing, differs or lacks a file is laid out again and `up` says
// why; an up-to-date folder is left as it is (same inode, same mtime); nothing beside it changes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readPom } from '../../src/stack/fetch.js';
import { ensureModels, LAYOUT_FILE, layoutRecord, MODELS, modelJarName, type LaidOutModel, type ModelManifest } from '../../src/stack/model.js';
import { stackPaths } from '../../src/stack/options.js';
import { ROOT } from '../support/stack-env.js';

const SHARED = process.env.AURA_STACK_DIR || join(ROOT, '.cache', 'stack');
const { versions } = readPom(join(ROOT, 'deploy', 'stack', 'pom.xml'));
const specs = Object.values(MODELS);

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const stamp = (path: string): { ino: number; mtimeMs: number } => {
  const s = statSync(path);
  return { ino: s.ino, mtimeMs: s.mtimeMs };
};

describe('stack up\'s model step re-lays out a stale model folder', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'aura-model-layout-'));
  const paths = stackPaths(dir);
  const folder = (id: string): string => join(paths.models, id);
  const neighbours = { file: join(paths.models, 'notes.txt'), nested: join(paths.models, 'my-model', 'config.json') };
  let lines: string[] = [];
  const up = async (): Promise<LaidOutModel[]> => {
    lines = [];
    return ensureModels(paths, versions, (line) => lines.push(line));
  };

  before(() => {
    mkdirSync(paths.artifacts, { recursive: true });
    for (const spec of specs) {
      const jar = join(SHARED, 'artifacts', modelJarName(spec));
      assert.ok(existsSync(jar), `the local stack's model jar at ${jar}: run \`aura-stream stack up\``);
      copyFileSync(jar, join(paths.artifacts, modelJarName(spec)));
    }
    mkdirSync(join(paths.models, 'my-model'), { recursive: true });
    writeFileSync(neighbours.file, 'not the stack\'s\n');
    writeFileSync(neighbours.nested, '{"mine": true}\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lays out every model into an empty folder, with a layout record and files matching the manifest', async () => {
    const laid = await up();
    assert.deepEqual(
      laid.map((l) => [l.dir, l.laidOut, l.replaced]),
      specs.map((s) => [folder(s.id), true, undefined]),
    );
    assert.deepEqual(lines.sort(), specs.map((s) => `model: laid out ${folder(s.id)} from ${s.artifact}:${versions[s.versionKey]}`).sort());
    for (const spec of specs) {
      const record = JSON.parse(readFileSync(join(folder(spec.id), LAYOUT_FILE), 'utf8')) as unknown;
      assert.deepEqual(record, layoutRecord(spec, versions[spec.versionKey]));
      const manifest = JSON.parse(readFileSync(join(folder(spec.id), 'manifest.json'), 'utf8')) as ModelManifest;
      assert.equal(manifest.model_id, spec.id);
      assert.deepEqual(Object.keys(manifest.files).sort(), ['config.json', 'onnx/model_quantized.onnx', 'tokenizer.json', 'tokenizer_config.json']);
      for (const [name, { sha256: hash }] of Object.entries(manifest.files)) assert.equal(sha256(readFileSync(join(folder(spec.id), name))), hash, `${spec.id}/${name}`);
      assert.deepEqual(JSON.parse(readFileSync(join(folder(spec.id), 'config.json'), 'utf8')), spec.config);
    }
  });

  it('leaves an up-to-date folder alone: same inodes and mtimes, nothing said', async () => {
    const watched = specs.flatMap((s) => [folder(s.id), join(folder(s.id), 'manifest.json'), join(folder(s.id), LAYOUT_FILE), join(folder(s.id), 'onnx', 'model_quantized.onnx')]);
    const before = watched.map(stamp);
    const laid = await up();
    assert.deepEqual(laid.map((l) => [l.laidOut, l.replaced]), specs.map(() => [false, undefined]));
    assert.deepEqual(lines, []);
    assert.deepEqual(watched.map(stamp), before);
  });

  it('lays out again a folder whose record is missing, differs, or that lacks a file, saying why', async () => {
    const [minilm, bge] = [MODELS.minilm, MODELS.bge];
    const old = JSON.parse(readFileSync(join(folder(minilm.id), LAYOUT_FILE), 'utf8')) as { layout: string };
    writeFileSync(join(folder(minilm.id), LAYOUT_FILE), JSON.stringify({ layout_version: 0, layout: 'f'.repeat(64) }));
    unlinkSync(join(folder(bge.id), LAYOUT_FILE));
    const neighboursBefore = Object.values(neighbours).map((p) => ({ ...stamp(p), text: readFileSync(p, 'utf8') }));

    const laid = await up();
    assert.deepEqual(laid.map((l) => l.laidOut), [true, true]);
    const said = (id: string): string | undefined => lines.find((l) => l.startsWith(`model: laid out ${folder(id)} again from `));
    assert.match(said(minilm.id) ?? '', /layout\.json records layout ffffffffffff \(version 0\), this code writes [0-9a-f]{12} \(version \d+\)$/);
    assert.match(said(bge.id) ?? '', /it has no readable layout\.json \(laid out by an older stack\)$/);
    for (const spec of specs) assert.deepEqual(JSON.parse(readFileSync(join(folder(spec.id), LAYOUT_FILE), 'utf8')), layoutRecord(spec, versions[spec.versionKey]));
    assert.equal((JSON.parse(readFileSync(join(folder(minilm.id), LAYOUT_FILE), 'utf8')) as { layout: string }).layout, old.layout);
    assert.deepEqual(Object.values(neighbours).map((p) => ({ ...stamp(p), text: readFileSync(p, 'utf8') })), neighboursBefore, 'files beside the model folders are not touched');
    assert.ok(!existsSync(`${folder(minilm.id)}.tmp`) && !existsSync(`${folder(bge.id)}.tmp`), 'no build folder is left behind');

    unlinkSync(join(folder(bge.id), 'tokenizer_config.json'));
    const minilmBefore = stamp(join(folder(minilm.id), 'manifest.json'));
    await up();
    assert.deepEqual(lines, [`model: laid out ${folder(bge.id)} again from ${bge.artifact}:${versions.bge}: tokenizer_config.json missing`]);
    assert.deepEqual(JSON.parse(readFileSync(join(folder(bge.id), 'tokenizer_config.json'), 'utf8')), bge.tokenizerConfig);
    assert.deepEqual(stamp(join(folder(minilm.id), 'manifest.json')), minilmBefore, 'the other, up-to-date folder stays');
  });

  it('the record changes with what the layout writes: the spec\'s config, tokenizer config, embedding, jar version', () => {
    const spec = MODELS.minilm;
    const base = layoutRecord(spec, '1.0.0').layout;
    assert.equal(layoutRecord(spec, '1.0.0').layout, base, 'the same inputs give the same record');
    const variants = [
      layoutRecord(spec, '1.0.1'),
      layoutRecord({ ...spec, config: { ...spec.config, num_hidden_layers: 7 } }, '1.0.0'),
      layoutRecord({ ...spec, tokenizerConfig: { ...spec.tokenizerConfig, model_max_length: 512 } }, '1.0.0'),
      layoutRecord({ ...spec, embedding: { ...spec.embedding, query_prefix: 'q: ' } }, '1.0.0'),
      layoutRecord({ ...spec, jarTokenizer: 'other-tokenizer.json' }, '1.0.0'),
    ].map((r) => r.layout);
    assert.equal(new Set([base, ...variants]).size, variants.length + 1, 'every change gives another record');
  });
});
