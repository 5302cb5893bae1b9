import { AuraError } from '../../../src/errors.js';
import type { FieldCondition, OrderBy, PointFilter, PointPayload, SearchHit, SearchOptions, VectorPoint, VectorSink } from '../../../src/ports.js';
import { fieldValue, orderHits } from '../../../src/query/index.js';
import { encodeDocument, encodeQuery } from '../../../src/adapters/sparse-text.js';
import { byId, byScore, lastById, prefetchLimit, requireDimension, rrfFuse, searchMode, type StoredPoint } from '../../../src/adapters/vector-sink-common.js';

/**
 * A vector store in memory that keeps the VectorSink contract (test/support/vector-sink-contract.ts
 * runs against it too), plus levers for topology tests: `failures` upserts fail first
 * (STORE_UNAVAILABLE), `hold()` blocks upserts until `release()`.
 */
export class MemoryVectorSink implements VectorSink {
  readonly kind = 'qdrant' as const;
  readonly location = 'memory://';
  readonly points = new Map<string, VectorPoint>();
  /** Points of each confirmed upsert call. */
  readonly upserts: VectorPoint[][] = [];
  attempts = 0;
  failures = 0;
  private dimension: number | undefined;
  private held: Array<() => void> | null = null;

  constructor(readonly collection = 'test') {}

  hold(): void {
    this.held ??= [];
  }
  release(): void {
    const waiting = this.held ?? [];
    this.held = null;
    for (const w of waiting) w();
  }
  async ensureCollection(dimension: number): Promise<void> {
    requireDimension(dimension);
    if (this.dimension !== undefined && this.dimension !== dimension) {
      throw new AuraError('CONFIG', `memory collection "${this.collection}" holds vectors of size ${this.dimension}, but the embedding model produces ${dimension}. Fix: use another collection.`);
    }
    this.dimension = dimension;
  }
  async upsert(points: VectorPoint[]): Promise<void> {
    this.attempts += 1;
    if (this.held) await new Promise<void>((r) => this.held!.push(r));
    if (this.failures > 0) {
      this.failures -= 1;
      throw new AuraError('STORE_UNAVAILABLE', `injected: store down (attempt ${this.attempts})`);
    }
    const unique = lastById(points);
    for (const p of unique) this.points.set(p.id, structuredClone(p));
    this.upserts.push(points);
  }
  /** Points of each confirmed deleteUser call: [userId, before]. */
  readonly deletes: Array<[string, number | undefined]> = [];
  async deleteUser(userId: string, before?: number): Promise<number> {
    const gone = [...this.points.values()].filter((p) => p.payload.user_id === userId && (before === undefined || p.payload.window_end < before));
    for (const p of gone) this.points.delete(p.id);
    this.deletes.push([userId, before]);
    return gone.length;
  }
  async search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    const mode = searchMode(options);
    if (options.limit <= 0) return [];
    const dense = (limit: number) =>
      this.matching(options)
        .map((p) => ({ id: p.id, score: cosine(vector, p.vector), payload: structuredClone(p.payload) }))
        .sort(byScore)
        .slice(0, limit);
    if (mode === 'dense') return dense(options.limit);
    if (mode === 'sparse') return this.words(options.text!, options, options.limit);
    const candidates = prefetchLimit(options.limit);
    return rrfFuse([dense(candidates), this.words(options.text!, options, candidates)], options.limit);
  }

  /** BM25 as Qdrant computes it on the sparse vectors: query terms weighted by IDF over every point. */
  private words(text: string, filter: PointFilter, limit: number): SearchHit[] {
    const docs = [...this.points.values()].map((p) => ({ p, v: encodeDocument(p.payload.text) }));
    const df = new Map<number, number>();
    for (const { v } of docs) for (const i of v.indices) df.set(i, (df.get(i) ?? 0) + 1);
    const n = docs.length;
    const query = encodeQuery(text);
    const allowed = new Set(this.matching(filter).map((p) => p.id));
    return docs
      .filter(({ p }) => allowed.has(p.id))
      .map(({ p, v }) => {
        let score = 0;
        let hit = false;
        query.indices.forEach((i) => {
          const at = v.indices.indexOf(i);
          if (at < 0) return;
          hit = true;
          const d = df.get(i) ?? 0;
          score += Math.log(1 + (n - d + 0.5) / (d + 0.5)) * v.values[at]!;
        });
        return hit ? { id: p.id, score, payload: structuredClone(p.payload) } : undefined;
      })
      .filter((h): h is SearchHit => h !== undefined)
      .sort(byScore)
      .slice(0, limit);
  }
  async find(options: PointFilter & { orderBy: OrderBy; limit: number }): Promise<Array<{ id: string; payload: PointPayload }>> {
    const hits = this.matching(options).map((p) => ({ id: p.id, score: null, payload: structuredClone(p.payload) }));
    return orderHits(hits, options.orderBy)
      .slice(0, Math.max(0, options.limit))
      .map((h) => ({ id: h.id, payload: h.payload }));
  }
  async scroll(options: PointFilter = {}): Promise<StoredPoint[]> {
    return this.matching(options)
      .map((p) => ({ id: p.id, payload: structuredClone(p.payload), vector: Float32Array.from(p.vector) }))
      .sort(byId);
  }
  async count(): Promise<number> {
    return this.points.size;
  }
  async deleteIds(ids: string[]): Promise<void> {
    for (const id of ids) this.points.delete(id);
  }
  async existing(ids: string[]): Promise<string[]> {
    return ids.filter((id) => this.points.has(id));
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  private matching(filter: PointFilter): VectorPoint[] {
    return [...this.points.values()].filter(
      (p) =>
        (filter.userId === undefined || p.payload.user_id === filter.userId) &&
        (filter.sinceMs === undefined || p.payload.window_end >= filter.sinceMs) &&
        (filter.untilMs === undefined || p.payload.window_end < filter.untilMs) &&
        (filter.where ?? []).every((c) => holds(p.payload, c)),
    );
  }
}

/** The semantics of src/ports.ts FieldCondition, written out plainly (also what tests check real stores' answers against). */
export function holds(payload: PointPayload, c: FieldCondition): boolean {
  const raw = c.field === 'themes' ? payload.themes : fieldValue(payload, c.field);
  const v = c.value;
  if (c.op === 'ne') return raw !== v;
  if (raw === undefined) return false;
  switch (c.op) {
    case 'eq':
      return raw === v;
    case 'in':
      return Array.isArray(raw) ? raw.some((x) => (v as unknown[]).includes(x)) : (v as unknown[]).includes(raw);
    case 'contains':
      return Array.isArray(raw) && raw.includes(v as string);
    case 'gt':
      return (raw as number) > (v as number);
    case 'gte':
      return (raw as number) >= (v as number);
    case 'lt':
      return (raw as number) < (v as number);
    case 'lte':
      return (raw as number) <= (v as number);
  }
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
