// deploy/prometheus and deploy/grafana checked offline with promtool (Debian `prometheus`): rule
// syntax, rule unit tests (and that they catch a changed threshold), both scrape configs, and that
// every metric the dashboard and the rules name is one the app exposes.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createMetrics } from '../../src/metrics.js';
import { alertRules, dashboardQueries, DASHBOARD_FILE, kubernetesConfigWithPods, metricNames, readYaml, RULES_FILE } from '../support/promql.js';
import { ROOT } from '../support/stack-env.js';
import { run, tool } from '../support/tools.js';

const RULES_TEST = join(ROOT, 'deploy', 'prometheus', 'rules', 'aura-stream.rules.test.yml');
const tmp = mkdtempSync(join(tmpdir(), 'aura-prom-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('deploy/prometheus', () => {
  it('the alert rules pass `promtool check rules`', () => {
    const r = run(tool('promtool'), ['check', 'rules', RULES_FILE]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
  });

  it('the rule unit tests pass, cover every alert, and fail when a threshold changes', () => {
    const ok = run(tool('promtool'), ['test', 'rules', RULES_TEST]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);

    const tests = readYaml<{ tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> }>(RULES_TEST);
    const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    assert.deepEqual([...new Set(alertRules().map((r) => r.alert))].filter((a) => !fired.has(a)), [], 'every alert has a test in which it fires');

    copyFileSync(RULES_TEST, join(tmp, 'aura-stream.rules.test.yml'));
    const rules = readFileSync(RULES_FILE, 'utf8');
    assert.ok(rules.includes('> 0.01'));
    writeFileSync(join(tmp, 'aura-stream.rules.yml'), rules.replace('> 0.01', '> 0.05'));
    const changed = run(tool('promtool'), ['test', 'rules', join(tmp, 'aura-stream.rules.test.yml')]);
    assert.equal(changed.status, 1, 'a dead-letter threshold of 5% misses the 2% test case');
    assert.match(changed.stdout + changed.stderr, /AuraStreamDeadLetters/);
  });

  it('every alert links its own section of docs/runbook.md, and none is keyed on instance', () => {
    const runbook = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');
    // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens
    const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const problems: string[] = [];
    for (const rule of alertRules()) {
      const url = rule.annotations?.runbook_url ?? '';
      const m = /^docs\/runbook\.md#([a-z0-9-]+)$/.exec(url);
      if (!m) problems.push(`${rule.alert}: runbook_url ${JSON.stringify(url)} is not docs/runbook.md#<section>`);
      else if (m[1] !== rule.alert.toLowerCase()) problems.push(`${rule.alert}: links #${m[1]}, not its own section`);
      else if (!anchors.has(m[1])) problems.push(`${rule.alert}: docs/runbook.md has no section "${rule.alert}"`);
      if (/\binstance\b/.test(rule.expr) || /\$labels\.instance/.test(JSON.stringify(rule.annotations))) problems.push(`${rule.alert}: keyed on instance`);
    }
    assert.deepEqual(problems, []);
  });

  it('the local (static) scrape config passes `promtool check config`, rules included', () => {
    const r = run(tool('promtool'), ['check', 'config', join(ROOT, 'deploy', 'prometheus', 'prometheus.local.yml')]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 1 rule files found/);
  });

  it('the Kubernetes scrape config passes `promtool check config` with pod discovery swapped for its labels', () => {
    const file = join(tmp, 'kubernetes.json');
    writeFileSync(file, JSON.stringify(kubernetesConfigWithPods([{ host: '127.0.0.1', port: 9464, name: 'aura-stream-aggregate-0', component: 'aggregate' }])));
    const r = run(tool('promtool'), ['check', 'config', file]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

describe('deploy/grafana dashboard', () => {
  it('has a datasource variable, unique refIds per panel, and the panels docs/operations.md lists', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; templating: { list: Array<{ name: string }> }; panels: Array<{ title: string; targets?: Array<{ refId: string; datasource: { uid: string } }> }> };
    assert.equal(dash.uid, 'aura-stream');
    assert.deepEqual(dash.templating.list.map((v) => v.name), ['datasource', 'stage', 'namespace', 'pod']);
    assert.doesNotMatch(readFileSync(DASHBOARD_FILE, 'utf8'), /\binstance\b/, 'scoped by namespace and pod, never instance');
    for (const p of dash.panels) {
      const refs = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refs).size, refs.length, `${p.title}: unique refIds`);
      for (const t of p.targets ?? []) assert.equal(t.datasource.uid, '${datasource}');
    }
    const titles = dash.panels.map((p) => p.title).join(' | ');
    for (const want of ['by outcome', 'Consumer lag', 'End-to-end latency', 'Batch latency', 'Dead-lettered', 'Restore', 'Embedding cache hit rate', 'upsert latency', 'Event-loop lag', 'Commit latency', 'Index freshness (p50, p99)', 'Oldest unconfirmed record age', 'Consumer lag (seconds)', 'Committed offset moves']) {
      assert.ok(titles.includes(want), `a panel for ${want}`);
    }
  });

  it('names only metrics the app exposes (dashboard and rules)', async () => {
    const m = createMetrics();
    m.initStage('aggregate');
    m.initStage('vectorize');
    const text = await m.registry.metrics();
    const exposed = new Set(['up']);
    for (const line of text.split('\n')) {
      const t = /^# TYPE (\S+) (\w+)$/.exec(line);
      if (!t) continue;
      exposed.add(t[1]!);
      if (t[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(`${t[1]}${s}`);
    }
    const used = [...dashboardQueries().map((q) => q.expr), ...alertRules().map((r) => r.expr)].flatMap(metricNames);
    assert.ok(used.length > 30);
    assert.deepEqual([...new Set(used)].filter((n) => !exposed.has(n)), []);
  });
});
