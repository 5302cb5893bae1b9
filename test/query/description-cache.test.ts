import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createFileDescriptionCache, decodeDescriptionVectors, descriptionCacheDir, encodeDescriptionVectors, type FileDescriptionCache } from '../../src/adapters/file-description-cache.js';
import type { Concept } from '../../src/query/concepts.js';
import { createInterpreter, descriptionCacheKey } from '../../src/query/index.js';

// The interpreter's description vectors kept between processes: a second interpreter of the same
// model and descriptions embeds only the question; another description, model version or manifest
// embeds them again; a damaged file is recomputed and rewritten, never an error. A fake embedder
// (deterministic vectors from the text) counts what reaches the model; the real model's check is in
// interpret.test.ts.

const DIM = 8;
/** A unit vector from the text's hash: equal texts, equal vectors; different texts, far apart. */
function vectorOf(text: string): Float32Array {
  const h = createHash('sha256').update(text).digest();
  const v = Float32Array.from({ length: DIM }, (_, i) => h[i]! - 128);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const CONCEPTS: Concept[] = [
  { id: 'mood-low', aspect: 'mood level', means: 'low mood', filters: [{ field: 'mood_level', op: 'eq', value: 'low' }], descriptions: ['feeling down', 'low spirits'] },
  { id: 'theme-work', aspect: 'theme', means: 'work', filters: [{ field: 'themes', op: 'contains', value: 'work' }], descriptions: ['stress at work'] },
];
const MODEL = { modelId: 'fake-model', modelVersion: 'v1', manifestSha256: 'a'.repeat(64), dimension: DIM };

describe('interpreter description cache', () => {
  let dir: string;
  let cache: FileDescriptionCache;
  let warnings: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aura-desc-cache-'));
    warnings = [];
    cache = createFileDescriptionCache({ dir: descriptionCacheDir(join(dir, 'state')), warn: (m) => warnings.push(m) });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An interpreter whose embedder records every batch of texts it is asked for. */
  function interpreter(options: { model?: Partial<typeof MODEL>; concepts?: Concept[] } = {}) {
    const batches: string[][] = [];
    const it = createInterpreter(
      {
        ...MODEL,
        ...options.model,
        embed: async (texts) => {
          batches.push(texts);
          return texts.map(vectorOf);
        },
      },
      { descriptionCache: cache, concepts: options.concepts ?? CONCEPTS, threshold: 0.99, clauseThreshold: 0.99 },
    );
    return { interpret: (t: string) => it.interpret(t), batches };
  }
  const files = () => readdirSync(join(dir, 'state', 'cache', 'interpreter'));

  it('a second interpreter of the same model and descriptions embeds only the question, and answers alike', async () => {
    const first = interpreter();
    const a = await first.interpret('low spirits');
    assert.deepEqual(first.batches, [['feeling down', 'low spirits', 'stress at work'], ['low spirits']]);
    assert.deepEqual(a?.concepts.map((c) => c.id), ['mood-low']);
    const key = descriptionCacheKey(MODEL, ['feeling down', 'low spirits', 'stress at work']);
    assert.deepEqual(files(), [`${key}.bin`], 'one file named by the key, no temporary file left');

    const second = interpreter();
    assert.deepEqual(await second.interpret('low spirits'), a);
    assert.deepEqual(await second.interpret('stress at work'), { concepts: [{ id: 'theme-work', similarity: 1 }], filters: [{ field: 'themes', op: 'contains', value: 'work' }] });
    assert.deepEqual(second.batches, [['low spirits'], ['stress at work']], 'no description embedded');
    assert.deepEqual(warnings, []);
  });

  it('embeds again when a description, the model version, the manifest or the model id changes', async () => {
    await interpreter().interpret('low spirits');
    const changed: Concept[] = [CONCEPTS[0]!, { ...CONCEPTS[1]!, descriptions: ['pressure at the office'] }];
    const variants = [{ concepts: changed }, { model: { modelVersion: 'v2' } }, { model: { manifestSha256: 'b'.repeat(64) } }, { model: { modelId: 'other-model' } }];
    for (const variant of variants) {
      const again = interpreter(variant);
      await again.interpret('low spirits');
      assert.equal(again.batches.length, 2, JSON.stringify(variant));
      assert.equal(again.batches[0]!.length, 3, `${JSON.stringify(variant)}: the descriptions are embedded`);
    }
    const reordered = interpreter({ concepts: [CONCEPTS[1]!, CONCEPTS[0]!] });
    await reordered.interpret('low spirits');
    assert.deepEqual(reordered.batches[0], ['stress at work', 'feeling down', 'low spirits'], 'another order is another key');
    assert.equal(files().length, 6);
  });

  it('recomputes and rewrites a truncated, damaged or foreign file, never failing the question', async () => {
    await interpreter().interpret('low spirits');
    const [name] = files();
    const path = join(dir, 'state', 'cache', 'interpreter', name!);
    const good = readFileSync(path);
    const flipped = Buffer.from(good);
    flipped[60] = flipped[60]! ^ 0x01; // one bit of a vector: only the checksum shows it
    const damages: Array<[string, Buffer]> = [
      ['truncated', good.subarray(0, good.length - 7)],
      ['empty', Buffer.alloc(0)],
      ['a flipped bit', flipped],
      ['garbage', Buffer.from('not a vector file at all, but long enough to have a header and more bytes')],
      ['another key', encodeDescriptionVectors('c'.repeat(64), CONCEPTS.flatMap((c) => c.descriptions).map(vectorOf))],
    ];
    for (const [what, bytes] of damages) {
      writeFileSync(path, bytes);
      const again = interpreter();
      assert.deepEqual((await again.interpret('low spirits'))?.concepts.map((c) => c.id), ['mood-low'], what);
      assert.equal(again.batches[0]!.length, 3, `${what}: the descriptions are embedded again`);
      assert.deepEqual(readFileSync(path), good, `${what}: the file is rewritten`);
    }
    assert.deepEqual(warnings, []);
  });

  it('refuses cached vectors of another count or dimension than the model', async () => {
    const texts = CONCEPTS.flatMap((c) => c.descriptions);
    const key = descriptionCacheKey(MODEL, texts);
    await cache.put(key, texts.slice(1).map(vectorOf));
    const fewer = interpreter();
    await fewer.interpret('low spirits');
    assert.equal(fewer.batches[0]!.length, 3, 'one vector short: embedded again');
    await cache.put(key, texts.map((t) => vectorOf(t).subarray(0, 4)));
    const shorter = interpreter();
    await shorter.interpret('low spirits');
    assert.equal(shorter.batches[0]!.length, 3, 'another dimension: embedded again');
  });

  it('round-trips vectors bit for bit', () => {
    const vectors = [Float32Array.from([0.1, -2.5e-7, 3.4e38, -0]), Float32Array.from([1, 2, 3, Number.MIN_VALUE])];
    const decoded = decodeDescriptionVectors('d'.repeat(64), encodeDescriptionVectors('d'.repeat(64), vectors));
    assert.deepEqual(decoded?.map((v) => Buffer.from(v.buffer)), vectors.map((v) => Buffer.from(v.buffer)));
  });

  it('a folder it cannot write warns once and still answers; an embedder without full identity uses no cache', async () => {
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'a file where the folder should be');
    cache = createFileDescriptionCache({ dir: join(blocked, 'interpreter'), warn: (m) => warnings.push(m) });
    assert.deepEqual((await interpreter().interpret('low spirits'))?.concepts.map((c) => c.id), ['mood-low']);
    await interpreter().interpret('low spirits');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /could not store the query interpreter's description vectors in .*blocked.*Fix: make STATE_DIR writable/);

    cache = createFileDescriptionCache({ dir: join(dir, 'anonymous') });
    const anonymous = interpreter({ model: { modelVersion: undefined } });
    await anonymous.interpret('low spirits');
    assert.throws(() => readdirSync(join(dir, 'anonymous')), /ENOENT/, 'nothing stored without a model version to key it');
  });

});
