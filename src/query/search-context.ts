import { AuraError } from '../errors.js';
import type { IndexVersion } from '../contracts/index-version.js';
import type { EmbedderInfo, OrderBy, PointPayload, RetrievalMode, VectorReader } from '../ports.js';
import { compileQuery, type CompiledQuery, type ContextQuery, type QueryKind } from './context-query.js';
import { fieldPath } from './fields.js';
import type { Interpretation, Interpreter } from './interpret.js';

/** One answer row: the point, its cosine similarity to the text (null for a structured query) and its payload. */
export interface ContextHit {
  id: string;
  score: number | null;
  payload: PointPayload;
  /** Set on the hits an interpreted query took from the plain text ranking because too few points matched its filters. */
  filled?: true;
}

/** Which index version answered: readers must never mix versions, so every answer names its own. */
export interface AnsweredBy {
  store: 'qdrant' | 'lancedb';
  /** The stable name readers use (VECTOR_COLLECTION): an alias, or a legacy collection's name. */
  alias: string;
  /** The physical collection the alias pointed to when the query ran. */
  collection: string;
  model_id: string;
  model_version: string;
  /** Text renderer version of the collection; null when unknown (a legacy, unversioned index). */
  text_version: number | null;
}

/** What an interpreted question ran as: its concepts, the filters ANDed with the caller's, the order. */
export interface InterpretedAs extends Interpretation {
  /** Hits that match the interpretation; the rest (marked `filled`) come from the plain text ranking. */
  matched: number;
}

export interface ContextAnswer {
  kind: QueryKind;
  answered_by: AnsweredBy;
  hits: ContextHit[];
  /**
   * Set when the reader has an interpreter: what the question ran as, or null when the text ran
   * as written (`interpret: false`, an order_by, no text, or nothing recognised). Absent without an
   * interpreter, so answers of readers that have none keep their shape.
   */
  interpreted_as?: InterpretedAs | null;
}

/** What a query needs: the index, and (for text) the model its points were embedded with. */
export interface ContextReader {
  /** The physical collection to read (the alias's target). */
  reader: VectorReader;
  /** Encodes a question (with the model's query prefix); needed only for queries with text. */
  embedder?: Pick<EmbedderInfo, 'modelId' | 'modelVersion'> & { embedQueries(texts: string[]): Promise<Float32Array[]> };
  /** How a text query ranks (RETRIEVAL_MODE): dense, sparse or hybrid. */
  mode: RetrievalMode;
  /** The alias and the version its target records (src/cli/index-versions.ts resolveAliasTarget). */
  index?: { alias: string; version: IndexVersion | undefined };
  /** Turns a question into payload filters (createInterpreter with the index's model); absent: text runs as written. */
  interpreter?: Interpreter;
  /** Told when interpreting a question failed; the question then runs as written (interpreted_as null). */
  onInterpretError?: (err: unknown) => void;
}

/** A payload field's value (dotted paths reach into maps); undefined when absent or null. */
export function fieldValue(payload: PointPayload, field: string): number | string | boolean | undefined {
  const [head, key] = fieldPath(field);
  const top = (payload as unknown as Record<string, unknown>)[head];
  const v = key === undefined ? top : top !== null && typeof top === 'object' ? (top as Record<string, unknown>)[key] : undefined;
  return v === null || v === undefined ? undefined : (v as number | string | boolean);
}

/** Orders hits by a numeric field (nulls left out); ties by score (best first), then id. */
export function orderHits(hits: ContextHit[], orderBy: OrderBy): ContextHit[] {
  const sign = orderBy.direction === 'asc' ? 1 : -1;
  return hits
    .map((h) => ({ h, v: fieldValue(h.payload, orderBy.field) }))
    .filter((x): x is { h: ContextHit; v: number } => typeof x.v === 'number')
    .sort((a, b) => sign * (a.v - b.v) || (b.h.score ?? 0) - (a.h.score ?? 0) || (a.h.id < b.h.id ? -1 : a.h.id > b.h.id ? 1 : 0))
    .map((x) => x.h);
}

/**
 * The one query path of readers (`aura-stream search`, `aura-stream serve`, benchmarks): validates
 * the query (INVALID_QUERY naming the allowed fields and operators), encodes its text with the
 * index's model, and runs it as a text, structured or combined query (src/query/context-query.ts).
 */
export async function searchContext(ports: ContextReader, query: ContextQuery | CompiledQuery): Promise<ContextAnswer> {
  const q = 'kind' in query && 'filter' in query ? (query as CompiledQuery) : compileQuery(query);
  const { reader, embedder } = ports;
  const notInterpreted = ports.interpreter ? { interpreted_as: null } : {};
  // The version the alias target records wins; else the query's model, else the points' own.
  const answered_by = (model?: { model_id: string; model_version: string; text_version?: number }): AnsweredBy => {
    const v = ports.index?.version ?? model;
    return {
      store: reader.kind,
      alias: ports.index?.alias ?? reader.collection,
      collection: reader.collection,
      model_id: v?.model_id ?? 'unknown',
      model_version: v?.model_version ?? 'unknown',
      text_version: v?.text_version ?? null,
    };
  };
  if (q.text === undefined) {
    // No model loaded: the points name the model that embedded them.
    const rows = await reader.find({ ...q.filter, orderBy: q.orderBy!, limit: q.limit });
    return { kind: q.kind, answered_by: answered_by(rows[0]?.payload), hits: rows.map((r) => ({ id: r.id, score: null, payload: r.payload })), ...notInterpreted };
  }
  if (!embedder) throw new AuraError('INTERNAL', 'searchContext: a query with text needs an embedder (the model of the index)');
  const [vector] = await embedder.embedQueries([q.text]);
  if (!vector) throw new AuraError('MODEL_LOAD', 'the embedder returned no vector for the query text');
  const by = answered_by({ model_id: embedder.modelId, model_version: embedder.modelVersion });
  const search = (filter: CompiledQuery['filter'], limit: number) => reader.search(vector, { ...filter, limit, mode: ports.mode, text: q.text });
  if (q.orderBy === undefined) {
    // Interpretation is an aid: when it fails, the question still gets the answer it had without it.
    const interpretation = q.interpret && ports.interpreter ? await ports.interpreter.interpret(q.text).catch((err: unknown) => (ports.onInterpretError?.(err), null)) : null;
    if (interpretation) return interpreted(q, interpretation, search, by);
    return { kind: q.kind, answered_by: by, hits: await search(q.filter, q.limit), ...notInterpreted };
  }
  const nearest = await search(q.filter, q.candidates);
  return { kind: q.kind, answered_by: by, hits: orderHits(nearest, q.orderBy).slice(0, q.limit), ...notInterpreted };
}

/**
 * An interpreted text query: the interpretation's filters ANDed with the caller's, the text ranking
 * inside them (re-ordered by the interpretation's order_by, as a combined query, when it has one).
 * When fewer than `limit` points match, the plain text ranking fills the rest (marked `filled`), so
 * a question never answers with less than it did uninterpreted.
 */
async function interpreted(
  q: CompiledQuery,
  interpretation: Interpretation,
  search: (filter: CompiledQuery['filter'], limit: number) => Promise<ContextHit[]>,
  by: AnsweredBy,
): Promise<ContextAnswer> {
  const filter = { ...q.filter, where: [...(q.filter.where ?? []), ...interpretation.filters] };
  const orderBy = interpretation.order_by && { field: interpretation.order_by.field, direction: interpretation.order_by.direction };
  const hits = orderBy ? orderHits(await search(filter, q.candidates), orderBy).slice(0, q.limit) : await search(filter, q.limit);
  const matched = hits.length;
  if (matched < q.limit) {
    const seen = new Set(hits.map((h) => h.id));
    for (const h of await search(q.filter, q.limit + matched)) {
      if (hits.length >= q.limit) break;
      if (!seen.has(h.id)) hits.push({ ...h, filled: true });
    }
  }
  return { kind: orderBy ? 'combined' : 'text', answered_by: by, hits, interpreted_as: { ...interpretation, matched } };
}
