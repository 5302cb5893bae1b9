import { createHash } from 'node:crypto';
import type { Embedder, EmbedderInfo, FieldCondition } from '../ports.js';
import { CONCEPTS, type Concept } from './concepts.js';

/**
 * The query interpreter: turns a plain-language question into the payload filters (and, for
 * questions about degree, the order) it means, so "barely exercised", "not happy at all" or
 * "stressed about work and not sleeping" select the points whose statistics say so instead of
 * the points whose text merely sounds alike. Recognition uses the index's own embedding model:
 * the question and the concepts' everyday descriptions (src/query/concepts.ts) are embedded alike
 * and compared by cosine; a concept is taken when its best description is close enough and clearly
 * closer than its aspect's other concepts. Up to MAX_CONCEPTS concepts of different aspects (or
 * several themes) combine with AND: the question is also read clause by clause ("…, and …", at
 * most MAX_CLAUSES clauses), each clause giving its own concept. (A second concept from the whole
 * question alone, `secondWithin`, is off by default: it added wrong concepts on the tuning half.)
 * Only a model with a calibration (CALIBRATIONS) is interpreted: another model's cosine scale is
 * unknown, so its questions run as written.
 *
 * Questions about something the payload does not measure (sleep hours, diet, …) stay below the
 * threshold and return null: the text then runs as written.
 */

export interface InterpretedConcept {
  id: string;
  /** Cosine similarity of the question (or its clause) to the concept's closest description. */
  similarity: number;
}

export interface Interpretation {
  concepts: InterpretedConcept[];
  /** The concepts' filters, all of which must hold. */
  filters: FieldCondition[];
  /** From the first concept that has one: the degree the question asks about. */
  order_by?: { field: string; direction: 'asc' | 'desc' };
}

export interface Interpreter {
  /** null: nothing in the catalogue is meant clearly enough; run the text as written. */
  interpret(text: string): Promise<Interpretation | null>;
}

export interface InterpreterOptions {
  /** Minimum cosine of a concept's best description (default: the model's calibration, CALIBRATIONS). */
  threshold?: number;
  /** How much closer than the other concepts of its aspect a concept must be (default: the model's calibration). */
  margin?: number;
  /** A second concept from the whole question: at most this far below the first (default SECOND_WITHIN). */
  secondWithin?: number;
  /** Minimum cosine for a clause's concept: short fragments match loosely (default: the model's calibration). */
  clauseThreshold?: number;
  concepts?: readonly Concept[];
  /**
   * Where the descriptions' vectors are kept between processes (the CLI: a file under STATE_DIR,
   * src/adapters/file-description-cache.ts), so a new process does not embed them again. Used only
   * when the embedder names its model fully (id, version, manifest hash): those and the texts are
   * the key. Absent: embedded on first use, kept for this interpreter only.
   */
  descriptionCache?: DescriptionCache;
}

/**
 * Vectors of the interpreter's descriptions, stored under a key that covers everything they depend
 * on (descriptionCacheKey). Neither method may fail the interpreter: `get` answers undefined for a
 * missing, unreadable or damaged entry (the vectors are then embedded again and `put`), and the
 * interpreter checks the shape of what it gets (count, dimension) before using it.
 */
export interface DescriptionCache {
  get(key: string): Promise<Float32Array[] | undefined>;
  put(key: string, vectors: readonly Float32Array[]): Promise<void>;
}

/** Bumped when the way descriptions are embedded changes in a way the key's inputs do not show. */
export const DESCRIPTION_CACHE_FORMAT = 1;

/**
 * The cache key of a model's description vectors (sha256 hex): the model's identity (id, ONNX
 * version, manifest hash: pooling, normalisation, query prefix), how the texts are embedded
 * (as documents, `embed`) and the texts in order. A change of any of them is another key.
 */
export function descriptionCacheKey(model: Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'>, texts: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify({ format: DESCRIPTION_CACHE_FORMAT, model_id: model.modelId, model_version: model.modelVersion, manifest_sha256: model.manifestSha256, embedded_as: 'document', texts }))
    .digest('hex');
}

/** Chosen on the tuning half of bench/retrieval.ts (docs/retrieval.md "Query interpretation"), for bge-small. */
export const INTERPRET_THRESHOLD = 0.74;
export const INTERPRET_MARGIN = 0.02;
export const SECOND_WITHIN = 0;
export const CLAUSE_THRESHOLD = 0.8;

export interface Calibration {
  threshold: number;
  clauseThreshold: number;
  margin: number;
}

/**
 * Cosine scales differ between models (MiniLM's paraphrases sit lower than bge-small's), so the
 * thresholds are per model family, matched in the embedder's model id. Each was chosen on the
 * tuning half with that model. A model without one interprets nothing (UNCALIBRATED): borrowed
 * thresholds would match concepts too eagerly or never, and silently narrow or not its answers.
 */
export const CALIBRATIONS: ReadonlyArray<{ model: string; calibration: Calibration }> = [
  { model: 'bge-small-en-v1.5', calibration: { threshold: INTERPRET_THRESHOLD, clauseThreshold: CLAUSE_THRESHOLD, margin: INTERPRET_MARGIN } },
  { model: 'all-MiniLM-L6-v2', calibration: { threshold: 0.55, clauseThreshold: 0.6, margin: INTERPRET_MARGIN } },
];

/** No concept reaches an infinite threshold: the questions of an uncalibrated model run as written. */
export const UNCALIBRATED: Calibration = { threshold: Infinity, clauseThreshold: Infinity, margin: INTERPRET_MARGIN };

/** The calibration of a model id (e.g. `bge-small-en-v1.5-q`, `Xenova/all-MiniLM-L6-v2`); UNCALIBRATED for another. */
export function calibrationFor(modelId: string | undefined): Calibration {
  return CALIBRATIONS.find((c) => modelId?.includes(c.model))?.calibration ?? UNCALIBRATED;
}
/** At most this many concepts combine (e.g. two themes and a mood level). */
export const MAX_CONCEPTS = 3;
/**
 * At most this many clauses are read (each is one more embedding): a question of hundreds of
 * commas must not cost hundreds of passes on the model every other request shares.
 */
export const MAX_CLAUSES = 6;
/** Aspects whose concepts can hold together (a window has up to three themes); the others exclude each other. */
const MULTI_ASPECTS: ReadonlySet<Concept['aspect']> = new Set(['theme']);

type Vectors = Pick<Embedder, 'embed'> & Partial<Pick<Embedder, 'modelId' | 'modelVersion' | 'manifestSha256' | 'dimension'>>;

/** Vectors from a cache fit when there is one per text, all of one non-zero length (the model's, when known). */
function usable(vectors: readonly Float32Array[] | undefined, count: number, dimension: number | undefined): vectors is Float32Array[] {
  if (!Array.isArray(vectors) || vectors.length !== count) return false;
  const length = dimension ?? vectors[0]?.length ?? 0;
  return length > 0 && vectors.every((v) => v instanceof Float32Array && v.length === length);
}

interface Scored {
  concept: Concept;
  similarity: number;
}

/** Pairs joined by "and" that say one thing ("more and more", "ups and downs"): never split. */
const BINOMIAL = /\b(\w+) and \1\b|\b(?:ups? and downs?|highs and lows|on and off|off and on|back and forth|day and night|now and then|sick and tired)\b/gi;

/** Clauses joined by a conjunction or a comma: "sad, and not exercising" → ["sad", "not exercising"]. */
export function clauses(text: string): string[] {
  return text
    .replace(BINOMIAL, (pair) => pair.replace(/ and /i, '\u0000'))
    .split(/\s*(?:,|;|\band\b|\bbut\b|\bwhile\b|\bplus\b|\balso\b|\babout\b)\s*/i)
    .map((s) => predicate(s.replace(/\u0000/g, ' and ').trim()))
    .filter((s) => /[a-z]{3,}/i.test(s));
}

const SUBJECT = /^(?:(?:i|i'm|im|i've|ive|i'd|she|she's|he|he's|they|they're|they've|we|we're|you|you're|someone|somebody|anyone|a user|users?|people|a person|person)\b\s*)(?:(?:who|whose|that)\b\s*)?(?:(?:is|are|was|were|am|has|have|had|been|being|seems?|looks?|'s|'re|'m|'ve)\b\s*)*/i;

/** "keeps mentioning her job", "talks about …": the topic is what counts. */
const MENTION = /^(?:(?:keeps|always|often|still)\s+)?(?:mentions?|mentioning|talks?|talking|speaks?|speaking|brings? up|bringing up)\b\s*(?:about\b|of\b)?\s*/i;
/** "… comes up a lot": likewise. */
const COMES_UP = /\s+(?:comes?|keeps? coming|came)\s+up\b.*$/i;

/**
 * The part of a clause that says something: its leading subject and auxiliaries dropped ("she is
 * sad" → "sad", "someone who is tense" → "tense"), and a frame of mentioning around a topic
 * ("keeps mentioning her job" → "her job", "family comes up often" → "family"), since the
 * descriptions have neither and they only add distance. Unchanged when nothing would be left.
 */
export function predicate(clause: string): string {
  const rest = clause.replace(SUBJECT, '').replace(MENTION, '').replace(COMES_UP, '').trim();
  return /[a-z]{3,}/i.test(rest) ? rest : clause;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * An interpreter over one embedder (the index's model): the descriptions are embedded on first
 * use and kept, so a reader pays for them once per model (once per model and description set, with
 * `descriptionCache`, across processes). Question and descriptions are both
 * embedded as documents (`embed`): short phrase against short phrase; bge-small's query prefix
 * gained nothing on the tuning half (docs/retrieval.md).
 */
export function createInterpreter(embedder: Vectors, options: InterpreterOptions = {}): Interpreter {
  const calibration = calibrationFor(embedder.modelId);
  const threshold = options.threshold ?? calibration.threshold;
  const margin = options.margin ?? calibration.margin;
  const secondWithin = options.secondWithin ?? SECOND_WITHIN;
  const clauseThreshold = options.clauseThreshold ?? calibration.clauseThreshold;
  const concepts = options.concepts ?? CONCEPTS;
  const cache = options.descriptionCache;
  const { modelId, modelVersion, manifestSha256 } = embedder;
  let described: Promise<Array<{ concept: Concept; vectors: Float32Array[] }>> | undefined;
  /** From the cache when it holds them for this key; else embedded, and stored for the next process. */
  const embedDescriptions = async (texts: string[]): Promise<Float32Array[]> => {
    const key = cache && modelId && modelVersion && manifestSha256 ? descriptionCacheKey({ modelId, modelVersion, manifestSha256 }, texts) : undefined;
    if (cache && key) {
      const cached = await cache.get(key).catch(() => undefined);
      if (usable(cached, texts.length, embedder.dimension)) return cached;
    }
    const vectors = await embedder.embed(texts);
    // A store that cannot write (read-only STATE_DIR) costs the next process the embedding, never this answer.
    if (cache && key) await cache.put(key, vectors).catch(() => undefined);
    return vectors;
  };
  const descriptions = () => {
    if (!described) {
      described = (async () => {
        const texts = concepts.flatMap((c) => c.descriptions);
        const vectors = await embedDescriptions(texts);
        let i = 0;
        return concepts.map((concept) => ({ concept, vectors: concept.descriptions.map(() => vectors[i++]!) }));
      })();
      // A failed load is not cached: the next question tries again (one handler per load, not per question).
      described.catch(() => (described = undefined));
    }
    return described;
  };

  /** Concepts by similarity, best first, each scored by its closest description. */
  const rank = (vector: Float32Array, table: Awaited<ReturnType<typeof descriptions>>): Scored[] =>
    table
      .map(({ concept, vectors }) => ({ concept, similarity: Math.max(...vectors.map((v) => cosine(vector, v))) }))
      .sort((a, b) => b.similarity - a.similarity);

  /** Can `s` join `chosen`: a new concept, and one per aspect except themes (a window has several). */
  const fits = (chosen: readonly Scored[], s: Scored) =>
    !chosen.some((c) => c.concept === s.concept || (c.concept.aspect === s.concept.aspect && !MULTI_ASPECTS.has(s.concept.aspect)));

  /**
   * The best concept of a ranking that fits `chosen`, when it passes the threshold and (in an aspect
   * of exclusive concepts, e.g. better/worse) stands clear of its aspect's others.
   */
  const accepted = (ranked: readonly Scored[], chosen: readonly Scored[] = [], floor = threshold): Scored | undefined => {
    const best = ranked.find((s) => fits(chosen, s));
    if (!best || best.similarity < floor) return undefined;
    if (MULTI_ASPECTS.has(best.concept.aspect)) return best;
    const rival = ranked.find((s) => s !== best && s.concept.aspect === best.concept.aspect);
    return rival && best.similarity - rival.similarity < margin ? undefined : best;
  };

  return {
    async interpret(text) {
      const table = await descriptions();
      const parts = clauses(text).slice(0, MAX_CLAUSES);
      const inputs = parts.length > 1 ? [predicate(text), ...parts] : [predicate(text)];
      const vectors = await embedder.embed(inputs);
      const chosen: Scored[] = [];
      const add = (s: Scored | undefined) => {
        if (s && chosen.length < MAX_CONCEPTS && fits(chosen, s)) chosen.push(s);
      };
      // Clause by clause ("sad, and not exercising"): each clause's own concept, best first.
      vectors
        .slice(1)
        .map((v) => accepted(rank(v, table), [], clauseThreshold))
        .filter((s): s is Scored => s !== undefined)
        .sort((a, b) => b.similarity - a.similarity)
        .forEach(add);
      // The whole question: its best concept, and a second one nearly as close ("work pressure keeping me up at night").
      const whole = rank(vectors[0]!, table);
      // With clauses read, the whole (a blend of them) adds a concept only when it is about as clear
      // as the weakest clause's (within the margin): a blend's vague match is not a second fact.
      const floor = chosen.length > 0 ? Math.max(clauseThreshold, Math.min(...chosen.map((c) => c.similarity)) - margin) : threshold;
      const first = accepted(whole, [], floor);
      const second = first && accepted(whole, [first]);
      add(first);
      if (first && second && secondWithin > 0 && second.similarity >= first.similarity - secondWithin) add(second);
      if (chosen.length === 0) return null;
      const order = chosen.find((s) => s.concept.order_by)?.concept.order_by;
      return {
        concepts: chosen.map((s) => ({ id: s.concept.id, similarity: Math.round(s.similarity * 1e4) / 1e4 })),
        filters: chosen.flatMap((s) => s.concept.filters.map((f) => ({ ...f }))),
        ...(order && { order_by: { ...order } }),
      };
    },
  };
}
