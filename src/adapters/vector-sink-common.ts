import { AuraError } from '../errors.js';
import type { PointPayload, SearchHit, SearchOptions, VectorPoint } from '../ports.js';

/**
 * What the Qdrant and LanceDB sinks share: which point of a repeated id is written, how a
 * dimension is validated and a mismatch explained, the orders of results, and how a store failure
 * becomes an AuraError naming the store, the operation, the collection and the location.
 */

/** Last occurrence of an id wins, in first-occurrence order: one upsert never writes an id twice. */
export function lastById(points: readonly VectorPoint[]): VectorPoint[] {
  const byId = new Map<string, VectorPoint>();
  for (const p of points) byId.set(p.id, p);
  return [...byId.values()];
}

/** A model dimension must be a positive integer before any collection is created with it. */
export function requireDimension(dimension: number): void {
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new AuraError('CONFIG', `vector dimension must be a positive integer, got ${dimension}`);
  }
}

/** The CONFIG error of a collection whose vectors have another size than the model's. */
export function dimensionMismatch(where: string, found: number | undefined, dimension: number, deleteWhat: string): AuraError {
  return new AuraError(
    'CONFIG',
    `${where} holds vectors of size ${found ?? 'unknown'}, but the embedding model produces ${dimension}. ` +
      `Fix: configure another collection name, or delete ${deleteWhat} so it is recreated with size ${dimension} ` +
      `(its points were made by another model and must be re-embedded anyway).`,
  );
}

export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Best score first; equal scores by id, so both stores order ties alike. */
export function byScore(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || byId(a, b);
}

/** Where a store operation ran, for error messages: `<Store> <op> on "<collection>" at <location>`. */
export function storeWhere(store: string, op: string, collection: string, location: string): string {
  return `${store} ${op} on "${collection}" at ${location}`;
}

/**
 * Runs one store operation; a failure that is not already an AuraError goes through the store's
 * own `toError` (which knows its client's failure shapes), so every sink rejects with AuraErrors only.
 */
export async function guarded<T>(fn: () => Promise<T>, toError: (err: unknown) => AuraError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof AuraError ? err : toError(err);
  }
}

/** A scrolled point. */
export type StoredPoint = { id: string; payload: PointPayload; vector?: Float32Array };

/**
 * Reciprocal rank fusion's k in both stores: a point's fused score is Σ 1/(RRF_K + rank) over the
 * rankings it appears in, ranks from 0 (Qdrant's formula). 60 is the customary value; Qdrant's own
 * default (2) lets the first few ranks of one list dominate.
 */
export const RRF_K = 60;

/** Candidates each side of a hybrid query contributes before fusion. */
export function prefetchLimit(limit: number): number {
  return Math.max(4 * limit, 40);
}

/** Fuses rankings (best first) by RRF; the result is ordered by fused score, ties by id. */
export function rrfFuse(rankings: ReadonlyArray<readonly SearchHit[]>, limit: number): SearchHit[] {
  const fused = new Map<string, SearchHit>();
  for (const ranking of rankings) {
    ranking.forEach((hit, rank) => {
      const prev = fused.get(hit.id);
      fused.set(hit.id, { id: hit.id, payload: hit.payload, score: (prev?.score ?? 0) + 1 / (RRF_K + rank) });
    });
  }
  return [...fused.values()].sort(byScore).slice(0, limit);
}

/** The mode of a search, checked: `sparse` and `hybrid` need the query text. */
export function searchMode(options: SearchOptions): NonNullable<SearchOptions['mode']> {
  const mode = options.mode ?? 'dense';
  if (mode !== 'dense' && (options.text === undefined || options.text.trim() === '')) {
    throw new AuraError('INTERNAL', `a ${mode} search needs the query text (options.text)`);
  }
  return mode;
}
