import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { AtLeastOnceBatchWriter } from '../../../src/adapters/kafka/batch-writer.js';
import { DEFAULT_PRODUCE_LIMITS } from '../../support/compiled-options.js';
import type { BatchWriter } from '../../../src/ports.js';

/** A kafkajs producer stand-in that counts what is done to it. */
function fakeKafka(options: { failFirstConnect?: boolean } = {}) {
  const producers: Array<{ connects: number; disconnects: number; sent: number }> = [];
  let connectCalls = 0;
  const kafka = {
    producer: () => {
      const stats = { connects: 0, disconnects: 0, sent: 0 };
      producers.push(stats);
      return {
        connect: async () => {
          await new Promise((r) => setTimeout(r, 5));
          if (options.failFirstConnect && ++connectCalls === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
          stats.connects++;
        },
        disconnect: async () => {
          stats.disconnects++;
        },
        sendBatch: async ({ topicMessages }: { topicMessages: Array<{ messages: unknown[] }> }) => {
          stats.sent += topicMessages.reduce((n, t) => n + t.messages.length, 0);
          return [];
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, producers };
}

describe('AtLeastOnceBatchWriter', () => {
  test('concurrent claims (one per assigned partition) share one producer, and close disconnects it', async () => {
    // Regression: each concurrent claim connected its own producer and only the last was kept, so
    // the others were never closed and the process did not exit after SIGTERM.
    const { kafka, producers } = fakeKafka();
    const commits: unknown[] = [];
    const writer: BatchWriter = new AtLeastOnceBatchWriter(kafka, { commit: async (o) => void commits.push(...o) }, DEFAULT_PRODUCE_LIMITS);
    await Promise.all([0, 1, 2].map((p) => writer.claim('in', p)));
    assert.equal(producers.length, 1, 'one producer for all partitions');
    await writer.write({ topic: 'in', partition: 1, nextOffset: '8' }, [{ topic: 'out', key: 'u', value: Buffer.from('x') }]);
    assert.equal(producers[0]!.sent, 1, 'records sent through it');
    assert.deepEqual(commits, [{ topic: 'in', partition: 1, offset: '8' }], 'then the consumed offset committed');
    await writer.close();
    assert.equal(producers[0]!.disconnects, 1, 'closed once');
  });

  test('a failed connect is not remembered: the next claim connects a new producer', async () => {
    const { kafka, producers } = fakeKafka({ failFirstConnect: true });
    const writer: BatchWriter = new AtLeastOnceBatchWriter(kafka, { commit: async () => undefined }, DEFAULT_PRODUCE_LIMITS);
    await assert.rejects(writer.claim('in', 0), (err: unknown) => (err as { retriable?: boolean }).retriable === true, 'a transient error');
    await writer.claim('in', 0);
    assert.equal(producers.length, 2, 'a second producer after the failure');
    assert.equal(producers[1]!.connects, 1, 'connected');
    await writer.close();
  });
});
