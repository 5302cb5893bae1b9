// What the observability tests need to know about PromQL and the shipped Prometheus/Grafana files.
// Not a test file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './stack-env.js';
import { run, venvPython } from './tools.js';

export const RULES_FILE = join(ROOT, 'deploy', 'prometheus', 'rules', 'aura-stream.rules.yml');
export const DASHBOARD_FILE = join(ROOT, 'deploy', 'grafana', 'aura-stream.json');

/** A YAML file as JSON (PyYAML from the tools venv: the project has no YAML parser of its own). */
export function readYaml<T>(path: string): T {
  const r = run(venvPython(), ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', path]);
  if (r.status !== 0) throw new Error(`cannot read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const doc = readYaml<{ groups: Array<{ rules: AlertRule[] }> }>(RULES_FILE);
  return doc.groups.flatMap((g) => g.rules);
}

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string; refId: string }>;
  panels?: Panel[];
}

/** Every query of the dashboard, with its panel title. */
export function dashboardQueries(): Array<{ panel: string; expr: string }> {
  const dash = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Panel[] };
  const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  return flat(dash.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/**
 * Grafana's variables replaced as Grafana would with "All" selected (`allValue` .*) and a rate
 * window of `rateWindow`.
 */
export function substituteGrafana(expr: string, rateWindow: string): string {
  return expr.replaceAll('$__rate_interval', rateWindow).replaceAll('$__range', rateWindow).replaceAll('$stage', '.*').replaceAll('$namespace', '.*').replaceAll('$pod', '.*');
}

const BINARY = /^(?:and|or|unless)\b|^(?:==|!=|>=|<=|>|<)/;

/**
 * The operands of `expr`'s top-level binary comparison and set operators (and, or, unless, ==, !=,
 * >=, <=, >, <), outside brackets, braces and strings: `A > 1000 and B > 0` gives A, 1000, B, 0.
 * An expression without such an operator is its own single part.
 */
export function topLevelParts(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0) {
      const before = i === 0 ? ' ' : expr[i - 1]!;
      const m = BINARY.exec(expr.slice(i));
      if (m && (/[<>=!]/.test(m[0][0]!) || /\s|\)/.test(before))) {
        parts.push(expr.slice(start, i));
        i += m[0].length - 1;
        start = i + 1;
      }
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** `absent(X)` → X; anything else → undefined. */
export function absentArgument(expr: string): string | undefined {
  const m = /^absent\s*\(([\s\S]*)\)$/.exec(expr.trim());
  return m ? m[1]!.trim() : undefined;
}

export const isNumberLiteral = (part: string) => /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(part);

/** Metric names a PromQL expression selects (label lists, matchers, ranges and strings removed first). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const notMetrics = new Set(['and', 'or', 'unless', 'bool', 'offset', 'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group']);
  const out = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:])(?!\s*\()/g)) {
    if (!notMetrics.has(m[1]!) && !isNumberLiteral(m[1]!)) out.add(m[1]!);
  }
  return [...out];
}

export const KUBERNETES_CONFIG_FILE = join(ROOT, 'deploy', 'prometheus', 'prometheus.kubernetes.yml');

interface ScrapeConfig {
  job_name: string;
  kubernetes_sd_configs?: Array<{ role: string; namespaces?: { names: string[] } }>;
  static_configs?: Array<{ targets: string[]; labels: Record<string, string> }>;
  [key: string]: unknown;
}

/**
 * deploy/prometheus/prometheus.kubernetes.yml with its Kubernetes service discovery replaced by
 * static targets that carry the labels pod discovery would give the pods (address without the
 * metrics port, namespace, pod name, labels and prometheus.io annotations), so that the file's own
 * relabelling runs for real. Debian's Prometheus is built without Kubernetes discovery, and no API
 * server runs here. `rule_files` become absolute; `global` is overridden by `global`.
 */
export function kubernetesConfigWithPods(pods: Array<{ host: string; port: number; name: string; component: string }>, global: Record<string, string> = {}): Record<string, unknown> {
  const config = readYaml<{ global: Record<string, string>; rule_files: string[]; scrape_configs: ScrapeConfig[] }>(KUBERNETES_CONFIG_FILE);
  const job = config.scrape_configs.find((j) => j.job_name === 'aura-stream');
  const sd = job?.kubernetes_sd_configs?.[0];
  if (!job || !sd || sd.role !== 'pod') throw new Error(`${KUBERNETES_CONFIG_FILE}: no aura-stream job with pod discovery`);
  const namespace = sd.namespaces?.names[0] ?? 'default';
  delete job.kubernetes_sd_configs;
  job.static_configs = pods.map((p) => ({
    targets: [`${p.host}:1`], // pod discovery's address for a port the pod does not declare as metrics
    labels: {
      __meta_kubernetes_namespace: namespace,
      __meta_kubernetes_pod_name: p.name,
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'aura-stream',
      __meta_kubernetes_pod_label_app_kubernetes_io_component: p.component,
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_annotation_prometheus_io_port: String(p.port),
      __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics',
    },
  }));
  return { ...config, global: { ...config.global, ...global }, rule_files: config.rule_files.map((f) => join(ROOT, 'deploy', 'prometheus', f)) };
}
