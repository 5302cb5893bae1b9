// A real Prometheus (Debian package) scraping a running `aura-stream run all` on the real stack
// through the shipped Kubernetes scrape config (pod discovery stood in for by the pods' labels, so
// the relabelling runs), with the shipped alert rules loaded. After a small workload (with poison,
// so DLQ series exist), every PromQL expression of the Grafana dashboard and of the alert rules is
// run through Prometheus's HTTP API and must parse and return data:
//   - a dashboard query must return at least one series with a finite value (Grafana's "All" for
//     $stage/$instance, a 1m window for $__rate_interval);
//   - an alert expression that returns nothing (an alert that should not fire on a healthy run) is
//     split at its top-level comparison/set operators; each non-literal part must return data, and
//     absent(X) is judged by X.
// Also: `promtool check metrics` on the real /metrics scrape, and the rule manager reports every
// rule evaluated without error.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { produceWorkload } from '../../src/workload/index.js';
import { absentArgument, alertRules, dashboardQueries, isNumberLiteral, kubernetesConfigWithPods, substituteGrafana, topLevelParts } from '../support/promql.js';
import { createStageTopics, dropTestResources, killAllStages, metricValue, removeDir, requireStack, runStage, testKafka, testSerde, uniqueNames, waitFor, type StageProcess, type TestNames } from '../support/stack-env.js';
import { healthcheckArgv } from '../support/dockerfile.js';
import { run, tool } from '../support/tools.js';
import { MODEL_PATH, requireModel, vectorizeGroupOf } from '../support/vectorize-env.js';

const RATE_WINDOW = '1m';

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('observability: dashboard and alert expressions on a real Prometheus scraping a running stage', { timeout: 180_000 }, () => {
  let kafka: Kafka;
  let names: TestNames;
  let stage: StageProcess;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let promDir: string;

  async function query(expr: string): Promise<Sample[]> {
    const res = await fetch(`${promUrl}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }), signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] | [number, string] } };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
    const { resultType, result } = body.data!;
    if (resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
    return result as Sample[];
  }

  before(async () => {
    await requireStack();
    requireModel();
    const prometheusBin = tool('prometheus');
    kafka = testKafka('observability');
    names = uniqueNames('obs', { partitions: 3 });
    const env = { ...names.env, EMBEDDING_MODEL_PATH: MODEL_PATH, QDRANT_URL: '', VECTORIZE_GROUP_ID: vectorizeGroupOf(names), LAG_REFRESH_MS: '1000' };
    await createStageTopics(kafka, env);
    stage = await runStage(env, 'all', { label: 'observability', readyTimeoutMs: 120_000 });

    promDir = mkdtempSync(join(tmpdir(), 'aura-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = kubernetesConfigWithPods([{ host: '127.0.0.1', port: stage.port, name: 'aura-stream-all-0', component: 'all' }], { scrape_interval: '1s', evaluation_interval: '1s' });
    writeFileSync(join(promDir, 'prometheus.yml'), JSON.stringify(config));
    prometheus = spawn(
      prometheusBin,
      [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let promLog = '';
    prometheus.stderr!.on('data', (d: Buffer) => (promLog = (promLog + d.toString()).slice(-4000)));
    await waitFor(`Prometheus on ${promUrl} ready (log: ${promLog})`, async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true, { timeoutMs: 30_000 });
    await waitFor('the stage scraped through the Kubernetes relabelling', async () => (await query('up{job="aura-stream", namespace="aura-stream", pod="aura-stream-all-0"} == 1').catch(() => [])).length === 1, { timeoutMs: 30_000 });

    // a small workload over a few seconds, with poison, while Prometheus scrapes every second
    const sent = await produceWorkload(kafka, testSerde(), { topic: names.inputTopic, seed: 'observability', users: 6, events: 240, rate: 60, startMs: Date.now() - 11 * 86_400_000, poisonFraction: 0.05, windowDays: 7, maxEvents: 512 });
    assert.ok(sent.valid > 150 && sent.total === 240, `workload sent (${JSON.stringify(sent)})`);
    await waitFor(
      'both stages processed the workload and Prometheus saw it',
      async () => {
        const [consumed, upserted] = await Promise.all([query('sum(aura_records_consumed_total{stage="aggregate"})'), query('sum(aura_vector_points_upserted_total)')]);
        return Number(consumed[0]?.value[1] ?? 0) >= sent.total && Number(upserted[0]?.value[1] ?? 0) > 0;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    // a few more scrapes so that every rate window holds the workload twice over
    await new Promise((r) => setTimeout(r, 3000));
  });

  after(async () => {
    prometheus?.kill('SIGTERM');
    killAllStages();
    await stage?.exited;
    if (names) {
      await dropTestResources(kafka, names);
      removeDir(names.stateDir);
    }
    if (promDir) rmSync(promDir, { recursive: true, force: true });
  });

  it('the real /metrics scrape passes `promtool check metrics` and carries the new metrics', async () => {
    const text = await stage.metrics();
    const r = run(tool('promtool'), ['check', 'metrics'], text);
    assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout + r.stderr, '', 'no lint findings');
    for (const name of ['aura_build_info', 'aura_consumer_rebalances_total', 'aura_commit_seconds_bucket', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds', 'aura_index_freshness_seconds_bucket', 'aura_consumer_lag_seconds', 'aura_consumer_committed_offset', 'aura_oldest_unconfirmed_record_age_seconds']) {
      assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} exposed`);
    }
    assert.doesNotMatch(text, /process_process|aura_process_/);
    assert.match(text, /^aura_consumer_lag_records\{stage="vectorize",topic="[^"]+",partition="\d"\} \d+$/m, 'vectorize reports its lag');
  });

  it('freshness, lateness and the timer-read lag are exported with values that agree with the run', async () => {
    const text = await stage.metrics();
    const v = (name: string, labels: Record<string, string>) => metricValue(text, name, labels);
    const stored = v('aura_records_total', { stage: 'vectorize', outcome: 'accepted' }) + v('aura_records_total', { stage: 'vectorize', outcome: 'superseded' });
    assert.ok(stored > 0, 'vectorize stored snapshots');
    assert.equal(v('aura_index_freshness_seconds_count', { stage: 'vectorize' }), stored, 'one freshness observation per snapshot made searchable (kept or superseded)');
    assert.ok(v('aura_index_freshness_seconds_sum', { stage: 'vectorize' }) > 0, 'freshness is measured from the source event, so it is above 0');
    const accepted = v('aura_records_total', { stage: 'aggregate', outcome: 'accepted' });
    assert.equal(v('aura_record_lateness_seconds_count', { stage: 'aggregate' }), accepted, 'lateness observed once per accepted event');
    // caught up: the broker's committed offsets are what the gauges say, lag 0 records and 0 seconds
    await waitFor('the lag monitor read the caught-up group', async () => metricValue(await stage.metrics(), 'aura_consumer_lag_records', { stage: 'vectorize' }) === 0 || undefined, { timeoutMs: 30_000, intervalMs: 1000 });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [group] = await admin.fetchOffsets({ groupId: vectorizeGroupOf(names), topics: [names.aggregatedTopic] });
      const now = await stage.metrics();
      for (const { partition, offset } of group!.partitions) {
        const labels = { stage: 'vectorize', topic: names.aggregatedTopic, partition: String(partition) };
        assert.equal(metricValue(now, 'aura_consumer_committed_offset', labels), Number(offset), `partition ${partition}: the committed offset the broker reports`);
        assert.equal(metricValue(now, 'aura_consumer_lag_seconds', labels), 0, `partition ${partition}: caught up, 0 s`);
      }
      assert.equal(metricValue(now, 'aura_oldest_unconfirmed_record_age_seconds', { stage: 'vectorize' }), 0, 'nothing held unconfirmed once caught up');
    } finally {
      await admin.disconnect();
    }
  });

  it("the image's HEALTHCHECK command passes against the live stage and fails against a closed port", async () => {
    const [cmd, ...args] = healthcheckArgv();
    assert.equal(cmd, 'node');
    const probe = (port: number) => run(process.execPath, args, undefined, { METRICS_PORT: String(port) }).status;
    assert.equal(probe(stage.port), 0);
    assert.equal(probe(await freePort()), 1);
  });

  it('every dashboard query parses and returns a finite value', async () => {
    const empty: string[] = [];
    for (const { panel, expr } of dashboardQueries()) {
      const samples = await query(substituteGrafana(expr, RATE_WINDOW));
      if (!samples.some((s) => Number.isFinite(Number(s.value[1])))) empty.push(`${panel}: ${expr} → ${JSON.stringify(samples).slice(0, 200)}`);
    }
    assert.deepEqual(empty, []);
  });

  it('every alert expression parses and returns data, or each of its parts does when it does not fire', async (t) => {
    const missing: string[] = [];
    const byParts = new Set<string>();
    const judge = async (expr: string, where: string): Promise<void> => {
      if ((await query(expr)).length > 0) return;
      byParts.add(where.split(' ')[0]!);
      const parts = topLevelParts(expr);
      const inner = absentArgument(expr);
      if (inner !== undefined) return judge(inner, `${where} › absent(…)`);
      if (parts.length === 1) {
        missing.push(`${where}: ${expr}`);
        return;
      }
      for (const part of parts) if (!isNumberLiteral(part)) await judge(part, `${where} › part`);
    };
    for (const rule of alertRules()) await judge(rule.expr, rule.alert);
    t.diagnostic(`judged by their parts (not firing): ${[...byParts].join(', ')}`);
    assert.deepEqual(missing, []);
  });

  it('Prometheus evaluates every rule without error, and none of the health alerts fires', async () => {
    const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; state: string }> }> } };
    const rules = res.data.groups.flatMap((g) => g.rules);
    assert.equal(rules.length, alertRules().length);
    assert.deepEqual(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), []);
    const firingOrPending = rules.filter((r) => r.state !== 'inactive').map((r) => r.name);
    // 5% poison is above the 1% dead-letter threshold, and the workload's records carry Kafka
    // timestamps up to 11 days old (a replay), far outside the freshness objective: those two may
    // be pending, nothing else
    assert.deepEqual(firingOrPending.filter((n) => n !== 'AuraStreamDeadLetters' && n !== 'AuraStreamFreshnessSLO'), []);
  });
});
