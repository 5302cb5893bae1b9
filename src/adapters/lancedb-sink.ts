import { resolve } from 'node:path';
import { connect, type Connection, type Table } from '@lancedb/lancedb';
import { DataType, Field, FixedSizeList, Float32, Int32, Int64, Schema, Utf8 } from 'apache-arrow';
import { AuraError } from '../errors.js';
import type { PointPayload, SearchHit, VectorPoint, VectorSink } from '../ports.js';

/**
 * VectorSink on an embedded LanceDB (@lancedb/lancedb 0.31): the default when QDRANT_URL is unset.
 * One table per collection in a local folder; one row per point, the payload flattened to columns:
 *
 *   id utf8 (point UUID, merge key) | vector fixed_size_list<float32>[dim] | user_id utf8 | day utf8
 *   | window_end int64 | window_start int64 | snapshot_id utf8 | trigger_event_id utf8
 *   | event_count int32 | text utf8 | snapshot utf8 (JSON of PointPayload.snapshot) | model_id utf8
 *   | model_version utf8 | snapshot_topic utf8 | snapshot_partition int32 | snapshot_offset int64
 *   | event_partition int32 | event_offset int64
 *
 * Upserts are merge inserts on `id`; search is an exact (unindexed) cosine search with
 * score = 1 - cosine distance, the same scale as Qdrant's Cosine score.
 */

export interface LanceDbSinkOptions {
  /** Database folder (created when missing); relative to the working directory. */
  dir: string;
  /** Table name: letters, digits, `_`, `-`, `.`. */
  collection: string;
}

type Row = Record<string, unknown>;

const TABLE_NAME = /^[A-Za-z0-9_.-]+$/;

const PAYLOAD_COLUMNS: Array<[name: keyof PointPayload, type: () => DataType]> = [
  ['user_id', () => new Utf8()],
  ['day', () => new Utf8()],
  ['window_end', () => new Int64()],
  ['window_start', () => new Int64()],
  ['snapshot_id', () => new Utf8()],
  ['trigger_event_id', () => new Utf8()],
  ['event_count', () => new Int32()],
  ['text', () => new Utf8()],
  ['snapshot', () => new Utf8()],
  ['model_id', () => new Utf8()],
  ['model_version', () => new Utf8()],
  ['snapshot_topic', () => new Utf8()],
  ['snapshot_partition', () => new Int32()],
  ['snapshot_offset', () => new Int64()],
  ['event_partition', () => new Int32()],
  ['event_offset', () => new Int64()],
];

export function lanceSchema(dimension: number): Schema {
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('vector', new FixedSizeList(dimension, new Field('item', new Float32(), true)), false),
    ...PAYLOAD_COLUMNS.map(([name, type]) => new Field(name, type(), false)),
  ]);
}

/** An SQL string literal for a LanceDB (DataFusion) filter: single quotes doubled, nothing else special. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function toRow(p: VectorPoint): Row {
  return { id: p.id, vector: p.vector, ...p.payload, snapshot: JSON.stringify(p.payload.snapshot) };
}

function toPayload(row: Row): PointPayload {
  const num = (k: string): number => Number(row[k]);
  const str = (k: string): string => String(row[k]);
  return {
    user_id: str('user_id'),
    day: str('day'),
    window_end: num('window_end'),
    window_start: num('window_start'),
    snapshot_id: str('snapshot_id'),
    trigger_event_id: str('trigger_event_id'),
    event_count: num('event_count'),
    text: str('text'),
    snapshot: JSON.parse(str('snapshot')) as Record<string, unknown>,
    model_id: str('model_id'),
    model_version: str('model_version'),
    snapshot_topic: str('snapshot_topic'),
    snapshot_partition: num('snapshot_partition'),
    snapshot_offset: num('snapshot_offset'),
    event_partition: num('event_partition'),
    event_offset: num('event_offset'),
  };
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class LanceDbSink implements VectorSink {
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

  async ensureCollection(dimension: number): Promise<void> {
    if (!Number.isInteger(dimension) || dimension < 1) {
      throw new AuraError('CONFIG', `vector dimension must be a positive integer, got ${dimension}`);
    }
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
    } catch (err) {
      table.close();
      throw err;
    }
    this.table?.close();
    this.table = table;
  }

  async upsert(points: VectorPoint[]): Promise<void> {
    if (points.length === 0) return;
    // A merge insert with two source rows for one id would insert both: keep the last one.
    const rows = [...new Map(points.map((p) => [p.id, p])).values()].map(toRow);
    const table = await this.openTable();
    await this.guard('upsert', () => table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows));
  }

  async search(vector: Float32Array, options: { userId?: string; limit: number }): Promise<SearchHit[]> {
    if (options.limit <= 0) return [];
    const table = await this.openTable();
    let query = table.vectorSearch(vector).distanceType('cosine').limit(options.limit);
    if (options.userId !== undefined) query = query.where(`user_id = ${sqlString(options.userId)}`);
    const rows = (await this.guard('search', () => query.toArray())) as Row[];
    return rows
      .map((r) => ({ id: String(r.id), score: 1 - Number(r._distance), payload: toPayload(r) }))
      .sort((a, b) => b.score - a.score || byId(a, b));
  }

  async scroll(options: { userId?: string } = {}): Promise<Array<{ id: string; payload: PointPayload; vector?: Float32Array }>> {
    const table = await this.openTable();
    let query = table.query();
    if (options.userId !== undefined) query = query.where(`user_id = ${sqlString(options.userId)}`);
    const rows = (await this.guard('scroll', () => query.toArray())) as Row[];
    return rows
      .map((r) => ({ id: String(r.id), payload: toPayload(r), vector: Float32Array.from(r.vector as Iterable<number>) }))
      .sort(byId);
  }

  async count(): Promise<number> {
    const table = await this.openTable();
    return this.guard('count', () => table.countRows());
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
    if (!names.includes(this.collection)) {
      throw new AuraError('CONFIG', `LanceDB table "${this.collection}" does not exist in ${this.location}; ensureCollection creates it on start`);
    }
    this.table = await this.guard('open table', () => db.openTable(this.collection));
    return this.table;
  }

  private async checkSchema(table: Table, dimension: number): Promise<void> {
    const schema = await this.guard('read schema', () => table.schema());
    const where = `LanceDB table "${this.collection}" in ${this.location}`;
    const vector = schema.fields.find((f) => f.name === 'vector');
    // By type id, not instanceof: the schema may come from another apache-arrow instance.
    const found = vector && DataType.isFixedSizeList(vector.type) ? (vector.type as FixedSizeList).listSize : undefined;
    if (found !== dimension) {
      throw new AuraError(
        'CONFIG',
        `${where} holds vectors of size ${found ?? 'unknown'}, but the embedding model produces ${dimension}. ` +
          `Fix: configure another collection name, or delete ${resolve(this.location, `${this.collection}.lance`)} so it is recreated ` +
          `(its points were made by another model and must be re-embedded anyway).`,
      );
    }
    const names = new Set(schema.fields.map((f) => f.name));
    const missing = ['id', ...PAYLOAD_COLUMNS.map(([name]) => name)].filter((n) => !names.has(n));
    if (missing.length > 0) {
      throw new AuraError('CONFIG', `${where} lacks the columns ${missing.join(', ')}. Fix: configure another collection name or delete the table folder.`);
    }
  }

  private async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AuraError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const where = `LanceDB ${op} on "${this.collection}" in ${this.location}`;
      // Lance retries commit conflicts itself; one that still fails is worth another attempt later.
      const transient = /commit conflict|too many concurrent writers/i.test(message);
      throw new AuraError(transient ? 'STORE_UNAVAILABLE' : 'INTERNAL', `${where} failed: ${message}`, { cause: err });
    }
  }
}
