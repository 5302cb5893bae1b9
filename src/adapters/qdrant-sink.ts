import { QdrantClient } from '@qdrant/js-client-rest';
import { AuraError, TLS_UNTRUSTED_CODES, classify } from '../errors.js';
import { describeVersion, isVersionOf, readVersion, sameVersion, type IndexVersion } from '../contracts/index-version.js';
import type { FieldCondition, IndexCatalog, IndexCollection, OrderBy, PointFilter, PointPayload, SearchHit, SearchOptions, VectorPoint, VectorSink } from '../ports.js';
import { QUERY_FIELDS, fieldValue, type QueryField } from '../query/index.js';
import { trustCaForOrigin } from './origin-ca.js';
import { encodeDocument, encodeQuery, SPARSE_VECTOR_NAME } from './sparse-text.js';
import { byId, byScore, dimensionMismatch, guarded, lastById, prefetchLimit, requireDimension, RRF_K, searchMode, storeWhere, type StoredPoint } from './vector-sink-common.js';

/**
 * VectorSink on Qdrant through @qdrant/js-client-rest 1.19 (REST).
 *
 * - One unnamed dense vector per point, Cosine distance; point ids are the UUIDs of VectorPoint.
 * - Next to it the named sparse vector SPARSE_VECTOR_NAME (`text_bm25`, IDF modifier): the BM25
 *   term frequencies of the payload's text (src/adapters/sparse-text.ts), computed here at upsert.
 *   A collection made before hybrid retrieval has none: its points are written dense only, and a
 *   `sparse`/`hybrid` search there is a CONFIG error naming the fix.
 * - Searches use the Query API: `dense` a plain nearest query; `sparse` the sparse vector;
 *   `hybrid` two prefetches (dense and sparse, each with the filter) fused by `rrf` with k = RRF_K.
 * - Payload = PointPayload as is (maps such as `minutes_by_type` are nested objects, `top_tags` an
 *   array of objects); PAYLOAD_INDEXES lists the indexed fields (user, day, time and the main
 *   statistics and facts), so filters and hybrid queries on them stay fast.
 * - Every write is sent with `wait=true`, in requests of at most UPSERT_CHUNK points.
 * - deleteUser counts the matching points (`exact: true`), then deletes by the same filter
 *   (`user_id` match, plus `window_end < before` for retention), both on indexed fields.
 * - Failures become AuraErrors: unreachable, 5xx, 408/429 → STORE_UNAVAILABLE, timeouts → TIMEOUT
 *   (both retriable); 401/403/404 → CONFIG; other 4xx → INTERNAL (a request this adapter built was
 *   rejected), each carrying Qdrant's own message.
 * - Versions (IndexCatalog, docs/reindex.md): a version collection records its IndexVersion in the
 *   collection metadata under `aura_index`; the alias is a Qdrant collection alias, swapped by one
 *   `POST /collections/aliases` (delete + create in one atomic request).
 */

/** Key of the collection metadata holding the IndexVersion. */
export const VERSION_METADATA_KEY = 'aura_index';

/** Points per upsert request (Qdrant recommends 64–256). */
export const UPSERT_CHUNK = 256;
/** Points per scroll page. */
const SCROLL_PAGE = 256;
/** Qdrant's convention, applied by the client to a URL without a port (whatever the scheme). */
const QDRANT_DEFAULT_PORT = '6333';
/** `scheme://[userinfo@]host:PORT` — the port as written, before URL normalisation. */
const EXPLICIT_PORT = /^https?:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i;

/**
 * Payload fields indexed at bootstrap, with their Qdrant index types: every field of the readers'
 * query catalog (src/query/fields.ts), so filters run on indexes and `order_by` (which Qdrant
 * allows only on a field with a range index) works on every orderable field.
 */
export const PAYLOAD_INDEXES: ReadonlyArray<{ field: string; type: QueryField['index'] }> = Object.entries(QUERY_FIELDS).map(([field, f]) => ({ field, type: f.index }));

export interface QdrantSinkOptions {
  /**
   * Base URL (`QDRANT_URL`), e.g. `http://127.0.0.1:6333`. Without a port, :6333 is used (Qdrant's
   * convention, also for https); an explicit port is kept even when it is the scheme's default
   * (the client alone would turn `https://h:443` into `https://h:6333`); a path
   * (`http://host:6333/qdrant`) becomes the client's prefix (the client alone would drop it).
   */
  url: string;
  /** Sent as the `api-key` header (`QDRANT_API_KEY`); default: none. */
  apiKey?: string;
  /** PEM of the CA that signed an https server's certificate (`QDRANT_CA`); default: the system's CAs. */
  ca?: string;
  collection: string;
  /** Per-request timeout, ms (`STORE_TIMEOUT_MS`). */
  timeoutMs: number;
}

type CollectionInfo = Awaited<ReturnType<QdrantClient['getCollection']>>;
type QdrantRange = { gt?: number; gte?: number; lt?: number; lte?: number };
type QdrantCondition = { key: string; match: { value: string | number | boolean } | { any: Array<string | number> } } | { key: string; range: QdrantRange };
type QdrantFilter = { must: QdrantCondition[]; must_not?: QdrantCondition[] };
type QueryRequest = Parameters<QdrantClient['query']>[1];

/** Duck type of the client's ApiError (not exported by the package). */
interface HttpFailure {
  status: number;
  data?: unknown;
  message: string;
}

function isHttpFailure(err: unknown): err is HttpFailure {
  return err instanceof Error && typeof (err as { status?: unknown }).status === 'number';
}

/** Qdrant's error text from `{ status: { error } }`, if the body has one. */
function qdrantMessage(data: unknown): string | undefined {
  const status = (data as { status?: unknown } | null | undefined)?.status;
  const error = (status as { error?: unknown } | null | undefined)?.error;
  return typeof error === 'string' ? error : undefined;
}

/** One payload condition in Qdrant's terms; `ne` goes to must_not (so a null value satisfies it). */
function qdrantCondition(c: FieldCondition): { must?: QdrantCondition; mustNot?: QdrantCondition } {
  if (!(c.field in QUERY_FIELDS)) throw new AuraError('INVALID_QUERY', `unknown payload field "${c.field}"`);
  const key = c.field;
  const v = c.value;
  switch (c.op) {
    case 'eq':
      return { must: typeof v === 'number' ? { key, range: { gte: v, lte: v } } : { key, match: { value: v as string | boolean } } };
    case 'ne':
      return { mustNot: { key, match: { value: v as string | number | boolean } } };
    case 'in':
      return { must: { key, match: { any: v as Array<string | number> } } };
    case 'contains':
      return { must: { key, match: { value: v as string } } };
    default:
      return { must: { key, range: { [c.op]: v as number } } };
  }
}

/** The port's filter as a Qdrant filter (every condition on an indexed field); undefined when empty. */
function qdrantFilter(filter: PointFilter): QdrantFilter | undefined {
  const must: QdrantCondition[] = [];
  const mustNot: QdrantCondition[] = [];
  if (filter.userId !== undefined) must.push({ key: 'user_id', match: { value: filter.userId } });
  if (filter.sinceMs !== undefined || filter.untilMs !== undefined) {
    must.push({ key: 'window_end', range: { ...(filter.sinceMs !== undefined && { gte: filter.sinceMs }), ...(filter.untilMs !== undefined && { lt: filter.untilMs }) } });
  }
  for (const c of filter.where ?? []) {
    const q = qdrantCondition(c);
    if (q.must) must.push(q.must);
    if (q.mustNot) mustNot.push(q.mustNot);
  }
  if (must.length === 0 && mustNot.length === 0) return undefined;
  return { must, ...(mustNot.length > 0 && { must_not: mustNot }) };
}

/** The unnamed dense vector of a point as read back: the list itself, or `""` of a vector map. */
function denseOf(value: unknown): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[''] : value;
}

function hasSparseVector(info: CollectionInfo): boolean {
  return info.config.params.sparse_vectors?.[SPARSE_VECTOR_NAME] !== undefined;
}

/** A point's vectors as sent: the dense one alone, or with the sparse vector of its text under SPARSE_VECTOR_NAME. */
function pointVectors(p: VectorPoint, sparse: boolean): number[] | Record<string, number[] | { indices: number[]; values: number[] }> {
  const dense = Array.from(p.vector);
  if (!sparse) return dense;
  const words = encodeDocument(p.payload.text);
  // A text without a single word has no sparse vector (an empty one is not a vector).
  return words.indices.length > 0 ? { '': dense, [SPARSE_VECTOR_NAME]: words } : { '': dense };
}

function toVector(value: unknown): Float32Array | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'number') ? Float32Array.from(value as number[]) : undefined;
}

export class QdrantSink implements VectorSink, IndexCatalog {
  readonly kind = 'qdrant' as const;
  /** Effective base URL (port made explicit), for logs and /readyz. */
  readonly location: string;
  readonly collection: string;
  private readonly client: QdrantClient;
  private readonly timeoutMs: number;
  /** Whether the collection has the sparse vector; undefined until ensureCollection or the first upsert read it. */
  private hasSparse: boolean | undefined;
  private readonly options: QdrantSinkOptions;

  constructor(options: QdrantSinkOptions) {
    this.options = options;
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (err) {
      throw new AuraError('CONFIG', `QDRANT_URL "${options.url}" is not a URL; expected e.g. http://127.0.0.1:6333`, { cause: err });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new AuraError('CONFIG', `QDRANT_URL "${options.url}" must start with http:// or https://`);
    }
    if (!options.collection) throw new AuraError('CONFIG', 'the Qdrant collection name is empty');
    const prefix = url.pathname.replace(/\/+$/, '');
    // WHATWG URL drops a scheme-default port (`https://h:443` has port ''), and the client then
    // substitutes 6333: an explicit port is read from the text and passed on its own.
    const port = EXPLICIT_PORT.exec(options.url)?.[1] ?? QDRANT_DEFAULT_PORT;
    this.location = `${url.protocol}//${url.hostname}:${port}${prefix}`;
    this.collection = options.collection;
    this.timeoutMs = options.timeoutMs;
    if (options.ca) {
      if (url.protocol !== 'https:') throw new AuraError('CONFIG', `QDRANT_CA is set but QDRANT_URL "${this.location}" is not https://`);
      trustCaForOrigin(this.location, options.ca);
    }
    this.client = new QdrantClient({
      // The client keeps only scheme and host of `url`: the path goes through `prefix`.
      url: `${url.protocol}//${url.hostname}`,
      port: Number(port),
      ...(prefix ? { prefix } : {}),
      ...(options.apiKey ? { apiKey: options.apiKey } : {}),
      timeout: this.timeoutMs,
      // Otherwise the constructor fires an unawaited GET / and only console.warns on failure.
      checkCompatibility: false,
    });
  }

  async ensureCollection(dimension: number, version?: IndexVersion): Promise<void> {
    requireDimension(dimension);
    let info = await this.collectionInfo();
    if (!info) {
      try {
        await this.client.createCollection(this.collection, {
          vectors: { size: dimension, distance: 'Cosine' },
          sparse_vectors: { [SPARSE_VECTOR_NAME]: { modifier: 'idf' } },
          ...(version && { metadata: { [VERSION_METADATA_KEY]: { ...version } } }),
        });
      } catch (err) {
        // 409: another process created it in between; its size is checked below like any other.
        if (!(isHttpFailure(err) && err.status === 409)) throw this.fail('create collection', err);
      }
      info = await this.collectionInfo();
      if (!info) throw new AuraError('STORE_UNAVAILABLE', `Qdrant collection "${this.collection}" at ${this.location} is missing right after its creation`);
    }
    this.checkVectors(info, dimension);
    this.hasSparse = hasSparseVector(info);
    if (version) {
      const recorded = readVersion(info.config.metadata?.[VERSION_METADATA_KEY]);
      if (!recorded || !sameVersion(recorded, version)) {
        throw new AuraError(
          'CONFIG',
          `Qdrant collection "${this.collection}" at ${this.location} holds ${describeVersion(recorded)}, but this process writes ${describeVersion(version)}. ` +
            'A collection never mixes two versions. Fix: check EMBEDDING_MODEL_PATH, or drop that collection (`aura-stream index drop`) so it is rebuilt.',
        );
      }
    }
    for (const { field, type } of PAYLOAD_INDEXES) {
      const found = info.payload_schema[field]?.data_type;
      if (found === type) continue;
      if (found !== undefined) {
        throw new AuraError(
          'CONFIG',
          `Qdrant collection "${this.collection}" at ${this.location} indexes payload field "${field}" as ${found}, expected ${type}. ` +
            `Fix: delete that payload index (DELETE /collections/${this.collection}/index/${field}); it is recreated on start.`,
        );
      }
      await this.call(`create payload index ${field}`, () => this.client.createPayloadIndex(this.collection, { field_name: field, field_schema: type, wait: true }));
    }
  }

  async upsert(points: VectorPoint[]): Promise<void> {
    const unique = lastById(points);
    if (unique.length === 0) return;
    if (this.hasSparse === undefined) {
      const info = await this.collectionInfo();
      if (!info) throw new AuraError('CONFIG', `Qdrant collection "${this.collection}" at ${this.location} does not exist. The collection is created on start (ensureCollection); was it deleted?`);
      this.hasSparse = hasSparseVector(info);
    }
    const sparse = this.hasSparse;
    for (let i = 0; i < unique.length; i += UPSERT_CHUNK) {
      const chunk = unique.slice(i, i + UPSERT_CHUNK);
      const result = await this.call('upsert', () =>
        this.client.upsert(this.collection, {
          wait: true,
          points: chunk.map((p) => ({ id: p.id, vector: pointVectors(p, sparse), payload: { ...p.payload } })),
        }),
      );
      if (result.status !== 'completed') {
        // `wait_timeout`: accepted but not applied in time; not confirmed, so not done.
        throw new AuraError('TIMEOUT', `Qdrant upsert of ${chunk.length} points into "${this.collection}" at ${this.location} was not confirmed (status ${result.status})`);
      }
    }
  }

  async deleteUser(userId: string, before?: number): Promise<number> {
    if (before !== undefined && !Number.isSafeInteger(before)) throw new AuraError('INTERNAL', `deleteUser: before must be an integer epoch ms, got ${before}`);
    const must: QdrantCondition[] = [{ key: 'user_id', match: { value: userId } }];
    if (before !== undefined) must.push({ key: 'window_end', range: { lt: before } });
    const filter: QdrantFilter = { must };
    const { count } = await this.call('count before delete', () => this.client.count(this.collection, { filter, exact: true }));
    const result = await this.call('delete by filter', () => this.client.delete(this.collection, { wait: true, filter }));
    if (result.status !== 'completed') {
      throw new AuraError('TIMEOUT', `Qdrant delete of the points of one user in "${this.collection}" at ${this.location} was not confirmed (status ${result.status})`);
    }
    return count;
  }

  async search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    const mode = searchMode(options);
    if (options.limit <= 0) return [];
    const filter = qdrantFilter(options);
    const where = filter ? { filter } : {};
    const dense = Array.from(vector);
    const sparse = mode === 'dense' ? undefined : encodeQuery(options.text ?? '');
    let request: QueryRequest;
    if (mode === 'dense') {
      request = { query: dense, ...where };
    } else if (mode === 'sparse') {
      request = { query: sparse!, using: SPARSE_VECTOR_NAME, ...where };
    } else {
      const candidates = prefetchLimit(options.limit);
      request = {
        prefetch: [
          { query: dense, ...where, limit: candidates },
          { query: sparse!, using: SPARSE_VECTOR_NAME, ...where, limit: candidates },
        ],
        query: { rrf: { k: RRF_K } },
      };
    }
    let result: Awaited<ReturnType<QdrantClient['query']>>;
    try {
      result = await this.client.query(this.collection, { ...request, limit: options.limit, with_payload: true, with_vector: false });
    } catch (err) {
      if (mode !== 'dense' && isHttpFailure(err) && err.status === 400 && /vector name/i.test(qdrantMessage(err.data) ?? '')) {
        throw new AuraError(
          'CONFIG',
          `Qdrant collection "${this.collection}" at ${this.location} has no sparse vector "${SPARSE_VECTOR_NAME}" (it was made before hybrid retrieval), so a ${mode} search cannot run there. ` +
            `Fix: search with RETRIEVAL_MODE=dense, or rebuild the index into a new collection (aura-stream reindex), which gets it.`,
          { cause: err },
        );
      }
      throw this.fail('query', err);
    }
    return result.points.map((p) => ({ id: String(p.id), score: p.score, payload: p.payload as unknown as PointPayload })).sort(byScore);
  }

  async find(options: PointFilter & { orderBy: OrderBy; limit: number }): Promise<Array<{ id: string; payload: PointPayload }>> {
    if (options.limit <= 0) return [];
    const { field, direction } = options.orderBy;
    if (!(field in QUERY_FIELDS)) throw new AuraError('INVALID_QUERY', `unknown payload field "${field}"`);
    const filter = qdrantFilter(options);
    // Qdrant leaves out points without a value of the ordered field, and pages an ordered scroll
    // by value (start_from), not by offset: one page of `limit` is the answer.
    const page = await this.call('scroll ordered', () =>
      this.client.scroll(this.collection, {
        ...(filter ? { filter } : {}),
        limit: options.limit,
        order_by: { key: field, direction },
        with_payload: true,
        with_vector: false,
      }),
    );
    const sign = direction === 'asc' ? 1 : -1;
    const value = (p: PointPayload) => Number(fieldValue(p, field));
    return page.points
      .map((r) => ({ id: String(r.id), payload: r.payload as unknown as PointPayload }))
      .sort((a, b) => sign * (value(a.payload) - value(b.payload)) || byId(a, b));
  }

  async scroll(options: PointFilter = {}): Promise<StoredPoint[]> {
    const filter = qdrantFilter(options);
    const out: StoredPoint[] = [];
    let offset: string | number | undefined;
    for (;;) {
      const from = offset;
      const page = await this.call('scroll', () =>
        this.client.scroll(this.collection, {
          ...(filter ? { filter } : {}),
          limit: SCROLL_PAGE,
          ...(from !== undefined ? { offset: from } : {}),
          with_payload: true,
          with_vector: true,
        }),
      );
      for (const r of page.points) {
        const vector = toVector(denseOf(r.vector));
        out.push({ id: String(r.id), payload: r.payload as unknown as PointPayload, ...(vector ? { vector } : {}) });
      }
      const next = page.next_page_offset;
      if (next === null || next === undefined) break;
      if (next === from) throw new AuraError('INTERNAL', `Qdrant scroll of "${this.collection}" did not advance past offset ${String(next)}`);
      offset = next as string | number;
    }
    // Qdrant already pages in id order; sorting makes the port's contract independent of it.
    return out.sort(byId);
  }

  async count(): Promise<number> {
    const result = await this.call('count', () => this.client.count(this.collection, { exact: true }));
    return result.count;
  }

  async deleteIds(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const result = await this.call('delete points', () => this.client.delete(this.collection, { wait: true, points: ids }));
    if (result.status !== 'completed') throw new AuraError('TIMEOUT', `Qdrant delete of ${ids.length} points in "${this.collection}" at ${this.location} was not confirmed (status ${result.status})`);
  }

  async existing(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const page = await this.call('scroll ids', () =>
      this.client.scroll(this.collection, { filter: { must: [{ has_id: ids }] }, limit: ids.length, with_payload: false, with_vector: false }),
    );
    return page.points.map((p) => String(p.id));
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.client.versionInfo());
  }

  get alias(): string {
    return this.collection;
  }

  async aliasTarget(): Promise<string | undefined> {
    const { aliases } = await this.call('list aliases', () => this.client.getAliases());
    return aliases.find((a) => a.alias_name === this.collection)?.collection_name;
  }

  async hasLegacy(): Promise<boolean> {
    const { collections } = await this.call('list collections', () => this.client.getCollections());
    return collections.some((c) => c.name === this.collection);
  }

  async collections(): Promise<IndexCollection[]> {
    const { collections } = await this.call('list collections', () => this.client.getCollections());
    const names = collections.map((c) => c.name).filter((n) => n === this.collection || isVersionOf(this.collection, n)).sort();
    const out: IndexCollection[] = [];
    for (const name of names) {
      const sink = this.open(name);
      const info = await sink.collectionInfo();
      if (!info) continue; // dropped meanwhile
      out.push({ collection: name, version: readVersion(info.config.metadata?.[VERSION_METADATA_KEY]), points: await sink.count() });
    }
    return out;
  }

  async recordedVersion(collection: string): Promise<IndexVersion | undefined> {
    const info = await this.open(collection).collectionInfo();
    return readVersion(info?.config.metadata?.[VERSION_METADATA_KEY]);
  }

  async setAlias(collection: string): Promise<void> {
    const current = await this.aliasTarget();
    if (current === collection) return;
    if (current === undefined && (await this.hasLegacy())) {
      // Qdrant refuses an alias named like a collection: the legacy collection goes first.
      await this.call('delete legacy collection', () => this.client.deleteCollection(this.collection));
    }
    const alias_name = this.collection;
    await this.call('swap alias', () =>
      this.client.updateCollectionAliases({
        actions: [...(current !== undefined ? [{ delete_alias: { alias_name } }] : []), { create_alias: { collection_name: collection, alias_name } }],
      }),
    );
  }

  async drop(collection: string): Promise<void> {
    await this.call('delete collection', () => this.client.deleteCollection(collection));
  }

  open(collection: string): QdrantSink {
    return new QdrantSink({ ...this.options, collection });
  }

  async close(): Promise<void> {
    // The client holds only an undici pool whose idle sockets do not keep the process alive.
  }

  /** The collection's info, or undefined when Qdrant answers 404. */
  async collectionInfo(): Promise<CollectionInfo | undefined> {
    try {
      return await this.client.getCollection(this.collection);
    } catch (err) {
      if (isHttpFailure(err) && err.status === 404) return undefined;
      throw this.fail('get collection', err);
    }
  }

  private checkVectors(info: CollectionInfo, dimension: number): void {
    const vectors = info.config.params.vectors as { size?: unknown; distance?: unknown } | undefined;
    const where = `Qdrant collection "${this.collection}" at ${this.location}`;
    if (!vectors || typeof vectors.size !== 'number') {
      throw new AuraError('CONFIG', `${where} uses named vectors or none; aura-stream needs one unnamed vector. Fix: use another collection name or delete this collection.`);
    }
    if (vectors.size !== dimension) throw dimensionMismatch(where, vectors.size, dimension, `"${this.collection}"`);
    if (vectors.distance !== 'Cosine') {
      throw new AuraError('CONFIG', `${where} uses ${String(vectors.distance)} distance, expected Cosine. Fix: configure another collection name or delete this collection.`);
    }
  }

  private call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return guarded(fn, (err) => this.fail(op, err));
  }

  private fail(op: string, err: unknown): AuraError {
    if (err instanceof AuraError) return err;
    const where = storeWhere('Qdrant', op, this.collection, this.location);
    const name = err instanceof Error ? err.name : '';
    if (name === 'QdrantClientTimeoutError' || name === 'TimeoutError' || name === 'AbortError') {
      return new AuraError('TIMEOUT', `${where} timed out after ${this.timeoutMs} ms`, { cause: err });
    }
    if (name === 'QdrantClientResourceExhaustedError') {
      return new AuraError('STORE_UNAVAILABLE', `${where} was rate limited: ${(err as Error).message}`, { cause: err });
    }
    if (isHttpFailure(err)) {
      const message = qdrantMessage(err.data) ?? err.message;
      const status = err.status;
      if (status >= 500 || status === 408 || status === 429) {
        return new AuraError('STORE_UNAVAILABLE', `${where} failed with HTTP ${status}: ${message}`, { cause: err });
      }
      if (status === 401 || status === 403) {
        return new AuraError('AUTH', `${where} was refused (HTTP ${status}): ${message}. Fix: set QDRANT_API_KEY to a key with access.`, { cause: err });
      }
      if (status === 404) {
        return new AuraError('CONFIG', `${where} failed with HTTP 404: ${message}. The collection is created on start (ensureCollection); was it deleted?`, { cause: err });
      }
      return new AuraError('INTERNAL', `${where} was rejected with HTTP ${status}: ${message}`, { cause: err });
    }
    // fetch rejects with TypeError('fetch failed') for refused, reset and dropped connections.
    if (err instanceof TypeError && err.message === 'fetch failed') {
      const cause = err.cause as { code?: string; message?: string } | undefined;
      if (cause?.code && TLS_UNTRUSTED_CODES.has(cause.code)) {
        return new AuraError('AUTH', `${where}: the server's TLS certificate is not trusted (${cause.code}). Fix: set QDRANT_CA (or QDRANT_CA_FILE) to the CA that signed it`, { cause: err });
      }
      return new AuraError('STORE_UNAVAILABLE', `${where}: cannot reach Qdrant (${cause?.code ?? cause?.message ?? 'connection failed'})`, { cause: err });
    }
    const classified = classify(err);
    return new AuraError(classified.retriable ? classified.code : 'INTERNAL', `${where} failed: ${classified.message}`, { cause: err });
  }
}
