import { POISON_KINDS, RECORD_CLASSES } from './records.js';
import type { GeneratedRecord, PoisonKind } from './records.js';

/** What a generated (or sent) run holds, by class: the numbers a run is accounted against. */
export interface GenerationSummary {
  total: number;
  valid: number;
  late: number;
  duplicate: number;
  poison: number;
  /** Every kind present, 0 when none, in POISON_KINDS order. */
  poisonByKind: Record<PoisonKind, number>;
  /** Distinct users with at least one valid record. */
  users: number;
}

export interface GenerationTally {
  add(record: GeneratedRecord): void;
  summary(): GenerationSummary;
}

/** Counts records one at a time, for a producer that tallies what it has actually sent. */
export function createTally(): GenerationTally {
  const counts = { total: 0, valid: 0, late: 0, duplicate: 0, poison: 0 };
  const poisonByKind = Object.fromEntries(POISON_KINDS.map((kind) => [kind, 0])) as Record<PoisonKind, number>;
  const users = new Set<string>();
  return {
    add(record) {
      counts.total++;
      counts[record.class]++;
      if (record.class === 'poison' && record.poisonKind) poisonByKind[record.poisonKind]++;
      if (record.class === 'valid' && record.event) users.add(record.event.user_id);
    },
    summary() {
      return { ...counts, poisonByKind: { ...poisonByKind }, users: users.size };
    },
  };
}

export function summarize(records: Iterable<GeneratedRecord>): GenerationSummary {
  const tally = createTally();
  for (const record of records) tally.add(record);
  return tally.summary();
}

/**
 * A small fixed-width table:
 * ```
 * class                  records   share
 * valid                     4650   93.0%
 * …
 *   poison: out-of-range       6    0.1%
 * total                     5000  100.0%
 * users                       10
 * ```
 */
export function formatSummary(summary: GenerationSummary): string {
  const share = (n: number): string => (summary.total === 0 ? '-' : `${((100 * n) / summary.total).toFixed(1)}%`);
  const rows: [string, string, string][] = [['class', 'records', 'share']];
  for (const cls of RECORD_CLASSES) rows.push([cls, String(summary[cls]), share(summary[cls])]);
  for (const kind of POISON_KINDS) rows.push([`  poison: ${kind}`, String(summary.poisonByKind[kind]), share(summary.poisonByKind[kind])]);
  rows.push(['total', String(summary.total), share(summary.total)]);
  rows.push(['users', String(summary.users), '']);
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((row) => row[col]?.length ?? 0)));
  return rows
    .map(([label, count, pct]) => `${label.padEnd(widths[0] as number)}  ${count.padStart(widths[1] as number)}  ${pct.padStart(widths[2] as number)}`.trimEnd())
    .join('\n');
}
