import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, Index, type Connection, type Table } from '@lancedb/lancedb';
import { Bool, DataType, Field, FixedSizeList, Float32, Float64, Int32, Int64, List, Schema, Struct, Utf8 } from 'apache-arrow';
import { AuraError } from '../errors.js';
import { describeVersion, isVersionOf, readVersion, sameVersion, type IndexVersion } from '../contracts/index-version.js';
import type { FieldCondition, IndexCatalog, IndexCollection, OrderBy, PointFilter, PointPayload, SearchHit, SearchOptions, VectorPoint, VectorSink } from '../ports.js';
import { QUERY_FIELDS, fieldPath } from '../query/index.js';
import { ACTIVITY_TYPE_KEYS, INTENSITY_KEYS, MOOD_DISTRIBUTION_KEYS } from '../pipeline/domain/snapshot-stats.js';
import { byId, byScore, dimensionMismatch, guarded, lastById, prefetchLimit, requireDimension, rrfFuse, searchMode, storeWhere, type StoredPoint } from './vector-sink-common.js';

/**
 * VectorSink on an embedded LanceDB (@lancedb/lancedb 0.31): the default when QDRANT_URL is unset.
 * One table per collection in a local folder; one row per point, the payload as columns of the
 * same names as Qdrant's payload fields (PAYLOAD_COLUMNS): numbers as int32/int64/float64 (null
 * where the payload allows it), maps such as `minutes_by_type` as structs with one field per key
 * (SQL `minutes_by_type.cardio > 60`), lists as lists (`array_has(themes, 'sleep')`).
 *
 * Upserts are merge inserts on `id`; deleteUser counts the rows of the predicate
 * (`user_id = '<id>'`, quotes doubled by sqlString, plus `window_end < <before>`), then deletes
 * them with the same predicate; search is an exact (unindexed) cosine search with
 * score = 1 - cosine distance, the same scale as Qdrant's Cosine score.
 *
 * Words: a full-text (BM25) index on `text` (FTS_INDEX, English stemming, no stop-word removal,
 * made by ensureCollection; rows added after it are searched too, unindexed until an optimize).
 * `sparse` searches it; `hybrid` runs the cosine search and the full-text search, each with the
 * filter, and fuses them by RRF exactly as Qdrant does (rrfFuse, k = RRF_K).
 *
 * Versions (IndexCatalog, docs/reindex.md), two small JSON files next to the tables:
 *   <dir>/<table>.version.json := { "model_id": s, "model_version": s, "text_version": n }
 *                                 written when the table is created with a version
 *   <dir>/<alias>.alias.json   := { "collection": "<table>" }
 *                                 the alias; replaced by writing `<alias>.alias.json.tmp-<pid>`
 *                                 then rename(2), atomic on POSIX: a reader reads the old or the
 *                                 new file, never a partial one
 */

export interface LanceDbSinkOptions {
  /** Database folder (created when missing); relative to the working directory. */
  dir: string;
  /** Table name: letters, digits, `_`, `-`, `.`. */
  collection: string;
}

type Row = Record<string, unknown>;

/** LanceDB's default name of the full-text index on `text`. */
export const FTS_INDEX = 'text_idx';

const TABLE_NAME = /^[A-Za-z0-9_.-]+$/;

/** A column: its Arrow type, whether it may be null, and how a row value reads back as the payload's. */
interface Column {
  type: () => DataType;
  nullable?: boolean;
  read: (value: unknown) => unknown;
}

const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string => String(v);
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** Struct and list cells come back as Arrow proxies; toJSON gives the plain value. */
const plain = (v: unknown): unknown => (v !== null && typeof v === 'object' && 'toJSON' in v ? (v as { toJSON(): unknown }).toJSON() : v);
const ints = (keys: readonly string[]): Column => ({
  type: () => new Struct(keys.map((k) => new Field(k, new Int32(), false))),
  read: (v) => Object.fromEntries(keys.map((k) => [k, Number((plain(v) as Record<string, unknown>)[k])])),
});
const strings: Column = { type: () => new List(new Field('item', new Utf8(), true)), read: (v) => [...(plain(v) as Iterable<unknown>)].map(String) };
const INT32: Column = { type: () => new Int32(), read: num };
const INT64: Column = { type: () => new Int64(), read: num };
const UTF8: Column = { type: () => new Utf8(), read: str };
const OPT_UTF8: Column = { type: () => new Utf8(), nullable: true, read: optStr };
const OPT_F64: Column = { type: () => new Float64(), nullable: true, read: optNum };

/** Every payload field, in PointPayload order: the table's columns after `id` and `vector`. */
export const PAYLOAD_COLUMNS: { [K in keyof PointPayload]-?: Column } = {
  user_id: UTF8,
  day: UTF8,
  window_end: INT64,
  window_start: INT64,
  window_days: INT32,
  snapshot_id: UTF8,
  trigger_event_id: UTF8,
  event_count: INT32,
  text: UTF8,
  mood_count: INT32,
  mood_mean: OPT_F64,
  mood_stddev: OPT_F64,
  mood_min: OPT_F64,
  mood_max: OPT_F64,
  mood_trend_per_day: OPT_F64,
  mood_latest: OPT_UTF8,
  mood_distribution: ints(MOOD_DISTRIBUTION_KEYS),
  mood_level: OPT_UTF8,
  mood_direction: OPT_UTF8,
  mood_variable: { type: () => new Bool(), read: (v) => Boolean(v) },
  activity_sessions: INT32,
  activity_minutes: INT32,
  minutes_by_type: ints(ACTIVITY_TYPE_KEYS),
  minutes_by_intensity: ints(INTENSITY_KEYS),
  active_days: INT32,
  streak_days: INT32,
  main_activity: OPT_UTF8,
  intensity: OPT_UTF8,
  top_tags: {
    type: () => new List(new Field('item', new Struct([new Field('tag', new Utf8(), false), new Field('count', new Int32(), false)]), true)),
    read: (v) => [...(plain(v) as Iterable<unknown>)].map((t) => {
      const o = plain(t) as { tag: unknown; count: unknown };
      return { tag: String(o.tag), count: Number(o.count) };
    }),
  },
  themes: strings,
  recent_notes: strings,
  aggregator_version: UTF8,
  model_id: UTF8,
  model_version: UTF8,
  // Absent in tables written before models were recorded (read as '').
  manifest_sha256: { type: () => new Utf8(), read: (v) => (v === null || v === undefined ? '' : String(v)) },
  // Absent in tables written before versions (read as 0: no text version recorded).
  text_version: { type: () => new Int32(), read: (v) => (v === null || v === undefined ? 0 : Number(v)) },
  snapshot_topic: UTF8,
  snapshot_partition: INT32,
  snapshot_offset: INT64,
  event_partition: INT32,
  event_offset: INT64,
};

const COLUMN_NAMES = Object.keys(PAYLOAD_COLUMNS) as Array<keyof PointPayload>;

export function lanceSchema(dimension: number): Schema {
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('vector', new FixedSizeList(dimension, new Field('item', new Float32(), true)), false),
    ...COLUMN_NAMES.map((name) => new Field(name, PAYLOAD_COLUMNS[name].type(), PAYLOAD_COLUMNS[name].nullable ?? false)),
  ]);
}

/** An SQL string literal for a LanceDB (DataFusion) filter: single quotes doubled, nothing else special. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A number as an SQL literal; only finite numbers reach a predicate. */
function sqlNumber(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new AuraError('INVALID_QUERY', `expected a finite number, got ${JSON.stringify(value)}`);
  return String(value);
}

function sqlLiteral(value: unknown): string {
  if (typeof value === 'string') return sqlString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return sqlNumber(value);
}

/**
 * The column expression of a catalog field: a column, or a struct member (`minutes_by_type.cardio`
 * → `minutes_by_type['cardio']`). Only catalog names reach SQL: they are identifiers, not input.
 */
export function sqlColumn(field: string): string {
  if (!(field in QUERY_FIELDS)) throw new AuraError('INVALID_QUERY', `unknown payload field "${field}"`);
  const [head, key] = fieldPath(field);
  return key === undefined ? head : `${head}[${sqlString(key)}]`;
}

const SQL_OPS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** One payload condition as an SQL predicate; `ne` also holds for a null value (as Qdrant's must_not). */
export function sqlCondition(c: FieldCondition): string {
  const col = sqlColumn(c.field);
  const list = QUERY_FIELDS[c.field]!.type === 'keyword[]';
  switch (c.op) {
    case 'ne':
      return `(${col} IS NULL OR ${col} <> ${sqlLiteral(c.value)})`;
    case 'contains':
      return `array_has(${col}, ${sqlLiteral(c.value)})`;
    case 'in': {
      const values = (c.value as unknown[]).map(sqlLiteral).join(', ');
      return list ? `array_has_any(${col}, make_array(${values}))` : `${col} IN (${values})`;
    }
    default:
      return `${col} ${SQL_OPS[c.op]} ${sqlLiteral(c.value)}`;
  }
}

/** The port's filter as an SQL predicate; undefined when empty. */
function sqlFilter(filter: PointFilter): string | undefined {
  const terms: string[] = [];
  if (filter.userId !== undefined) terms.push(`user_id = ${sqlString(filter.userId)}`);
  for (const [name, op, ms] of [['sinceMs', '>=', filter.sinceMs], ['untilMs', '<', filter.untilMs]] as const) {
    if (ms === undefined) continue;
    if (!Number.isSafeInteger(ms)) throw new AuraError('CONFIG', `${name} must be an integer epoch ms, got ${ms}`);
    terms.push(`window_end ${op} ${ms.toFixed(0)}`);
  }
  for (const c of filter.where ?? []) terms.push(sqlCondition(c));
  return terms.length > 0 ? terms.join(' AND ') : undefined;
}

function toRow(p: VectorPoint): Row {
  return { id: p.id, vector: p.vector, ...p.payload };
}

function toPayload(row: Row): PointPayload {
  const payload: Record<string, unknown> = {};
  for (const name of COLUMN_NAMES) payload[name] = PAYLOAD_COLUMNS[name].read(row[name]);
  return payload as unknown as PointPayload;
}

export class LanceDbSink implements VectorSink, IndexCatalog {
  readonly kind = 'lancedb' as const;
  /** Absolute database folder. */
  readonly location: string;
  readonly collection: string;
  private connection?: Promise<Connection>;
  private table?: Table;

  constructor(options: LanceDbSinkOptions) {
    if (!TABLE_NAME.test(options.collection)) {
      throw new AuraError('CONFIG', `LanceDB table name "${options.collection}" is invalid: use letters, digits, "_", "-" or "."`);
    }
    this.location = resolve(options.dir);
    this.collection = options.collection;
  }

  async ensureCollection(dimension: number, version?: IndexVersion): Promise<void> {
    requireDimension(dimension);
    if (version) this.checkVersion(version);
    const db = await this.connect();
    const exists = (await this.guard('list tables', () => db.tableNames())).includes(this.collection);
    // With existOk, LanceDB itself rejects an existing table of another schema ("Provided schema
    // does not match"), so an existing one is opened and checked here, with a message naming the fix.
    const table = exists
      ? await this.guard('open table', () => db.openTable(this.collection))
      : await this.guard('create table', () => db.createEmptyTable(this.collection, lanceSchema(dimension), { mode: 'create', existOk: true })).catch(
          // Created by another process meanwhile, possibly with another dimension: check that one.
          (err: unknown) => this.guard('open table', () => db.openTable(this.collection)).catch(() => Promise.reject(err)),
        );
    try {
      await this.checkSchema(table, dimension);
      await this.ensureTextIndex(table);
    } catch (err) {
      table.close();
      throw err;
    }
    this.table?.close();
    this.table = table;
    if (version && !existsSync(this.versionFile(this.collection))) writeAtomically(this.versionFile(this.collection), { ...version });
  }

  get alias(): string {
    return this.collection;
  }

  async aliasTarget(): Promise<string | undefined> {
    const file = this.aliasFile();
    if (!existsSync(file)) return undefined;
    const record = JSON.parse(readFileSync(file, 'utf8')) as { collection?: unknown };
    if (typeof record.collection !== 'string') throw new AuraError('CONFIG', `LanceDB alias record ${file} has no "collection". Fix: run \`aura-stream index promote\` again`);
    return record.collection;
  }

  async hasLegacy(): Promise<boolean> {
    const db = await this.connect();
    return (await this.guard('list tables', () => db.tableNames())).includes(this.collection);
  }

  async collections(): Promise<IndexCollection[]> {
    const db = await this.connect();
    const names = (await this.guard('list tables', () => db.tableNames())).filter((n) => n === this.collection || isVersionOf(this.collection, n)).sort();
    const out: IndexCollection[] = [];
    for (const name of names) {
      const sink = this.open(name);
      try {
        out.push({ collection: name, version: await this.recordedVersion(name), points: await sink.count() });
      } finally {
        await sink.close();
      }
    }
    return out;
  }

  async recordedVersion(collection: string): Promise<IndexVersion | undefined> {
    const file = this.versionFile(collection);
    return existsSync(file) ? readVersion(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
  }

  async setAlias(collection: string): Promise<void> {
    writeAtomically(this.aliasFile(), { collection });
  }

  async drop(collection: string): Promise<void> {
    const db = await this.connect();
    if ((await this.guard('list tables', () => db.tableNames())).includes(collection)) await this.guard('drop table', () => db.dropTable(collection));
    rmSync(this.versionFile(collection), { force: true });
  }

  open(collection: string): LanceDbSink {
    return new LanceDbSink({ dir: this.location, collection });
  }

  private aliasFile(): string {
    return join(this.location, `${this.collection}.alias.json`);
  }

  private versionFile(collection: string): string {
    return join(this.location, `${collection}.version.json`);
  }

  /** A table recorded with another version is refused before anything is written to it. */
  private checkVersion(version: IndexVersion): void {
    const file = this.versionFile(this.collection);
    if (!existsSync(file)) return;
    const recorded = readVersion(JSON.parse(readFileSync(file, 'utf8')));
    if (recorded && sameVersion(recorded, version)) return;
    throw new AuraError(
      'CONFIG',
      `LanceDB table "${this.collection}" in ${this.location} holds ${describeVersion(recorded)}, but this process writes ${describeVersion(version)}. ` +
        'A table never mixes two versions. Fix: check EMBEDDING_MODEL_PATH, or drop that table (`aura-stream index drop`) so it is rebuilt.',
    );
  }

  async upsert(points: VectorPoint[]): Promise<void> {
    if (points.length === 0) return;
    // A merge insert with two source rows for one id would insert both: keep the last one.
    const rows = lastById(points).map(toRow);
    const table = await this.openTable();
    await this.guard('upsert', () => table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows));
  }

  async deleteUser(userId: string, before?: number): Promise<number> {
    if (before !== undefined && !Number.isSafeInteger(before)) throw new AuraError('INTERNAL', `deleteUser: before must be an integer epoch ms, got ${before}`);
    const predicate = `user_id = ${sqlString(userId)}${before === undefined ? '' : ` AND window_end < ${before.toFixed(0)}`}`;
    const table = await this.openTable();
    const count = await this.guard('count before delete', () => table.countRows(predicate));
    if (count > 0) await this.guard('delete', () => table.delete(predicate));
    return count;
  }

  async search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    const mode = searchMode(options);
    if (options.limit <= 0) return [];
    const table = await this.openTable();
    const where = sqlFilter(options);
    if (mode === 'dense') return this.denseSearch(table, vector, where, options.limit);
    if (mode === 'sparse') return this.textSearch(table, options.text!, where, options.limit);
    const candidates = prefetchLimit(options.limit);
    const [dense, words] = await Promise.all([this.denseSearch(table, vector, where, candidates), this.textSearch(table, options.text!, where, candidates)]);
    return rrfFuse([dense, words], options.limit);
  }

  private async denseSearch(table: Table, vector: Float32Array, where: string | undefined, limit: number): Promise<SearchHit[]> {
    let query = table.vectorSearch(vector).distanceType('cosine').limit(limit);
    // LanceDB prefilters by default: the filter picks the candidates, then the nearest are taken.
    if (where !== undefined) query = query.where(where);
    const rows = (await this.guard('search', () => query.toArray())) as Row[];
    return rows
      .map((r) => ({ id: String(r.id), score: 1 - Number(r._distance), payload: toPayload(r) }))
      .sort(byScore);
  }

  async find(options: PointFilter & { orderBy: OrderBy; limit: number }): Promise<Array<{ id: string; payload: PointPayload }>> {
    if (options.limit <= 0) return [];
    const { field, direction } = options.orderBy;
    const col = sqlColumn(field);
    const table = await this.openTable();
    const where = [sqlFilter(options), `${col} IS NOT NULL`].filter((t) => t !== undefined).join(' AND ');
    // Two reads: the ordered field of every match (two narrow columns), then the full rows of the
    // `limit` first only; LanceDB's query API has no ORDER BY.
    const [head, key] = fieldPath(field);
    const keys = (await this.guard('find keys', () => table.query().where(where).select(['id', head]).toArray())) as Row[];
    const value = (r: Row): number => Number(key === undefined ? r[head] : (plain(r[head]) as Record<string, unknown>)[key]);
    const sign = direction === 'asc' ? 1 : -1;
    const top = keys
      .map((r) => ({ id: String(r.id), v: value(r) }))
      .sort((a, b) => sign * (a.v - b.v) || byId(a, b))
      .slice(0, options.limit);
    if (top.length === 0) return [];
    const rows = (await this.guard('find rows', () => table.query().where(`id IN (${top.map((t) => sqlString(t.id)).join(', ')})`).toArray())) as Row[];
    const byKey = new Map(rows.map((r) => [String(r.id), r]));
    return top.flatMap((t) => {
      const r = byKey.get(t.id);
      return r ? [{ id: t.id, payload: toPayload(r) }] : [];
    });
  }

  /** BM25 over the full-text index, the filter applied before the limit; score = `_score`. */
  private async textSearch(table: Table, text: string, where: string | undefined, limit: number): Promise<SearchHit[]> {
    if (!(await this.guard('list indices', () => table.listIndices())).some((i) => i.name === FTS_INDEX)) {
      throw new AuraError(
        'CONFIG',
        `LanceDB table "${this.collection}" in ${this.location} has no full-text index on its text (it was made before hybrid retrieval), so a words search cannot run there. ` +
          'Fix: search with RETRIEVAL_MODE=dense, or start the vectorize stage on this STATE_DIR once (it adds the index).',
      );
    }
    let query = table.query().fullTextSearch(text, { columns: 'text' }).limit(limit);
    if (where !== undefined) query = query.where(where);
    const rows = (await this.guard('text search', () => query.toArray())) as Row[];
    return rows.map((r) => ({ id: String(r.id), score: Number(r._score), payload: toPayload(r) })).sort(byScore);
  }

  async scroll(options: PointFilter = {}): Promise<StoredPoint[]> {
    const table = await this.openTable();
    let query = table.query();
    const where = sqlFilter(options);
    if (where !== undefined) query = query.where(where);
    const rows = (await this.guard('scroll', () => query.toArray())) as Row[];
    return rows
      .map((r) => ({ id: String(r.id), payload: toPayload(r), vector: Float32Array.from(r.vector as Iterable<number>) }))
      .sort(byId);
  }

  async count(): Promise<number> {
    const table = await this.openTable();
    return this.guard('count', () => table.countRows());
  }

  async deleteIds(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const table = await this.openTable();
    await this.guard('delete points', () => table.delete(`id IN (${ids.map(sqlString).join(', ')})`));
  }

  async existing(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const table = await this.openTable();
    const rows = (await this.guard('select ids', () => table.query().where(`id IN (${ids.map(sqlString).join(', ')})`).select(['id']).toArray())) as Row[];
    return rows.map((r) => String(r.id));
  }

  async ping(): Promise<void> {
    const db = await this.connect();
    await this.guard('ping', () => db.tableNames());
  }

  async close(): Promise<void> {
    this.table?.close();
    this.table = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) (await connection).close();
  }

  private connect(): Promise<Connection> {
    // readConsistencyInterval 0: every read sees the latest commit, also one made by another process
    // (the stage writing while an oracle or the CLI reads); the default never re-checks.
    this.connection ??= this.guard('connect', () => connect(this.location, { readConsistencyInterval: 0 })).catch((err: unknown) => {
      this.connection = undefined;
      throw err;
    });
    return this.connection;
  }

  /** The table, opened on first use when ensureCollection was not called in this process. */
  private async openTable(): Promise<Table> {
    if (this.table) return this.table;
    const db = await this.connect();
    const names = await this.guard('list tables', () => db.tableNames());
    // An alias resolves wherever a table name is accepted (as in Qdrant), once per handle: a
    // handle keeps reading the version it opened, so one search never mixes two versions. The
    // alias record wins over a legacy table of the same name (kept until dropped after promote).
    const aliased = await this.aliasTarget();
    if (aliased !== undefined && names.includes(aliased)) {
      this.table = await this.guard('open table', () => db.openTable(aliased));
      return this.table;
    }
    if (!names.includes(this.collection)) {
      throw new AuraError(
        'CONFIG',
        `LanceDB table "${this.collection}" does not exist in ${this.location}. Fix: run the vectorize stage (or \`aura-stream demo\`) on this STATE_DIR first, which creates it, or point STATE_DIR at the folder that holds the index.`,
      );
    }
    this.table = await this.guard('open table', () => db.openTable(this.collection));
    return this.table;
  }

  /** Creates the full-text index on `text` when missing (a table of an older aura-stream gets it on start). */
  private async ensureTextIndex(table: Table): Promise<void> {
    const indices = await this.guard('list indices', () => table.listIndices());
    if (indices.some((i) => i.name === FTS_INDEX)) return;
    await this.guard('create text index', () =>
      table.createIndex('text', { name: FTS_INDEX, replace: false, config: Index.fts({ stem: true, language: 'English', removeStopWords: false, lowercase: true, asciiFolding: true }) }),
    ).catch(async (err: unknown) => {
      // Another process created it meanwhile.
      if ((await this.guard('list indices', () => table.listIndices())).some((i) => i.name === FTS_INDEX)) return;
      throw err;
    });
  }

  private async checkSchema(table: Table, dimension: number): Promise<void> {
    const schema = await this.guard('read schema', () => table.schema());
    const where = `LanceDB table "${this.collection}" in ${this.location}`;
    const vector = schema.fields.find((f) => f.name === 'vector');
    // By type id, not instanceof: the schema may come from another apache-arrow instance.
    const found = vector && DataType.isFixedSizeList(vector.type) ? (vector.type as FixedSizeList).listSize : undefined;
    if (found !== dimension) throw dimensionMismatch(where, found, dimension, resolve(this.location, `${this.collection}.lance`));
    const names = new Set(schema.fields.map((f) => f.name));
    const missing = ['id', ...COLUMN_NAMES].filter((n) => !names.has(n));
    if (missing.length > 0) {
      throw new AuraError(
        'CONFIG',
        `${where} lacks the columns ${missing.join(', ')} (written by an older aura-stream). Fix: configure another collection name or delete ${resolve(this.location, `${this.collection}.lance`)}; it is recreated on start and refilled as snapshots arrive.`,
      );
    }
  }

  private guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return guarded(fn, (err) => {
      const message = err instanceof Error ? err.message : String(err);
      // Lance retries commit conflicts itself; one that still fails is worth another attempt later.
      const transient = /commit conflict|too many concurrent writers/i.test(message);
      return new AuraError(transient ? 'STORE_UNAVAILABLE' : 'INTERNAL', `${storeWhere('LanceDB', op, this.collection, this.location)} failed: ${message}`, { cause: err });
    });
  }
}

/** Writes `value` as JSON to `file` through a temporary file and rename(2): readers never see a partial file. */
function writeAtomically(file: string, value: unknown): void {
  mkdirSync(resolve(file, '..'), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`);
  renameSync(tmp, file);
}
