import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AVG_DOC_TERMS, encodeDocument, encodeQuery, termIndex, terms } from '../../src/adapters/sparse-text.js';

describe('BM25 sparse vectors of a text', () => {
  it('folds case and diacritics, splits on anything but letters and digits, and stems', () => {
    assert.deepEqual(terms('Stretching, YOGA & café-runs: 3x/week'), ['stretch', 'yoga', 'cafe', 'run', '3x', 'week']);
    assert.deepEqual(terms('activities active'), ['activ', 'activ'], 'inflections meet on one stem');
    assert.deepEqual(terms('  ...  '), []);
  });

  it('indexes a term by FNV-1a 32-bit, an unsigned integer', () => {
    // Reference values of FNV-1a 32 (offset basis 0x811c9dc5, prime 0x01000193).
    assert.equal(termIndex(''), 0x811c9dc5);
    assert.equal(termIndex('a'), 0xe40c292c);
    assert.equal(termIndex('foobar'), 0xbf9cf968);
  });

  it('weighs a document term by saturated, length-normalised frequency (k1 = 1.2, b = 0.75)', () => {
    const text = 'yoga yoga stretch';
    const v = encodeDocument(text);
    const norm = 1.2 * (1 - 0.75 + (0.75 * 3) / AVG_DOC_TERMS);
    const expected = new Map([
      [termIndex('yoga'), (2 * 2.2) / (2 + norm)],
      [termIndex('stretch'), (1 * 2.2) / (1 + norm)],
    ]);
    assert.deepEqual(v.indices, [...expected.keys()].sort((a, b) => a - b), 'indices ascending, one per term');
    v.indices.forEach((i, at) => assert.ok(Math.abs(v.values[at]! - expected.get(i)!) < 1e-12, `value of ${i}`));
    assert.deepEqual(encodeDocument(text), v, 'deterministic');
  });

  it('gives a query 1 per distinct term, and an empty text an empty vector', () => {
    const q = encodeQuery('Yoga, yoga and stretching');
    assert.deepEqual(q.values, [1, 1, 1]);
    assert.deepEqual(q.indices, [termIndex('yoga'), termIndex('and'), termIndex('stretch')].sort((a, b) => a - b));
    assert.deepEqual(encodeQuery('!!'), { indices: [], values: [] });
    assert.deepEqual(encodeDocument(''), { indices: [], values: [] });
  });
});
