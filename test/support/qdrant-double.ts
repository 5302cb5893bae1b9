import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * A Qdrant 1.19 REST test double: an HTTP server implementing the endpoints QdrantSink and
 * @qdrant/js-client-rest use, with every request body, query string and response validated against
 * Qdrant's official OpenAPI document, vendored in `test/fixtures/qdrant/openapi-v1.19.json`.
 *
 * Contract:
 * - A request that fails the document's schema → 400 `{ status: { error }, time }` naming the
 *   failing paths; a response that fails it is a bug of the double → 500, logged to stderr and
 *   recorded in `responseViolations` (tests assert it stays empty).
 * - Semantics the adapter relies on: point ids are unsigned integers or UUIDs; vectors have the
 *   collection's size; unknown collection → 404; `must`/`must_not`/`should` filters with
 *   `match: { value | any }`, `range`, `has_id` and nested filters; cosine scoring on normalised
 *   vectors (stored normalised, as Qdrant does); `wait=true` → status `completed`, else
 *   `acknowledged`; 409 when creating an existing collection; collection metadata; collection
 *   aliases (list, atomic change of several actions, resolved wherever a collection name is
 *   accepted, dropped with their collection).
 * - Features the double does not emulate (named vectors, batch upserts, prefetch, ordering...) →
 *   501, never a silent approximation.
 * - Fault injection: `setUnavailable(true)` destroys every socket (open ones and new ones), as a
 *   down server would look to a client; mode '503' answers 503 instead. `setDelayMs(n)` delays
 *   every response by n ms.
 * - With `upstream` (test/support/qdrant-engine.ts: Qdrant's own engine behind a shim) the same
 *   server is a validating proxy instead: every operation of the document is routed, a request
 *   that validates is forwarded as sent, and the upstream's answer is validated like the double's
 *   own; recording, API key, prefix, TLS and fault injection work the same. `collections` stays
 *   empty then (the data lives in the engine).
 */

export const QDRANT_OPENAPI_RELATIVE_PATH = 'test/fixtures/qdrant/openapi-v1.19.json';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOC_ID = 'https://aura-stream.test/qdrant-openapi-v1.19.json';

export interface QdrantDoubleOptions {
  /** OpenAPI document; default `test/fixtures/qdrant/openapi-v1.19.json` in the repository. */
  openApiPath?: string;
  /** Version reported by `GET /`; default `1.19.0`. */
  version?: string;
  /** When set, every request must carry this `api-key` header (else 401); default: no auth. */
  apiKey?: string;
  /** Serve under this path prefix, as behind a reverse proxy (e.g. `/qdrant`); default: none. */
  prefix?: string;
  /** Serve HTTPS with this certificate and key (PEM); `url` is then https://127.0.0.1:<port>. Default: HTTP. */
  tls?: { cert: string; key: string };
  /** Base URL of a Qdrant REST server to forward valid requests to (proxy mode); default: none (the double answers). */
  upstream?: string;
}

export interface DoublePoint {
  /** As the client sent it: unsigned integer or lower-case hyphenated UUID. */
  id: number | string;
  /** Stored as Qdrant stores it: normalised for Cosine collections, float32-rounded. */
  vector: number[];
  payload: Record<string, unknown>;
  /** Operation number of the last write. */
  version: number;
}

export interface DoubleCollection {
  name: string;
  size: number;
  distance: 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';
  /** Keyed by canonical id (see `canonicalId`). */
  points: Map<string, DoublePoint>;
  /** Payload field → index type (`keyword`, `integer`, ...). */
  payloadIndexes: Map<string, string>;
  /** Collection metadata (`metadata` of the create request); null when none. */
  metadata: Record<string, unknown> | null;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body; undefined when empty. */
  body: unknown;
  /** OpenAPI operationId of the route; undefined when no route matched. */
  operationId?: string;
  /** Status sent; undefined while in flight or when the connection was dropped. */
  status?: number;
}

export interface ResponseViolation {
  operationId: string;
  status: number;
  errors: string;
  body: unknown;
}

export interface QdrantDouble {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Responses the double built that its own OpenAPI document rejects (must stay empty). */
  responseViolations: ResponseViolation[];
  collections: Map<string, DoubleCollection>;
  /** Alias name → collection name. */
  aliases: Map<string, string>;
  /** `reset` (default) drops connections like a dead server; `503` answers Service Unavailable. */
  setUnavailable(down: boolean, mode?: 'reset' | '503'): void;
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

/** What tests see of a Qdrant server behind the validating front: the double, or Qdrant's engine (qdrant-engine.ts). */
export type QdrantServer = Omit<QdrantDouble, 'collections' | 'aliases'>;

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 → JSON Schema (draft-07) for ajv

/**
 * OpenAPI 3.0 `nullable` is not JSON Schema: `{ type: T, nullable: true }` becomes
 * `{ type: [T, 'null'] }` (null added to an `enum`), and the bare `{ nullable: true }` branch that
 * Qdrant's generator emits inside `anyOf` becomes `{ type: 'null' }`. `example` values are kept as
 * they are (they are data, not schemas).
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    out[key] = key === 'example' || key === 'examples' ? value : toJsonSchema(value);
  }
  if (typeof out.nullable === 'boolean') {
    const nullable = out.nullable;
    delete out.nullable;
    if (nullable) {
      if (out.type === undefined) {
        out.type = 'null';
      } else {
        out.type = Array.isArray(out.type) ? [...(out.type as unknown[]), 'null'] : [out.type, 'null'];
        if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
      }
    }
  }
  return out;
}

const U64_MAX = 18446744073709551615;
const F32_MAX = 3.4028234663852886e38;

/** Qdrant's numeric formats (Rust types). JSON numbers above 2^53 are already rounded by JSON.parse. */
const NUMERIC_FORMATS: Record<string, (n: number) => boolean> = {
  uint8: (n) => Number.isInteger(n) && n >= 0 && n <= 255,
  uint16: (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
  uint32: (n) => Number.isInteger(n) && n >= 0 && n <= 4294967295,
  uint64: (n) => Number.isInteger(n) && n >= 0 && n <= U64_MAX,
  /** usize on 64-bit targets. */
  uint: (n) => Number.isInteger(n) && n >= 0 && n <= U64_MAX,
  int32: (n) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647,
  int64: (n) => Number.isInteger(n) && n >= -9223372036854775808 && n <= 9223372036854775807,
  float: (n) => Number.isFinite(n) && Math.abs(n) <= F32_MAX,
  double: (n) => Number.isFinite(n),
};

/** The subset of RFC 3339 Qdrant accepts for datetime payload ranges (offset optional). */
const PARTIAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

function collectFormats(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => collectFormats(n, into));
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'format' && typeof value === 'string') into.add(value);
      else if (key !== 'example') collectFormats(value, into);
    }
  }
  return into;
}

interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
}
interface OpenApiOperation {
  operationId: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

function loadDocument(path: string): OpenApiDoc {
  if (!existsSync(path)) {
    throw new Error(
      `Qdrant OpenAPI document not found at ${path}. The Qdrant test double validates every request and ` +
        `response against it: restore ${QDRANT_OPENAPI_RELATIVE_PATH} (vendored in the repository, ` +
        `see test/fixtures/qdrant/README.md) or pass { openApiPath }.`,
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as OpenApiDoc;
}

function pointer(...segments: string[]): string {
  return '#/' + segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

interface OperationValidators {
  operationId: string;
  body?: ValidateFunction;
  query: ValidateFunction;
  /** Keyed by the document's response keys: `200`, `4XX`, `default`. */
  responses: Map<string, ValidateFunction>;
}

class SchemaBook {
  private readonly strictAjv: Ajv;
  private readonly queryAjv: Ajv;
  private readonly doc: OpenApiDoc;

  constructor(path: string) {
    this.doc = loadDocument(path);
    const schema = { ...(toJsonSchema(this.doc) as Record<string, unknown>), $id: DOC_ID };
    const formats = collectFormats(this.doc, new Set());
    // Query strings arrive as text: a second instance coerces them (`wait=true` → true) before validation.
    this.strictAjv = this.makeAjv(schema, formats, false);
    this.queryAjv = this.makeAjv(schema, formats, true);
  }

  private makeAjv(schema: Record<string, unknown>, formats: Set<string>, coerce: boolean): Ajv {
    const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true, coerceTypes: coerce });
    addFormats.default(ajv);
    for (const [name, check] of Object.entries(NUMERIC_FORMATS)) ajv.addFormat(name, { type: 'number', validate: check });
    ajv.addFormat('partial-date-time', PARTIAL_DATE_TIME);
    // OpenAPI annotation and document-level keywords: not validation keywords, so declare them.
    ajv.addKeyword('example');
    ajv.addVocabulary(['openapi', 'info', 'servers', 'paths', 'components', 'security', 'tags', 'externalDocs']);
    for (const format of formats) {
      if (!ajv.formats[format]) throw new Error(`the Qdrant OpenAPI document uses format "${format}" the double does not define`);
    }
    ajv.addSchema(schema);
    return ajv;
  }

  operation(path: string, method: string): OperationValidators {
    const op = this.doc.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`the Qdrant OpenAPI document has no ${method} ${path}: the double must not invent endpoints`);
    const base = ['paths', path, method.toLowerCase()];
    const bodySchema = op.requestBody?.content?.['application/json']?.schema;
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    (op.parameters ?? []).forEach((p, i) => {
      if (p.in !== 'query') return;
      properties[p.name] = { $ref: DOC_ID + pointer(...base, 'parameters', String(i), 'schema') };
      if (p.required) required.push(p.name);
    });
    const responses = new Map<string, ValidateFunction>();
    for (const [status, response] of Object.entries(op.responses)) {
      if (response.content?.['application/json']?.schema === undefined) continue;
      responses.set(
        status,
        this.strictAjv.compile({ $ref: DOC_ID + pointer(...base, 'responses', status, 'content', 'application/json', 'schema') }),
      );
    }
    return {
      operationId: op.operationId,
      body: bodySchema === undefined ? undefined : this.strictAjv.compile({ $ref: DOC_ID + pointer(...base, 'requestBody', 'content', 'application/json', 'schema') }),
      query: this.queryAjv.compile({ type: 'object', properties, required, additionalProperties: false }),
      responses,
    };
  }

  /** Every (path template, method) of the document. */
  operations(): Array<{ path: string; method: string }> {
    return Object.entries(this.doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => ['get', 'put', 'post', 'patch', 'delete'].includes(m)).map((m) => ({ path, method: m.toUpperCase() })));
  }

  errorsText(validate: ValidateFunction, dataVar: string): string {
    return this.strictAjv.errorsText(validate.errors, { dataVar, separator: '; ' });
  }
}

// ---------------------------------------------------------------------------------------------
// Store semantics

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UUID_RE = /^(?:urn:uuid:)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** Canonical key of a point id: `n:<integer>` or `u:<lower-case uuid>`; throws 400 for anything else. */
export function canonicalId(id: unknown): string {
  if (typeof id === 'number') {
    if (!Number.isInteger(id) || id < 0) throw new HttpError(400, `Wrong input: Unable to parse point id ${JSON.stringify(id)}: expected an unsigned integer or a UUID`);
    if (!Number.isSafeInteger(id)) throw new HttpError(501, `the double cannot represent integer point ids above 2^53 (${id})`);
    return `n:${id}`;
  }
  if (typeof id === 'string') {
    const m = UUID_RE.exec(id);
    if (m?.[1]) return `u:${m[1].toLowerCase()}`;
  }
  throw new HttpError(400, `Wrong input: Unable to parse point id ${JSON.stringify(id)}: expected an unsigned integer or a UUID`);
}

function idOfKey(key: string): number | string {
  return key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2);
}

/** Qdrant's id order: integers ascending, then UUIDs by their 128-bit value (= lower-case hex order). */
function compareKeys(a: string, b: string): number {
  const an = a.startsWith('n:');
  const bn = b.startsWith('n:');
  if (an && bn) return Number(a.slice(2)) - Number(b.slice(2));
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function asArray<T>(value: T | T[] | null | undefined): T[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Values at a dotted payload path, arrays flattened (Qdrant matches any element of an array). */
function valuesAt(payload: Record<string, unknown>, key: string): unknown[] {
  let current: unknown[] = [payload];
  for (const part of key.split('.')) {
    current = current.flatMap((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? asArray((v as Record<string, unknown>)[part]) : []));
  }
  return current.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

type Json = Record<string, unknown>;

function matchesCondition(cond: Json, key: string, payload: Json): boolean {
  if ('key' in cond) {
    const values = valuesAt(payload, String(cond.key));
    let ok = true;
    let understood = false;
    const match = cond.match as Json | null | undefined;
    if (match) {
      understood = true;
      if ('value' in match) ok &&= values.some((v) => v === match.value);
      else if ('any' in match) ok &&= values.some((v) => (match.any as unknown[]).includes(v));
      else throw new HttpError(501, `the double does not emulate match ${JSON.stringify(match)}`);
    }
    const range = cond.range as Json | null | undefined;
    if (range) {
      understood = true;
      const nums = values.filter((v): v is number => typeof v === 'number');
      const inRange = (v: number): boolean =>
        (typeof range.gt !== 'number' || v > range.gt) &&
        (typeof range.gte !== 'number' || v >= range.gte) &&
        (typeof range.lt !== 'number' || v < range.lt) &&
        (typeof range.lte !== 'number' || v <= range.lte);
      ok &&= nums.some(inRange);
    }
    if (!understood) throw new HttpError(501, `the double does not emulate condition ${JSON.stringify(cond)}`);
    return ok;
  }
  if ('has_id' in cond) return (cond.has_id as unknown[]).some((id) => canonicalId(id) === key);
  if ('must' in cond || 'should' in cond || 'must_not' in cond || 'min_should' in cond) return matchesFilter(cond, key, payload);
  throw new HttpError(501, `the double does not emulate condition ${JSON.stringify(cond)}`);
}

function matchesFilter(filter: Json | null | undefined, key: string, payload: Json): boolean {
  if (!filter) return true;
  if (filter.min_should !== undefined && filter.min_should !== null) throw new HttpError(501, 'the double does not emulate min_should');
  const must = asArray(filter.must as Json | Json[] | null);
  const mustNot = asArray(filter.must_not as Json | Json[] | null);
  const should = asArray(filter.should as Json | Json[] | null);
  return (
    must.every((c) => matchesCondition(c, key, payload)) &&
    !mustNot.some((c) => matchesCondition(c, key, payload)) &&
    (should.length === 0 || should.some((c) => matchesCondition(c, key, payload)))
  );
}

function denseVector(value: unknown, what: string): number[] {
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value as number[];
  throw new HttpError(501, `the double only emulates a single unnamed dense vector; got ${what} ${JSON.stringify(value)?.slice(0, 80)}`);
}

function checkDimension(collection: DoubleCollection, vector: number[]): void {
  if (vector.length !== collection.size) {
    throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${collection.size}, got ${vector.length}`);
  }
}

function normalise(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0));
  return norm === 0 ? vector.map(Math.fround) : vector.map((v) => Math.fround(v / norm));
}

function score(collection: DoubleCollection, query: number[], stored: number[]): number {
  switch (collection.distance) {
    case 'Cosine': {
      const q = normalise(query);
      return Math.fround(q.reduce((s, v, i) => s + v * (stored[i] ?? 0), 0));
    }
    case 'Dot':
      return Math.fround(query.reduce((s, v, i) => s + v * (stored[i] ?? 0), 0));
    default:
      throw new HttpError(501, `the double does not emulate ${collection.distance} distance`);
  }
}

function selectPayload(payload: Json, selector: unknown): Json | undefined {
  if (selector === false || selector === null || selector === undefined) return undefined;
  if (selector === true) return payload;
  if (Array.isArray(selector)) return Object.fromEntries(Object.entries(payload).filter(([k]) => selector.includes(k)));
  const s = selector as { include?: string[]; exclude?: string[] };
  if (s.include) return Object.fromEntries(Object.entries(payload).filter(([k]) => s.include?.includes(k)));
  if (s.exclude) return Object.fromEntries(Object.entries(payload).filter(([k]) => !s.exclude?.includes(k)));
  throw new HttpError(501, `the double does not emulate with_payload ${JSON.stringify(selector)}`);
}

function withVector(point: DoublePoint, selector: unknown): number[] | undefined {
  if (selector === true) return point.vector;
  if (selector === false || selector === null || selector === undefined) return undefined;
  throw new HttpError(501, `the double does not emulate with_vector ${JSON.stringify(selector)}`);
}

function notNull(body: Json, ...fields: string[]): void {
  for (const f of fields) {
    if (body[f] !== undefined && body[f] !== null) throw new HttpError(501, `the double does not emulate "${f}"`);
  }
}

// ---------------------------------------------------------------------------------------------
// Routes

interface Ctx {
  params: Record<string, string>;
  query: Json;
  body: Json;
  state: State;
}

interface State {
  collections: Map<string, DoubleCollection>;
  /** Alias name → collection name. */
  aliases: Map<string, string>;
  version: string;
  operation: number;
}

interface Route {
  method: string;
  path: string;
  /** The response body is the result itself, without Qdrant's `{ status, result, time }` envelope (`GET /`). */
  bare?: boolean;
  handle(ctx: Ctx): unknown;
}

function collectionOf(ctx: Ctx): DoubleCollection {
  const given = ctx.params.collection_name ?? '';
  // Qdrant resolves an alias wherever a collection name is accepted.
  const name = ctx.state.aliases.get(given) ?? given;
  const collection = ctx.state.collections.get(name);
  if (!collection) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
  return collection;
}

function updateResult(ctx: Ctx): Json {
  ctx.state.operation += 1;
  return { operation_id: ctx.state.operation, status: ctx.query.wait === true ? 'completed' : 'acknowledged' };
}

function collectionInfo(c: DoubleCollection): Json {
  const payloadSchema: Json = {};
  for (const [field, type] of c.payloadIndexes) {
    const points = [...c.points.values()].filter((p) => valuesAt(p.payload, field).length > 0).length;
    payloadSchema[field] = { data_type: type, points };
  }
  return {
    status: 'green',
    optimizer_status: 'ok',
    indexed_vectors_count: 0,
    points_count: c.points.size,
    segments_count: 1,
    config: {
      params: { vectors: { size: c.size, distance: c.distance }, shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: true },
      hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
      optimizer_config: {
        deleted_threshold: 0.2,
        vacuum_min_vector_number: 1000,
        default_segment_number: 0,
        max_segment_size: null,
        memmap_threshold: null,
        indexing_threshold: 10000,
        flush_interval_sec: 5,
        max_optimization_threads: null,
      },
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      quantization_config: null,
      ...(c.metadata !== null && { metadata: c.metadata }),
    },
    payload_schema: payloadSchema,
  };
}

function filtered(c: DoubleCollection, filter: unknown): Array<[string, DoublePoint]> {
  return [...c.points.entries()].filter(([key, p]) => matchesFilter(filter as Json | null | undefined, key, p.payload)).sort(([a], [b]) => compareKeys(a, b));
}

const ROUTES: Route[] = [
  {
    method: 'GET',
    path: '/',
    bare: true,
    handle: (ctx) => ({ title: 'qdrant - vector search engine', version: ctx.state.version, commit: null }),
  },
  {
    method: 'GET',
    path: '/collections/{collection_name}',
    handle: (ctx) => collectionInfo(collectionOf(ctx)),
  },
  {
    method: 'GET',
    path: '/collections/{collection_name}/exists',
    handle: (ctx) => ({ exists: ctx.state.collections.has(ctx.params.collection_name ?? '') }),
  },
  {
    method: 'PUT',
    path: '/collections/{collection_name}',
    handle: (ctx) => {
      const name = ctx.params.collection_name ?? '';
      if (ctx.state.collections.has(name)) throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
      notNull(ctx.body, 'sparse_vectors', 'sharding_method', 'quantization_config');
      if (ctx.state.aliases.has(name)) throw new HttpError(409, `Wrong input: Alias with name \`${name}\` already exists!`);
      const vectors = ctx.body.vectors as Json | undefined;
      if (!vectors || typeof vectors.size !== 'number' || typeof vectors.distance !== 'string') {
        throw new HttpError(501, 'the double only emulates collections with one unnamed vector ({ vectors: { size, distance } })');
      }
      ctx.state.collections.set(name, {
        name,
        size: vectors.size,
        distance: vectors.distance as DoubleCollection['distance'],
        points: new Map(),
        payloadIndexes: new Map(),
        metadata: (ctx.body.metadata as Record<string, unknown> | null | undefined) ?? null,
      });
      return true;
    },
  },
  {
    method: 'GET',
    path: '/collections',
    handle: (ctx) => ({ collections: [...ctx.state.collections.keys()].sort().map((name) => ({ name })) }),
  },
  {
    method: 'DELETE',
    path: '/collections/{collection_name}',
    handle: (ctx) => {
      const name = ctx.params.collection_name ?? '';
      const existed = ctx.state.collections.delete(name);
      // Qdrant drops the aliases of a deleted collection with it.
      for (const [alias, target] of ctx.state.aliases) if (target === name) ctx.state.aliases.delete(alias);
      return existed;
    },
  },
  {
    method: 'GET',
    path: '/aliases',
    handle: (ctx) => ({ aliases: [...ctx.state.aliases].map(([alias_name, collection_name]) => ({ alias_name, collection_name })) }),
  },
  {
    method: 'GET',
    path: '/collections/{collection_name}/aliases',
    handle: (ctx) => {
      const name = collectionOf(ctx).name;
      return { aliases: [...ctx.state.aliases].filter(([, c]) => c === name).map(([alias_name, collection_name]) => ({ alias_name, collection_name })) };
    },
  },
  {
    method: 'POST',
    path: '/collections/aliases',
    handle: (ctx) => {
      // All actions apply or none (Qdrant: "alias changes are atomic"): applied to a copy first.
      const next = new Map(ctx.state.aliases);
      for (const action of ctx.body.actions as Json[]) {
        if ('create_alias' in action) {
          const { collection_name, alias_name } = action.create_alias as { collection_name: string; alias_name: string };
          if (!ctx.state.collections.has(collection_name)) throw new HttpError(404, `Not found: Collection \`${collection_name}\` doesn't exist!`);
          if (ctx.state.collections.has(alias_name)) throw new HttpError(409, `Wrong input: Collection with name \`${alias_name}\` already exists!`);
          next.set(alias_name, collection_name);
        } else if ('delete_alias' in action) {
          const { alias_name } = action.delete_alias as { alias_name: string };
          if (!next.delete(alias_name)) throw new HttpError(404, `Not found: Alias \`${alias_name}\` doesn't exist!`);
        } else {
          throw new HttpError(501, `the double does not emulate alias action ${JSON.stringify(action)}`);
        }
      }
      ctx.state.aliases.clear();
      for (const [a, c] of next) ctx.state.aliases.set(a, c);
      return true;
    },
  },
  {
    method: 'PUT',
    path: '/collections/{collection_name}/index',
    handle: (ctx) => {
      const c = collectionOf(ctx);
      const schema = ctx.body.field_schema as string | Json | null | undefined;
      const type = typeof schema === 'string' ? schema : (schema?.type as string | undefined);
      if (!type) throw new HttpError(501, 'the double requires field_schema (index type inference is not emulated)');
      c.payloadIndexes.set(String(ctx.body.field_name), type);
      return updateResult(ctx);
    },
  },
  {
    method: 'PUT',
    path: '/collections/{collection_name}/points',
    handle: (ctx) => {
      const c = collectionOf(ctx);
      if ('batch' in ctx.body) throw new HttpError(501, 'the double does not emulate column-oriented batch upserts');
      notNull(ctx.body, 'shard_key', 'update_filter', 'update_mode');
      // Validate everything first: a rejected request changes nothing.
      const writes = (ctx.body.points as Json[]).map((p) => {
        const key = canonicalId(p.id);
        const vector = denseVector(p.vector, 'vector');
        checkDimension(c, vector);
        return { key, vector, payload: (p.payload as Json | null | undefined) ?? {} };
      });
      const result = updateResult(ctx);
      for (const w of writes) {
        const id = idOfKey(w.key);
        const vector = c.distance === 'Cosine' ? normalise(w.vector) : w.vector.map(Math.fround);
        c.points.set(w.key, { id, vector, payload: structuredClone(w.payload), version: ctx.state.operation });
      }
      return result;
    },
  },
  {
    method: 'POST',
    path: '/collections/{collection_name}/points/delete',
    handle: (ctx) => {
      const c = collectionOf(ctx);
      notNull(ctx.body, 'shard_key');
      const keys =
        'points' in ctx.body
          ? (ctx.body.points as unknown[]).map(canonicalId)
          : filtered(c, ctx.body.filter).map(([key]) => key);
      const result = updateResult(ctx);
      for (const key of keys) c.points.delete(key);
      return result;
    },
  },
  {
    method: 'POST',
    path: '/collections/{collection_name}/points/query',
    handle: (ctx) => {
      const c = collectionOf(ctx);
      notNull(ctx.body, 'shard_key', 'prefetch', 'using', 'lookup_from', 'params');
      const q = ctx.body.query as unknown;
      const vector = denseVector(q !== null && typeof q === 'object' && !Array.isArray(q) && 'nearest' in q ? (q as Json).nearest : q, 'query');
      checkDimension(c, vector);
      const threshold = ctx.body.score_threshold as number | null | undefined;
      const offset = (ctx.body.offset as number | null | undefined) ?? 0;
      const limit = (ctx.body.limit as number | null | undefined) ?? 10;
      const scored = filtered(c, ctx.body.filter)
        .map(([key, p]) => ({ key, p, score: score(c, vector, p.vector) }))
        .filter((s) => threshold === null || threshold === undefined || s.score >= threshold)
        .sort((a, b) => b.score - a.score || compareKeys(a.key, b.key))
        .slice(offset, offset + limit);
      return {
        points: scored.map(({ p, score: s }) => ({
          id: p.id,
          version: p.version,
          score: s,
          payload: selectPayload(p.payload, ctx.body.with_payload ?? false),
          vector: withVector(p, ctx.body.with_vector),
        })),
      };
    },
  },
  {
    method: 'POST',
    path: '/collections/{collection_name}/points/scroll',
    handle: (ctx) => {
      const c = collectionOf(ctx);
      notNull(ctx.body, 'shard_key');
      const limit = (ctx.body.limit as number | null | undefined) ?? 10;
      if (ctx.body.order_by !== null && ctx.body.order_by !== undefined) return orderedScroll(c, ctx.body, limit);
      const from = ctx.body.offset === null || ctx.body.offset === undefined ? undefined : canonicalId(ctx.body.offset);
      const all = filtered(c, ctx.body.filter).filter(([key]) => from === undefined || compareKeys(key, from) >= 0);
      const next = all[limit];
      return {
        points: all.slice(0, limit).map(([, p]) => ({
          id: p.id,
          payload: selectPayload(p.payload, ctx.body.with_payload ?? true),
          vector: withVector(p, ctx.body.with_vector),
        })),
        next_page_offset: next ? next[1].id : null,
      };
    },
  },
  {
    method: 'POST',
    path: '/collections/{collection_name}/points/count',
    handle: (ctx) => ({ count: filtered(collectionOf(ctx), ctx.body.filter).length }),
  },
];

/**
 * Scroll with `order_by` as Qdrant does it: only on a field with a range-capable payload index
 * (else 400 naming the index), points without a numeric value left out, one page (no offset
 * paging: the next page starts from a value), ties in id order.
 */
function orderedScroll(c: DoubleCollection, body: Json, limit: number): Json {
  const spec = body.order_by as string | Json;
  const key = typeof spec === 'string' ? spec : String(spec.key);
  const direction = typeof spec === 'string' ? 'asc' : ((spec.direction as string | null | undefined) ?? 'asc');
  if (typeof spec !== 'string' && spec.start_from !== undefined && spec.start_from !== null) throw new HttpError(501, 'the double does not emulate order_by.start_from');
  if (body.offset !== null && body.offset !== undefined) throw new HttpError(400, 'Bad request: Cannot use an `offset` when using `order_by`');
  const index = c.payloadIndexes.get(key);
  if (index !== 'integer' && index !== 'float' && index !== 'datetime') {
    throw new HttpError(400, `Bad request: No range index for \`order_by\` key: \`${key}\`. Please create one to use \`order_by\`. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions`);
  }
  const sign = direction === 'desc' ? -1 : 1;
  const rows = filtered(c, body.filter)
    .map(([id, p]) => ({ id, p, v: valuesAt(p.payload, key).find((x): x is number => typeof x === 'number') }))
    .filter((r): r is { id: string; p: DoublePoint; v: number } => r.v !== undefined)
    .sort((a, b) => sign * (a.v - b.v) || compareKeys(a.id, b.id));
  return {
    points: rows.slice(0, limit).map(({ p }) => ({ id: p.id, payload: selectPayload(p.payload, body.with_payload ?? true), vector: withVector(p, body.with_vector) })),
    next_page_offset: null,
  };
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
  validators: OperationValidators;
}

function compileRoutes(book: SchemaBook, routes: Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { ...route, regex: new RegExp(`^${source}$`), names, validators: book.operation(route.path, route.method) };
  });
}

// ---------------------------------------------------------------------------------------------
// Server

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function pickResponseValidator(validators: OperationValidators, status: number): ValidateFunction | undefined {
  const r = validators.responses;
  return r.get(String(status)) ?? r.get(`${String(status)[0]}XX`) ?? r.get('default');
}

/** Compiling the validators takes seconds; routes hold no state, so doubles share them per document. */
const compiled = new Map<string, { book: SchemaBook; routes: CompiledRoute[]; proxied: CompiledRoute[] }>();
function compiledFor(path: string): { book: SchemaBook; routes: CompiledRoute[]; proxied: CompiledRoute[] } {
  let entry = compiled.get(path);
  if (!entry) {
    const book = new SchemaBook(path);
    // Proxy mode routes every operation of the document; literal paths first (`/collections/aliases`
    // before `/collections/{collection_name}`). `handle` is never called there.
    const all = book
      .operations()
      .map((op) => ({ ...op, bare: op.path === '/', handle: () => undefined }))
      .sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
    entry = { book, routes: compileRoutes(book, ROUTES), proxied: compileRoutes(book, all) };
    compiled.set(path, entry);
  }
  return entry;
}

/** Sends a validated request on to the upstream as it came; resolves with its status and JSON body. */
async function forward(upstream: string, method: string, pathAndQuery: string, text: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(upstream + pathAndQuery, {
    method,
    headers: text.length > 0 ? { 'content-type': 'application/json' } : {},
    ...(text.length > 0 ? { body: text } : {}),
  });
  const raw = await res.text();
  try {
    return { status: res.status, body: JSON.parse(raw) as Json };
  } catch {
    throw new Error(`the upstream answered ${method} ${pathAndQuery} with HTTP ${res.status} and a body that is not JSON: ${raw.slice(0, 200)}`);
  }
}

export async function startQdrantDouble(options: QdrantDoubleOptions = {}): Promise<QdrantDouble> {
  const compiledDoc = compiledFor(options.openApiPath ?? resolve(REPO_ROOT, QDRANT_OPENAPI_RELATIVE_PATH));
  const book = compiledDoc.book;
  const upstream = options.upstream?.replace(/\/+$/, '');
  const routes = upstream ? compiledDoc.proxied : compiledDoc.routes;
  const state: State = { collections: new Map(), aliases: new Map(), version: options.version ?? '1.19.0', operation: 0 };
  const requests: RecordedRequest[] = [];
  const responseViolations: ResponseViolation[] = [];
  const sockets = new Set<Socket>();
  let down: false | 'reset' | '503' = false;
  let delayMs = 0;

  function send(res: ServerResponse, record: RecordedRequest, route: CompiledRoute | undefined, status: number, body: Json, started: number): void {
    sendPayload(res, record, route, status, route?.bare && status === 200 ? (body.result as Json) : { ...body, time: (performance.now() - started) / 1000 });
  }

  /** Validates `payload` against the route's response schema for `status`, then sends it. */
  function sendPayload(res: ServerResponse, record: RecordedRequest, route: CompiledRoute | undefined, status: number, payload: Json): void {
    let finalStatus = status;
    let finalBody: Json = payload;
    if (route) {
      const validate = pickResponseValidator(route.validators, status);
      if (!validate && status < 400) {
        finalStatus = 500;
        finalBody = { status: { error: `qdrant double: no response schema for ${route.validators.operationId} ${status}` }, time: 0 };
        responseViolations.push({ operationId: route.validators.operationId, status, errors: 'no response schema', body: payload });
      } else if (validate && !validate(payload)) {
        const errors = book.errorsText(validate, 'response');
        responseViolations.push({ operationId: route.validators.operationId, status, errors, body: payload });
        console.error(`qdrant double produced a response its OpenAPI document rejects (${route.validators.operationId} ${status}): ${errors}`);
        finalStatus = 500;
        finalBody = { status: { error: `qdrant double bug: invalid ${route.validators.operationId} response: ${errors}` }, time: 0 };
      }
    }
    record.status = finalStatus;
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(finalStatus, { 'content-type': 'application/json' });
    res.end(JSON.stringify(finalBody));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://double');
    const prefix = options.prefix ?? '';
    const path = prefix && url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) || '/' : prefix ? `(outside ${prefix})${url.pathname}` : url.pathname;
    const record: RecordedRequest = { method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), body: undefined };
    requests.push(record);
    const text = await readBody(req);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));

    let route: CompiledRoute | undefined;
    const params: Record<string, string> = {};
    for (const candidate of routes) {
      const m = candidate.method === record.method ? candidate.regex.exec(path) : null;
      if (!m) continue;
      route = candidate;
      candidate.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1] ?? '')));
      break;
    }
    record.operationId = route?.validators.operationId;
    try {
      if (text.length > 0) {
        try {
          record.body = JSON.parse(text) as unknown;
        } catch (err) {
          throw new HttpError(400, `Format error in JSON body: ${(err as Error).message}`);
        }
      }
      if (down === '503') throw new HttpError(503, 'Service Unavailable (qdrant double is down)');
      if (!route) throw new HttpError(404, `qdrant double: no route for ${record.method} ${url.pathname}`);
      if (options.apiKey !== undefined && req.headers['api-key'] !== options.apiKey) {
        throw new HttpError(401, 'Must provide an API key or an Authorization bearer token');
      }
      const query: Json = { ...record.query };
      if (!route.validators.query(query)) {
        throw new HttpError(400, `Wrong input: query parameters: ${book.errorsText(route.validators.query, 'query')}`);
      }
      let body: Json = {};
      if (route.validators.body) {
        if (record.body === undefined) throw new HttpError(400, 'Json deserialize error: EOF while parsing a value at line 1 column 0');
        if (text.length > 0 && !String(req.headers['content-type'] ?? '').includes('application/json')) {
          throw new HttpError(400, `Content type error: expected application/json, got ${req.headers['content-type'] ?? 'none'}`);
        }
        if (!route.validators.body(record.body)) {
          throw new HttpError(400, `Format error in JSON body: ${book.errorsText(route.validators.body, 'body')}`);
        }
        body = record.body as Json;
      }
      if (upstream) {
        let answer: { status: number; body: Json };
        try {
          answer = await forward(upstream, record.method, path + url.search, text);
        } catch (err) {
          console.error('qdrant proxy: the upstream failed:', err);
          throw new HttpError(502, `qdrant proxy: the upstream engine failed: ${(err as Error).message}`);
        }
        sendPayload(res, record, route, answer.status, answer.body);
        return;
      }
      const result = route.handle({ params, query, body, state });
      send(res, record, route, 200, { status: 'ok', result }, started);
    } catch (err) {
      if (err instanceof HttpError) {
        send(res, record, route, err.status, { status: { error: err.message } }, started);
      } else {
        console.error('qdrant double crashed:', err);
        send(res, record, route, 500, { status: { error: `qdrant double crashed: ${String(err)}` } }, started);
      }
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createServer(listener);
  server.on('connection', (socket: Socket) => {
    if (down === 'reset') {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    responseViolations,
    collections: state.collections,
    aliases: state.aliases,
    setUnavailable(value: boolean, mode: 'reset' | '503' = 'reset') {
      down = value ? mode : false;
      if (down === 'reset') for (const s of sockets) s.destroy();
    },
    setDelayMs(ms: number) {
      delayMs = ms;
    },
    close() {
      return new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      });
    },
  };
}
