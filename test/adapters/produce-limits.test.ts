import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { DLQ_DROPPED_HEADER, ProduceLimits, lastOffsets } from '../../src/adapters/kafka/produce-limits.js';
import type { OutRecord } from '../../src/ports.js';
import { DLQ_HEADERS, batchBudget, recordBytes } from '../../src/pipeline/index.js';

const { CompressionTypes } = kafkajs;

const limits = new ProduceLimits({
  maxMessageBytes: new Map([['out', 10_000], ['log', 10_000], ['dlq', 10_000]]),
  maxRequestBytes: 1_048_576,
  compressed: new Set(['log']),
  deadLetterTopics: new Set(['dlq']),
});

describe('ProduceLimits', () => {
  test('oversize: a record over its topic\'s batch budget cannot be written, one under it can', () => {
    assert.equal(limits.oversize({ topic: 'out', key: 'k', value: Buffer.alloc(5_000) }), undefined);
    assert.match(limits.oversize({ topic: 'out', key: 'k', value: Buffer.alloc(20_000) }) ?? '', /a record of \d+ bytes exceeds max\.message\.bytes 10000 of topic out/);
    assert.equal(limits.oversize({ topic: 'unknown', key: 'k', value: Buffer.alloc(500_000) }), undefined, 'an unread topic gets Kafka\'s default 1 MiB');
  });

  test('oversize on a compressed topic measures the GZIP size: compressible fits, random does not', () => {
    assert.equal(limits.oversize({ topic: 'log', key: 'u', value: Buffer.from('a'.repeat(50_000)) }), undefined, '50 KB of one letter compresses under 10 KB');
    assert.match(limits.oversize({ topic: 'log', key: 'u', value: randomBytes(50_000) }) ?? '', /bytes after GZIP exceeds max\.message\.bytes 10000 of topic log/);
  });

  test('a dead letter too large for the DLQ keeps its error headers and drops value and original headers', () => {
    const record: OutRecord = { topic: 'dlq', key: 'user-1', value: Buffer.alloc(50_000), headers: { [DLQ_HEADERS.code]: 'FIELD_TOO_LONG', [DLQ_HEADERS.offset]: '42', mine: 'x' } };
    const fitted = limits.fitDeadLetter(record);
    assert.equal(fitted.value, null);
    assert.equal(fitted.key, 'user-1');
    assert.deepEqual(Object.keys(fitted.headers!).sort(), [DLQ_DROPPED_HEADER, DLQ_HEADERS.code, DLQ_HEADERS.offset].sort());
    assert.equal(fitted.headers![DLQ_DROPPED_HEADER], String(recordBytes(record)));
    const small: OutRecord = { topic: 'dlq', key: 'k', value: Buffer.alloc(10) };
    assert.equal(limits.fitDeadLetter(small), small, 'one that fits is untouched');
  });

  test('requests: plain topics first, then the compressed changelog, each within budget; lastOffsets takes the latest request', () => {
    const records: OutRecord[] = [
      ...Array.from({ length: 6 }, (_, i): OutRecord => ({ topic: 'out', key: `u${i}`, value: Buffer.alloc(3_000) })),
      ...Array.from({ length: 6 }, (_, i): OutRecord => ({ topic: 'log', key: `u${i}`, value: Buffer.alloc(3_000), partition: 2 })),
    ];
    const requests = limits.requests(records);
    assert.deepEqual(requests.map((r) => [r.compression, r.records.length]), [[CompressionTypes.None, 3], [CompressionTypes.None, 3], [CompressionTypes.GZIP, 3], [CompressionTypes.GZIP, 3]]);
    for (const r of requests) assert.ok(r.records.reduce((s, x) => s + recordBytes(x), 0) <= batchBudget(10_000));
    const sent = requests.map((r, i) => ({ records: r.records, meta: r.compression === CompressionTypes.GZIP ? [{ topicName: 'log', partition: 2, errorCode: 0, baseOffset: String(100 + i * 10) }] : [{ topicName: 'out', partition: 0, errorCode: 0, baseOffset: '7' }] }));
    assert.deepEqual(lastOffsets(sent), [{ topic: 'log', partition: 2, lastOffset: String(100 + 3 * 10 + 2) }], 'base offset of the last changelog request + its 3 records - 1; key-partitioned output not reported');
  });
});
