import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { KafkaGroupSource } from '../../../src/adapters/kafka/group-source.js';
import { createLogger } from '../../../src/logger.js';
import { compileAggregateSourceOptions } from '../../../src/cli/options.js';
import { DEFAULT_CONFIG } from '../../support/compiled-options.js';

test('assignment$ emits nothing before the group is joined, so a stage cannot report ready before it has partitions', () => {
  // Regression: it started as a BehaviorSubject([]): the stage saw an empty assignment at once,
  // went to `running`, and /readyz said ready while the join was still waiting out a dead member.
  const source = new KafkaGroupSource({} as Kafka, { ...compileAggregateSourceOptions(DEFAULT_CONFIG), groupId: 'g', topic: 't', logger: createLogger('silent') });
  const seen: unknown[] = [];
  const sub = source.assignment$.subscribe((a) => seen.push(a));
  assert.deepEqual(seen, [], 'no assignment before a join');
  sub.unsubscribe();
});
