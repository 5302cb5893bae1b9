import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OutRecord } from '../../../src/ports.js';
import { batchBudget, recordBytes, splitByBytes } from '../../../src/pipeline/domain/split-by-bytes.js';

const rec = (topic: string, bytes: number, i: number): OutRecord => ({ topic, key: `k${i}`, value: Buffer.alloc(bytes, i % 251) });

describe('splitByBytes', () => {
  test('no request holds more of one topic than a record batch of that topic takes, nor more than the request size', () => {
    const limits = new Map([['out', 20_000], ['log', 50_000]]);
    const records = Array.from({ length: 300 }, (_, i) => rec(i % 3 === 0 ? 'log' : 'out', 500 + ((i * 37) % 3000), i));
    const requests = splitByBytes(records, { maxMessageBytes: (t) => limits.get(t)!, maxRequestBytes: 60_000 });
    assert.ok(requests.length > 1, 'the write was cut');
    for (const [n, request] of requests.entries()) {
      for (const topic of ['out', 'log']) {
        const bytes = request.filter((r) => r.topic === topic).reduce((s, r) => s + recordBytes(r), 0);
        assert.ok(bytes <= batchBudget(limits.get(topic)!), `request ${n}: ${topic} holds ${bytes} bytes`);
      }
      assert.ok(request.reduce((s, r) => s + recordBytes(r), 0) <= batchBudget(60_000), `request ${n} within the request size`);
    }
    assert.deepEqual(requests.flat(), records, 'every record once, in the order given');
  });

  test('a write that fits stays one request; an empty write is no request', () => {
    const records = [rec('out', 100, 1), rec('log', 100, 2)];
    assert.deepEqual(splitByBytes(records, { maxMessageBytes: () => 1_048_588, maxRequestBytes: 1_048_576 }), [records]);
    assert.deepEqual(splitByBytes([], { maxMessageBytes: () => 1_048_588, maxRequestBytes: 1_048_576 }), []);
  });

  test('a record larger than any budget travels alone, between its neighbours', () => {
    const records = [rec('out', 100, 1), rec('out', 5_000, 2), rec('out', 100, 3)];
    const requests = splitByBytes(records, { maxMessageBytes: () => 2_000, maxRequestBytes: 1_048_576 });
    assert.deepEqual(requests.map((r) => r.map((x) => x.key)), [['k1'], ['k2'], ['k3']]);
  });

  test('recordBytes counts key, value and headers (UTF-8) plus framing', () => {
    assert.equal(recordBytes({ key: 'é', value: Buffer.alloc(10), headers: { h: 'vv' } }), 41 + 2 + 10 + 10 + 1 + 2);
    assert.equal(recordBytes({ key: null, value: null }), 41);
  });
});
