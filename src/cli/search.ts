import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type Config } from '../config.js';
import { AuraError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { FieldCondition } from '../ports.js';
import { QUERY_FIELDS, compileQuery, createInterpreter, fieldValue, searchContext, type ContextHit, type ContextQuery, type InterpretedAs } from '../query/index.js';
import { describeVersion } from '../contracts/index-version.js';
import { createVectorStore, requireQueryModel, resolveAliasTarget } from './index-versions.js';
import { createEmbedder } from './run-vectorize.js';
import { createFileDescriptionCache, descriptionCacheDir } from '../adapters/file-description-cache.js';

export interface SearchOptions {
  user?: string;
  /** YYYY-MM-DD: only points whose window ends on or after that UTC day. */
  since?: string;
  /** YYYY-MM-DD: only points whose window ends on or before that UTC day. */
  until?: string;
  /** `--where` conditions as typed (parseWhere). */
  where?: string[];
  /** `--order-by field[:asc|desc]`. */
  orderBy?: string;
  candidates?: number;
  /** `--query`: a whole ContextQuery as JSON; the other options add to it. */
  queryJson?: string;
  limit: number;
  json: boolean;
  /** `--no-interpret`: run the text as written (no payload filters from what it means). */
  interpret?: false;
}

const SYMBOL_OPS: Record<string, FieldCondition['op']> = { '>=': 'gte', '<=': 'lte', '!=': 'ne', '=': 'eq', '>': 'gt', '<': 'lt' };

/**
 * One `--where` condition: `field<op>value` with op one of = != > >= < <=, or `field:op:value`
 * with any operator of the catalog (`themes:contains:sleep`, `mood_level:in:low,mixed`). The
 * value is typed by the field (numbers, true/false; `in` takes a comma-separated list).
 */
export function parseWhere(text: string): FieldCondition {
  const named = /^([a-z_.]+):([a-z]+):(.*)$/.exec(text);
  const symbolic = named ? undefined : /^([a-z_.]+)\s*(>=|<=|!=|=|>|<)\s*(.*)$/.exec(text);
  const m = named ?? symbolic;
  if (!m) {
    throw new AuraError('INVALID_QUERY', `--where ${JSON.stringify(text)} is not a condition: expected field<op>value (op = != > >= < <=) or field:op:value, e.g. --where "mood_mean<=2.5" --where themes:contains:sleep`);
  }
  const [, field, rawOp, raw] = m as unknown as [string, string, string, string];
  const op = (named ? rawOp : SYMBOL_OPS[rawOp]) as FieldCondition['op'];
  const type = QUERY_FIELDS[field]?.type;
  const one = (v: string): string | number | boolean => {
    const t = v.trim();
    if (type === 'integer' || type === 'number') return t === '' ? NaN : Number(t);
    if (type === 'boolean') return t === 'true' ? true : t === 'false' ? false : t;
    return t;
  };
  const value = op === 'in' ? raw.split(',').map((v) => one(v) as string | number) : one(raw);
  return { field, op, value };
}

/** `--order-by field[:asc|desc]` (default desc: highest first). */
export function parseOrderBy(text: string): { field: string; direction: 'asc' | 'desc' } {
  const [field = '', direction = 'desc', ...rest] = text.split(':');
  if (rest.length > 0 || (direction !== 'asc' && direction !== 'desc')) {
    throw new AuraError('INVALID_QUERY', `--order-by ${JSON.stringify(text)}: expected field[:asc|desc], e.g. --order-by mood_mean:asc`);
  }
  return { field, direction };
}

/** The query object of a `search` command line (validated later by compileQuery, like serve's). */
export function searchQuery(text: string | undefined, options: SearchOptions): ContextQuery {
  let base: Record<string, unknown> = {};
  if (options.queryJson !== undefined) {
    try {
      base = JSON.parse(options.queryJson) as Record<string, unknown>;
    } catch (err) {
      throw new AuraError('INVALID_QUERY', `--query is not JSON: ${(err as Error).message}. Expected a query object, e.g. --query '{"user_id":"user-0001","order_by":{"field":"mood_mean","direction":"asc"}}'`);
    }
  }
  const where = (options.where ?? []).map(parseWhere);
  return {
    ...base,
    ...(text !== undefined && { text }),
    ...(options.user !== undefined && { user_id: options.user }),
    ...(options.since !== undefined && { since: options.since }),
    ...(options.until !== undefined && { until: options.until }),
    ...(where.length > 0 && { filters: [...((base['filters'] as FieldCondition[] | undefined) ?? []), ...where] }),
    ...(options.orderBy !== undefined && { order_by: parseOrderBy(options.orderBy) }),
    ...(options.candidates !== undefined && { candidates: options.candidates }),
    ...((options.queryJson === undefined || base['limit'] === undefined) && { limit: options.limit }),
    ...(options.interpret === false && { interpret: false }),
  } as ContextQuery;
}

/** Folder name of a demo run under STATE_DIR: `demo-<UTC yyyymmddhhmmss>-<hex>`, so names sort by time. */
export const DEMO_RUN = /^demo-\d{14}-[0-9a-f]+$/;

/** `YYYY-MM-DD` → epoch ms of that UTC midnight; a CONFIG error naming the expected form otherwise. */
export function parseSince(day: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00.000Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw new AuraError('CONFIG', `--since ${JSON.stringify(day)} is not a date: expected YYYY-MM-DD, e.g. --since 2026-03-01`);
  }
  return ms;
}

/**
 * Where `search` reads. Qdrant when QDRANT_URL is set. Otherwise the LanceDB folder under
 * STATE_DIR; when it holds no index and STATE_DIR was not set, the newest demo run's folder
 * (`<STATE_DIR>/demo-*`), so that `search` right after `npm run demo` needs no settings.
 */
export function searchTarget(env: NodeJS.ProcessEnv = process.env): { config: Config; note?: string } {
  const config = loadConfig(env);
  if (config.qdrantUrl) return { config };
  // The alias record, or a table of the alias's name (an index written before versions).
  const table = (stateDir: string) => ['alias.json', 'lance'].some((ext) => existsSync(join(resolve(stateDir), 'lancedb', `${config.collection}.${ext}`)));
  if (table(config.stateDir) || env['STATE_DIR']) return { config };
  const runs = existsSync(config.stateDir) ? readdirSync(config.stateDir).filter((n) => DEMO_RUN.test(n) && table(join(config.stateDir, n))) : [];
  const latest = runs.sort().at(-1);
  if (latest === undefined) {
    throw new AuraError(
      'CONFIG',
      `no vector index in ${resolve(config.stateDir, 'lancedb')} (table "${config.collection}") nor in a demo run under ${resolve(config.stateDir)}. ` +
        'Fix: run `aura-stream demo` (or `aura-stream run vectorize`) first, or set STATE_DIR to the folder the stage wrote, or QDRANT_URL to the Qdrant that holds the index.',
    );
  }
  const stateDir = join(config.stateDir, latest);
  return { config: loadConfig({ ...env, STATE_DIR: stateDir }), note: `searching the latest demo run (STATE_DIR=${stateDir})` };
}

/** One JSON line per hit: the score (null for a structured query), who and when, the text, and the payload with every statistic. */
export function hitJson(hit: ContextHit): string {
  return JSON.stringify({ score: hit.score, user_id: hit.payload.user_id, day: hit.payload.day, text: hit.payload.text, ...(hit.filled && { filled: true }), payload: hit.payload });
}

const conditionText = (c: FieldCondition) => `${c.field} ${c.op} ${Array.isArray(c.value) ? c.value.join(',') : String(c.value)}`;

/**
 * What an interpreted question ran as, in one line: its concepts, the filters, the order, and how
 * many hits match them (the rest came from the plain text ranking).
 */
export function interpretationLine(as: InterpretedAs, hits: number): string {
  const concepts = as.concepts.map((c) => `${c.id} (${c.similarity.toFixed(2)})`).join(' + ');
  const order = as.order_by ? `, ordered by ${as.order_by.field} ${as.order_by.direction}` : '';
  const filled = as.matched < hits ? `; ${hits - as.matched} more by text alone (marked +)` : '';
  return `interpreted as ${concepts}: ${as.filters.map(conditionText).join(' and ')}${order}; ${as.matched} match${filled} (--no-interpret: the text as written)`;
}

/**
 * `aura-stream search`: one query through the readers' library function (src/query), against the
 * collection the alias names now (one search reads exactly one version). The model is loaded only
 * for a query with text, and must be the model of that version; a structured query reads the
 * index alone.
 */
export async function runSearch(text: string | undefined, options: SearchOptions, print: (line: string) => void = console.log, note: (line: string) => void = console.error): Promise<void> {
  if (options.since !== undefined) parseSince(options.since);
  if (text !== undefined && text.trim() === '') throw new AuraError('CONFIG', 'the search text is empty. Fix: aura-stream search "mood getting worse", or leave it out for a structured query (--user, --order-by, --where)');
  const query = compileQuery(searchQuery(text, options));
  const where = searchTarget();
  const { config } = where;
  if (where.note) note(where.note);
  const store = createVectorStore(config);
  const target = await resolveAliasTarget(store).finally(() => store.close());
  if (target === undefined) {
    throw new AuraError('CONFIG', `no index "${config.collection}" in ${store.kind} at ${store.location}. Fix: run \`aura-stream run vectorize\` (or \`aura-stream demo\`) first, or set VECTOR_COLLECTION to the index's name.`);
  }
  const sink = store.open(target.collection);
  try {
    // Fail on a missing index before the model is loaded (seconds), with the fix in the message.
    await sink.count();
    // Only warnings on stderr unless LOG_LEVEL asks for more: the results are the output.
    const logger = createLogger(process.env['LOG_LEVEL'] ? config.logLevel : 'warn');
    const embedder = query.text === undefined ? undefined : await createEmbedder(config, logger);
    try {
      if (embedder) requireQueryModel(target, embedder);
      // The descriptions' vectors from the last search with this model (a file under STATE_DIR), not embedded again each call.
      const descriptionCache = createFileDescriptionCache({ dir: descriptionCacheDir(config.stateDir), warn: (m) => logger.warn(m) });
      const interpreter = embedder && createInterpreter(embedder, { descriptionCache });
      const onInterpretError = (err: unknown) => note(`interpreting the question failed (${err instanceof Error ? err.message : String(err)}); it ran as written`);
      const answer = await searchContext({ reader: sink, ...(embedder && { embedder, interpreter }), onInterpretError, index: target, mode: config.retrievalMode }, query);
      const interpreted = answer.interpreted_as ? interpretationLine(answer.interpreted_as, answer.hits.length) : undefined;
      if (options.json) {
        // stdout stays one hit per line; what the question ran as goes beside it.
        if (interpreted) note(interpreted);
        for (const h of answer.hits) print(hitJson(h));
        return;
      }
      const orderBy = query.orderBy ?? answer.interpreted_as?.order_by;
      const by = query.orderBy ? `, ordered by ${query.orderBy.field} ${query.orderBy.direction}` : '';
      print(`${sink.kind} ${sink.location} index ${target.alias} → ${target.collection} (${describeVersion(target.version)}): ${answer.hits.length} result(s) of a ${answer.kind} query${by}`);
      if (interpreted) print(interpreted);
      for (const h of answer.hits) {
        const v = orderBy && fieldValue(h.payload, orderBy.field);
        // Three significant digits for fractions (1.67, -0.00412); whole numbers (minutes, epoch ms) as they are.
        const value = orderBy ? `  ${orderBy.field}=${typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(3)) : String(v)}` : '';
        print(`${h.score === null ? '-' : h.score.toFixed(3)}${h.filled ? '+' : ' '} ${h.payload.user_id}  ${h.payload.day}${value}  ${h.payload.text}`);
      }
    } finally {
      await embedder?.close();
    }
  } finally {
    await sink.close();
  }
}
