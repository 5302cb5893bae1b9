import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absentArgument, isNumberLiteral, metricNames, substituteGrafana, topLevelParts } from '../support/promql.js';

describe('PromQL helpers of the observability tests', () => {
  it('splits at top-level comparison and set operators only', () => {
    assert.deepEqual(topLevelParts('sum by (stage) (a{x=~"a|b>c"}) > 1000\nand\nsum by (stage) (delta(a[10m])) > 0'), ['sum by (stage) (a{x=~"a|b>c"})', '1000', 'sum by (stage) (delta(a[10m]))', '0']);
    assert.deepEqual(topLevelParts('sum(rate(a[5m])) / sum(rate(b[5m])) > 0.01'), ['sum(rate(a[5m])) / sum(rate(b[5m]))', '0.01']);
    assert.deepEqual(topLevelParts('up{job="x"} == 0'), ['up{job="x"}', '0']);
    assert.deepEqual(topLevelParts('rate(x[1m])'), ['rate(x[1m])']);
    assert.deepEqual(topLevelParts('max by (stage) (s{state="running"}) == 1 or vector(0)'), ['max by (stage) (s{state="running"})', '1', 'vector(0)']);
    assert.deepEqual(topLevelParts('random_orange > 1'), ['random_orange', '1'], 'an identifier containing "or" is not the operator');
  });

  it('finds absent() arguments, number literals and metric names', () => {
    assert.equal(absentArgument('absent(max by (stage) (s{stage="a"}) == 1)'), 'max by (stage) (s{stage="a"}) == 1');
    assert.equal(absentArgument('max(absent(x))'), undefined);
    assert.ok(isNumberLiteral('0.01') && isNumberLiteral('1000') && !isNumberLiteral('up'));
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (stage, le) (rate(aura_commit_seconds_bucket{stage=~"$stage", le="1"}[5m]))) / up'),
      ['aura_commit_seconds_bucket', 'up'],
    );
  });

  it('substitutes Grafana variables as "All" would', () => {
    assert.equal(substituteGrafana('rate(a{stage=~"$stage", namespace=~"$namespace", pod=~"$pod"}[$__rate_interval])', '1m'), 'rate(a{stage=~".*", namespace=~".*", pod=~".*"}[1m])');
  });
});
