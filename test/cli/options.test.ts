import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AGGREGATE_OPTION_VARIABLES,
  AGGREGATE_SOURCE_VARIABLES,
  EMBEDDER_VARIABLES,
  CHANGELOG_READER_VARIABLES,
  QDRANT_SINK_VARIABLES,
  TRANSACTIONAL_WRITER_VARIABLES,
  VECTORIZE_OPTION_VARIABLES,
  VECTORIZE_PARTITIONS_CONCURRENTLY,
  VECTORIZE_SOURCE_VARIABLES,
  compileAggregateOptions,
  compileAggregateSourceOptions,
  compileChangelogReaderOptions,
  compileEmbedderOptions,
  compileQdrantSinkOptions,
  compileTransactionalWriterOptions,
  compileVectorizeOptions,
  compileVectorizeSourceOptions,
} from '../../src/cli/options.js';
import { configTable, loadConfig, type Config } from '../../src/config.js';

/**
 * One mapping table's contract: every variable exists, a value of its own set on each arrives at
 * the option the table names, and every compiled option is in the table or named as derived.
 */
function checkTable<T extends object>(
  what: string,
  table: Partial<Record<keyof T, string>>,
  compile: (config: Config) => T,
  values: Record<string, string>,
  derived: { keys: Array<keyof T>; check: (options: T) => void },
  /** Variables every compile needs (e.g. QDRANT_URL for the Qdrant sink), each overridden by `values`. */
  base: Record<string, string> = {},
): void {
  const rows = Object.entries(table) as Array<[keyof T & string, string]>;
  describe(`${what}: each knob from its variable to the operator argument`, () => {
    it('every variable of the table exists in the configuration table', () => {
      const known = new Set(configTable().map((r) => r.env));
      for (const [option, env] of rows) assert.ok(known.has(env), `${option}: ${env} is a configuration variable`);
    });

    it('a value set on each variable arrives at the option the table names', () => {
      const env = { ...base, ...Object.fromEntries(rows.map(([option, name]) => [name, values[option]])) };
      const defaults = compile(loadConfig(base));
      const options = compile(loadConfig(env));
      for (const [option, name] of rows) {
        const raw = values[option];
        assert.ok(raw !== undefined, `the test has a value for ${option}`);
        const expected = /^\d+$/.test(raw) ? Number(raw) : raw;
        assert.notEqual(defaults[option], expected, `${name}=${raw} is not its default (else the check proves nothing)`);
        assert.equal(options[option], expected, `${name}=${raw} → ${option}`);
      }
    });

    it('every option is in the table, apart from the derived and combined ones', () => {
      const options = compile(loadConfig(base));
      const derivedKeys = derived.keys as string[];
      assert.deepEqual(Object.keys(options).filter((k) => !derivedKeys.includes(k)).sort(), rows.map(([o]) => o).sort(), 'no option without a variable');
      derived.check(options);
      for (const [option, value] of Object.entries(options)) assert.notEqual(value, undefined, `${option} is set (no default downstream)`);
    });
  });
}

/** A value of its own per variable, none a default, each inside the variable's accepted range. */
checkTable('compileAggregateOptions', AGGREGATE_OPTION_VARIABLES, compileAggregateOptions, {
  inputTopic: 'test.in',
  outputTopic: 'test.out',
  changelogTopic: 'test.changelog',
  windowDays: '9',
  maxEvents: '77',
  maxRecordsPerTransaction: '1234',
  maxBytesPerTransaction: '5000001',
  maxTransactionMs: '4321',
  cacheMaxUsers: '4242',
  cacheMaxBytes: '2000003',
  retentionDays: '3',
  retryInitialMs: '333',
  retryMaxMs: '4444',
}, {
  keys: ['dlqTopic', 'aggregatorVersion', 'erasureAuth'],
  check: (options) => assert.equal(options.dlqTopic, `${options.inputTopic}.dlq`, 'the DLQ topic is derived from the input topic'),
});

checkTable('compileVectorizeOptions', VECTORIZE_OPTION_VARIABLES, compileVectorizeOptions, {
  inputTopic: 'test.aggregated',
  outputTopic: 'test.vectorized',
  erasedTopic: 'test.erased',
  batchMaxSize: '17',
  batchMaxWaitMs: '123',
  maxInFlightBatches: '5',
  retryInitialMs: '333',
  retryMaxMs: '4444',
}, {
  keys: ['dlqTopic'],
  check: (options) => assert.equal(options.dlqTopic, `${options.inputTopic}.dlq`, 'the DLQ topic is derived from the aggregated topic'),
});

const none = { keys: [], check: () => undefined };

checkTable('compileAggregateSourceOptions', AGGREGATE_SOURCE_VARIABLES, compileAggregateSourceOptions, {
  groupId: 'test-aggregate-group',
  topic: 'test.in',
  partitionsConsumedConcurrently: '5',
  maxBytesPerPartition: '2000001',
  sessionTimeoutMs: '45000',
}, none);

checkTable('compileVectorizeSourceOptions', VECTORIZE_SOURCE_VARIABLES, compileVectorizeSourceOptions, {
  groupId: 'test-vectorize-group',
  topic: 'test.aggregated',
  maxBytesPerPartition: '3000001',
  sessionTimeoutMs: '45000',
}, {
  keys: ['partitionsConsumedConcurrently'],
  check: (options) => assert.equal(options.partitionsConsumedConcurrently, VECTORIZE_PARTITIONS_CONCURRENTLY, 'a fixed count, not a knob'),
});

checkTable('compileChangelogReaderOptions', CHANGELOG_READER_VARIABLES, compileChangelogReaderOptions, {
  topic: 'test.changelog',
  applicationId: 'test-app',
  timeoutMs: '120000',
  maxBytesPerPartition: '4000001',
  fetchMaxWaitMs: '7',
}, none);

checkTable('compileTransactionalWriterOptions', TRANSACTIONAL_WRITER_VARIABLES, compileTransactionalWriterOptions, {
  applicationId: 'test-app',
  groupId: 'test-aggregate-group',
  transactionTimeoutMs: '45000',
}, none);

checkTable('compileQdrantSinkOptions', QDRANT_SINK_VARIABLES, compileQdrantSinkOptions, {
  url: 'http://127.0.0.1:16333',
  collection: 'test_points',
  timeoutMs: '4321',
}, none, { QDRANT_URL: 'http://127.0.0.1:6333' });

describe('compileQdrantSinkOptions: the credentials', () => {
  it('passes QDRANT_API_KEY and QDRANT_CA on when set, and leaves them out when not', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const set = compileQdrantSinkOptions(loadConfig({ QDRANT_URL: 'https://127.0.0.1:6333', QDRANT_API_KEY: 'key-1', QDRANT_CA: pem }));
    assert.equal(set.apiKey, 'key-1', 'QDRANT_API_KEY → apiKey');
    assert.equal(set.ca, `${pem}\n`, 'QDRANT_CA → ca');
    const unset = compileQdrantSinkOptions(loadConfig({ QDRANT_URL: 'https://127.0.0.1:6333' }));
    assert.ok(!('apiKey' in unset) && !('ca' in unset), 'no credential when none is set');
  });
});

checkTable('compileEmbedderOptions', EMBEDDER_VARIABLES, compileEmbedderOptions, {
  modelId: 'test-model',
  threads: '3',
  modelPath: '/nonexistent/test-model',
}, none, { EMBEDDING_MODEL_PATH: '/nonexistent/default-model' });
