import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGGREGATE_OPTION_VARIABLES, compileAggregateOptions } from '../../src/cli/options.js';
import { configTable, loadConfig } from '../../src/config.js';

/** A value of its own per variable, none a default, each inside the variable's accepted range. */
const VALUES: Record<keyof typeof AGGREGATE_OPTION_VARIABLES, string> = {
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
};

describe('compileAggregateOptions: each knob from its variable to the operator argument', () => {
  const rows = Object.entries(AGGREGATE_OPTION_VARIABLES) as Array<[keyof typeof AGGREGATE_OPTION_VARIABLES, string]>;

  it('every variable of the table exists in the configuration table', () => {
    const known = new Set(configTable().map((r) => r.env));
    for (const [option, env] of rows) assert.ok(known.has(env), `${option}: ${env} is a configuration variable`);
  });

  it('a value set on each variable arrives at the option the table names', () => {
    const env = Object.fromEntries(rows.map(([option, name]) => [name, VALUES[option]]));
    const options = compileAggregateOptions(loadConfig(env));
    for (const [option, name] of rows) {
      const expected = /^\d+$/.test(VALUES[option]) ? Number(VALUES[option]) : VALUES[option];
      assert.equal(options[option], expected, `${name}=${VALUES[option]} → ${option}`);
    }
  });

  it('every option is in the table, apart from the derived and combined ones', () => {
    const options = compileAggregateOptions(loadConfig({}));
    const derived = ['dlqTopic', 'aggregatorVersion', 'erasureAuth'];
    assert.deepEqual(Object.keys(options).filter((k) => !derived.includes(k)).sort(), rows.map(([o]) => o).sort(), 'no option without a variable');
    assert.equal(options.dlqTopic, `${options.inputTopic}.dlq`, 'the DLQ topic is derived from the input topic');
    for (const [option, value] of Object.entries(options)) assert.notEqual(value, undefined, `${option} is set (no default downstream)`);
  });
});
