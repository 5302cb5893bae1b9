import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { checkKafkajsInternals, type KafkajsModules } from '../../../src/adapters/kafka/internals.js';
import { reportKafkajsInternals } from '../../../src/cli/run-aggregate.js';
import { createMetrics } from '../../../src/metrics.js';

const require = createRequire(import.meta.url);

/** The installed kafkajs, as the self-test sees it by default; each test swaps one part for a stub. */
const installed = (): KafkajsModules => ({
  client: new kafkajs.Kafka({ clientId: 'internals-test', brokers: ['127.0.0.1:9'] }),
  batch: () => require('kafkajs/src/consumer/batch.js'),
  broker: () => require('kafkajs/src/broker/index.js'),
  codecs: kafkajs as unknown as KafkajsModules['codecs'],
  version: () => '2.2.4',
});

describe('the start-up self-test of the kafkajs internals', () => {
  it('the installed kafkajs passes every check', () => {
    const check = checkKafkajsInternals();
    assert.deepEqual(check.directRestore, [], 'direct restore finds what it relies on');
    assert.deepEqual(check.gzipCodec, [], 'the codec table is as expected');
    assert.equal(check.version, (require('kafkajs/package.json') as { version: string }).version, 'it reports the installed version');
  });

  it('a client without the cluster factory under its symbol fails direct restore only', () => {
    const check = checkKafkajsInternals({ ...installed(), client: {} });
    assert.deepEqual(check.directRestore, ['the client has no cluster factory under the symbol private:Kafka:createCluster']);
    assert.deepEqual(check.gzipCodec, []);
  });

  it('a cluster that lacks a method direct-fetch calls is named', () => {
    const symbol = Symbol('private:Kafka:createCluster');
    const client = { [symbol]: () => ({ connect() {}, disconnect() {}, addTargetTopic() {}, refreshMetadata() {}, findBroker() {}, fetchTopicsOffset() {} }) };
    assert.deepEqual(checkKafkajsInternals({ ...installed(), client }).directRestore, ['the cluster lacks findLeaderForPartitions']);
  });

  it('a Batch that keeps aborted and control records (a changed read_committed filter) fails direct restore', () => {
    class KeepsAll {
      messages: unknown[];
      messagesWithinOffset: unknown[];
      constructor(_topic: string, fetched: string, data: { messages: Array<{ offset: string }> }) {
        this.messagesWithinOffset = data.messages.filter((m) => BigInt(m.offset) >= BigInt(fetched));
        this.messages = this.messagesWithinOffset;
      }
    }
    const check = checkKafkajsInternals({ ...installed(), batch: () => KeepsAll });
    assert.deepEqual(check.directRestore, ['Batch.messages kept offsets 3,4,5,6,7, expected 3,7 (aborted and control records dropped)']);
  });

  it('a batch module that moved, and a broker without fetch, are both named', () => {
    const check = checkKafkajsInternals({
      ...installed(),
      batch: () => {
        throw new Error("Cannot find module 'kafkajs/src/consumer/batch.js'");
      },
      broker: () => class {},
    });
    assert.deepEqual(check.directRestore, ['the broker class has no fetch method', "loading kafkajs/src/consumer/batch.js: Cannot find module 'kafkajs/src/consumer/batch.js'"]);
  });

  it('a codec table without GZIP fails the codec part only', () => {
    const check = checkKafkajsInternals({ ...installed(), codecs: { CompressionCodecs: {}, CompressionTypes: {} } });
    assert.deepEqual(check.gzipCodec, ['kafkajs exports no CompressionCodecs / CompressionTypes.GZIP']);
    assert.deepEqual(check.directRestore, []);
  });

  it('a mismatch is reported once at start: a warning naming it and the fallback, and the metric at 0', async () => {
    const metrics = createMetrics(new Registry());
    const warnings: Array<{ fields: unknown; message: string }> = [];
    const logger = { warn: (fields: unknown, message: string) => warnings.push({ fields, message }) };
    reportKafkajsInternals({ version: '2.9.9', directRestore: ['the client has no cluster factory under the symbol private:Kafka:createCluster'], gzipCodec: [] }, logger as never, metrics);
    const gauge = await metrics.kafkajsInternals.get();
    const value = (part: string) => gauge.values.find((v) => v.labels['part'] === part)?.value;
    assert.equal(value('direct_restore'), 0, 'direct restore reported as falling back');
    assert.equal(value('gzip_codec'), 1, 'the codec is fine');
    assert.equal(warnings.length, 1, 'one warning');
    assert.match(warnings[0]!.message, /kafkajs 2\.9\.9 .*cluster factory.*replayed through a consumer group/, 'the warning names the version, the problem and the fallback');
  });

  it('a process whose kafkajs passes reports 1 for both parts and warns nothing', async () => {
    const metrics = createMetrics(new Registry());
    const warnings: unknown[] = [];
    reportKafkajsInternals(checkKafkajsInternals(), { warn: (...a: unknown[]) => warnings.push(a) } as never, metrics);
    const gauge = await metrics.kafkajsInternals.get();
    assert.deepEqual(gauge.values.map((v) => [v.labels['part'], v.value]).sort(), [['direct_restore', 1], ['gzip_codec', 1]]);
    assert.deepEqual(warnings, []);
  });
});
