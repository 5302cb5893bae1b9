import { AuraError } from '../errors.js';
import type { FieldCondition, OrderBy, PointFilter } from '../ports.js';
import { FIELD_NAMES, OPS_BY_TYPE, ORDERABLE_FIELDS, QUERY_FIELDS } from './fields.js';

/**
 * The query object a reader sends: the same for `aura-stream search`, the library function
 * `searchContext` and `POST /v1/search` (docs/search.md, CONTEXT_QUERY_SCHEMA). Three kinds:
 * - text only: the points most similar to `text` (cosine), within the filters;
 * - structured (no text): the points matching the filters, ordered by `order_by` (default: the
 *   latest window first, `window_end desc`);
 * - combined (text and order_by): the `candidates` points most similar to `text` within the
 *   filters, re-ordered by `order_by`.
 */
export interface ContextQuery {
  text?: string;
  user_id?: string;
  /** YYYY-MM-DD: only windows ending on or after that UTC day. */
  since?: string;
  /** YYYY-MM-DD: only windows ending on or before that UTC day (inclusive). */
  until?: string;
  filters?: FieldCondition[];
  order_by?: { field: string; direction?: 'asc' | 'desc' };
  limit?: number;
  candidates?: number;
  /**
   * Text queries without order_by are interpreted (src/query/interpret.ts) when the reader has an
   * interpreter: the question's concepts become filters ANDed with these. false: run the text as
   * written.
   */
  interpret?: boolean;
}

export type QueryKind = 'text' | 'structured' | 'combined';

/** A validated query, in the ports' terms. */
export interface CompiledQuery {
  kind: QueryKind;
  text?: string;
  filter: PointFilter;
  /** Set for structured and combined queries. */
  orderBy?: OrderBy;
  limit: number;
  /** Combined queries: how many nearest points are re-ordered. */
  candidates: number;
  /** false when the query said `interpret: false`. */
  interpret: boolean;
}

export const LIMIT_DEFAULT = 5;
export const LIMIT_MAX = 100;
export const CANDIDATES_MAX = 1000;
/** Structured queries without order_by: the latest windows first. */
export const DEFAULT_ORDER: OrderBy = { field: 'window_end', direction: 'desc' };
const DAY_MS = 86_400_000;
const QUERY_KEYS = ['text', 'user_id', 'since', 'until', 'filters', 'order_by', 'limit', 'candidates', 'interpret'] as const;
const TEXT_MAX = 2000;

/** Combined queries re-order this many nearest points unless `candidates` says otherwise. */
export function defaultCandidates(limit: number): number {
  return Math.min(CANDIDATES_MAX, Math.max(20, 4 * limit));
}

function bad(message: string): never {
  throw new AuraError('INVALID_QUERY', message);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `YYYY-MM-DD` → epoch ms of that UTC midnight; INVALID_QUERY naming the expected form otherwise. */
export function parseDay(day: unknown, name: string): number {
  const ms = typeof day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00.000Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== day) bad(`${name} ${JSON.stringify(day)} is not a date: expected YYYY-MM-DD, e.g. "2026-03-01"`);
  return ms;
}

function checkValue(field: string, op: FieldCondition['op'], value: unknown, where: string): FieldCondition['value'] {
  const spec = QUERY_FIELDS[field]!;
  const scalar = (v: unknown, what: string): string | number | boolean => {
    if (spec.type === 'integer' || spec.type === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${what} must be a number for the ${spec.type} field "${field}", got ${JSON.stringify(v)}`);
      if (spec.type === 'integer' && op === 'eq' && !Number.isInteger(v)) bad(`${what} must be an integer for the integer field "${field}", got ${v}`);
      return v;
    }
    if (spec.type === 'boolean') {
      if (typeof v !== 'boolean') bad(`${what} must be true or false for the boolean field "${field}", got ${JSON.stringify(v)}`);
      return v;
    }
    if (typeof v !== 'string') bad(`${what} must be a string for the ${spec.type} field "${field}", got ${JSON.stringify(v)}`);
    if (spec.values && !spec.values.includes(v)) bad(`${what} ${JSON.stringify(v)} is not a value of "${field}": expected one of ${spec.values.join(', ')}`);
    return v;
  };
  if (op === 'in') {
    if (!Array.isArray(value) || value.length === 0 || value.length > 100) bad(`${where}: "in" takes a non-empty array of at most 100 values, got ${JSON.stringify(value)}`);
    return value.map((v, i) => scalar(v, `${where} value[${i}]`) as string | number);
  }
  return scalar(value, `${where} value`);
}

function compileCondition(raw: unknown, i: number): FieldCondition {
  const where = `filters[${i}]`;
  if (!isObject(raw)) bad(`${where} must be an object {field, op, value}, got ${JSON.stringify(raw)}`);
  const extra = Object.keys(raw).filter((k) => !['field', 'op', 'value'].includes(k));
  if (extra.length > 0) bad(`${where} has unknown key(s) ${extra.join(', ')}: a filter is {field, op, value}`);
  const { field, op, value } = raw;
  if (typeof field !== 'string' || !(field in QUERY_FIELDS)) bad(`${where}: unknown field ${JSON.stringify(field)}. Allowed fields: ${FIELD_NAMES.join(', ')}`);
  const ops = OPS_BY_TYPE[QUERY_FIELDS[field]!.type];
  if (typeof op !== 'string' || !(ops as readonly string[]).includes(op)) bad(`${where}: operator ${JSON.stringify(op)} is not allowed on the ${QUERY_FIELDS[field]!.type} field "${field}". Allowed operators: ${ops.join(', ')}`);
  if (value === undefined) bad(`${where}: value is missing`);
  const o = op as FieldCondition['op'];
  return { field, op: o, value: checkValue(field, o, value, where) };
}

function positiveInt(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) bad(`${name} must be an integer in [1, ${max}], got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Validates a query object (from JSON, the CLI or a caller) and compiles it for the ports. Every
 * error is an AuraError INVALID_QUERY naming what is wrong and what is allowed.
 */
export function compileQuery(input: unknown): CompiledQuery {
  if (!isObject(input)) bad(`a query must be a JSON object with some of ${QUERY_KEYS.join(', ')}`);
  const unknownKeys = Object.keys(input).filter((k) => !(QUERY_KEYS as readonly string[]).includes(k));
  if (unknownKeys.length > 0) bad(`unknown query key(s) ${unknownKeys.join(', ')}. Allowed keys: ${QUERY_KEYS.join(', ')}`);
  const q = input as Record<(typeof QUERY_KEYS)[number], unknown>;
  const filter: PointFilter = {};
  let text: string | undefined;
  if (q.text !== undefined) {
    if (typeof q.text !== 'string' || q.text.trim() === '' || q.text.length > TEXT_MAX) bad(`text must be a non-empty string of at most ${TEXT_MAX} characters, e.g. "mood getting worse"`);
    text = q.text;
  }
  if (q.user_id !== undefined) {
    if (typeof q.user_id !== 'string' || q.user_id === '') bad(`user_id must be a non-empty string, got ${JSON.stringify(q.user_id)}`);
    filter.userId = q.user_id;
  }
  if (q.since !== undefined) filter.sinceMs = parseDay(q.since, 'since');
  if (q.until !== undefined) filter.untilMs = parseDay(q.until, 'until') + DAY_MS;
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.untilMs <= filter.sinceMs) bad(`until ${String(q.until)} is before since ${String(q.since)}`);
  if (q.filters !== undefined) {
    if (!Array.isArray(q.filters) || q.filters.length > 32) bad('filters must be an array of at most 32 {field, op, value} objects');
    if (q.filters.length > 0) filter.where = q.filters.map(compileCondition);
  }
  let orderBy: OrderBy | undefined;
  if (q.order_by !== undefined) {
    const o = q.order_by;
    if (!isObject(o)) bad(`order_by must be an object {field, direction}, got ${JSON.stringify(o)}`);
    const extra = Object.keys(o).filter((k) => k !== 'field' && k !== 'direction');
    if (extra.length > 0) bad(`order_by has unknown key(s) ${extra.join(', ')}: it is {field, direction}`);
    if (typeof o.field !== 'string' || !ORDERABLE_FIELDS.includes(o.field)) bad(`order_by: field ${JSON.stringify(o.field)} cannot be ordered by. Orderable fields: ${ORDERABLE_FIELDS.join(', ')}`);
    const direction = o.direction ?? 'desc';
    if (direction !== 'asc' && direction !== 'desc') bad(`order_by.direction must be "asc" or "desc", got ${JSON.stringify(direction)}`);
    orderBy = { field: o.field, direction };
  }
  const limit = q.limit === undefined ? LIMIT_DEFAULT : positiveInt(q.limit, 'limit', LIMIT_MAX);
  const candidates = q.candidates === undefined ? defaultCandidates(limit) : positiveInt(q.candidates, 'candidates', CANDIDATES_MAX);
  if (q.candidates !== undefined && (text === undefined || orderBy === undefined)) bad('candidates applies to combined queries only (text and order_by)');
  if (q.interpret !== undefined && typeof q.interpret !== 'boolean') bad(`interpret must be true or false, got ${JSON.stringify(q.interpret)}`);
  const kind: QueryKind = text === undefined ? 'structured' : orderBy === undefined ? 'text' : 'combined';
  return {
    kind,
    ...(text !== undefined && { text }),
    filter,
    ...((orderBy ?? (kind === 'structured' ? DEFAULT_ORDER : undefined)) && { orderBy: orderBy ?? DEFAULT_ORDER }),
    limit,
    candidates: Math.max(candidates, limit),
    interpret: q.interpret !== false,
  };
}

const DAY_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';

/** JSON schema of one filter, one branch per field type (field names and allowed operators). */
function filterSchema(): Record<string, unknown> {
  const byType = new Map<string, string[]>();
  for (const [name, f] of Object.entries(QUERY_FIELDS)) byType.set(f.type, [...(byType.get(f.type) ?? []), name]);
  const valueOf = (type: string): Record<string, unknown> =>
    type === 'integer' || type === 'number' ? { type: 'number' } : type === 'boolean' ? { type: 'boolean' } : { type: 'string' };
  return {
    type: 'object',
    description: 'A condition on a payload field; the fields, their meanings and operators are listed in docs/search.md.',
    required: ['field', 'op', 'value'],
    oneOf: [...byType.entries()].map(([type, fields]) => {
      const ops = OPS_BY_TYPE[type as keyof typeof OPS_BY_TYPE];
      const scalar = valueOf(type);
      const listOps = ops.filter((o) => o === 'in');
      const scalarOps = ops.filter((o) => o !== 'in');
      const value = listOps.length === 0 ? scalar : { anyOf: [scalar, { type: 'array', items: scalar, minItems: 1, maxItems: 100 }] };
      return {
        title: `${type} field`,
        type: 'object',
        additionalProperties: false,
        required: ['field', 'op', 'value'],
        properties: { field: { enum: fields }, op: { enum: [...scalarOps, ...listOps] }, value },
      };
    }),
  };
}

/**
 * JSON schema (draft 2020-12 / OpenAPI 3.1) of ContextQuery: what an agent's tool definition and
 * serve's OpenAPI document use. compileQuery enforces the same rules and more (values of keyword
 * fields, since ≤ until), with messages naming the fix.
 */
export const CONTEXT_QUERY_SCHEMA: Record<string, unknown> = {
  title: 'ContextQuery',
  type: 'object',
  additionalProperties: false,
  description:
    'Find a user\'s context windows (one per user and UTC day). text only: most similar first. No text: structured, ordered by order_by (default window_end desc = latest first). text and order_by: the `candidates` most similar, re-ordered by order_by.',
  properties: {
    text: { type: 'string', minLength: 1, maxLength: TEXT_MAX, description: 'The question in plain language, matched by meaning against the window\'s text.' },
    user_id: { type: 'string', minLength: 1, description: 'Only this user\'s windows.' },
    since: { type: 'string', pattern: DAY_PATTERN, description: 'YYYY-MM-DD: windows ending on or after this UTC day.' },
    until: { type: 'string', pattern: DAY_PATTERN, description: 'YYYY-MM-DD: windows ending on or before this UTC day (inclusive).' },
    filters: { type: 'array', maxItems: 32, items: filterSchema(), description: 'Conditions on payload fields, all of which must hold.' },
    order_by: {
      type: 'object',
      additionalProperties: false,
      required: ['field'],
      properties: {
        field: { enum: [...ORDERABLE_FIELDS], description: 'A numeric payload field; windows where it is null are left out.' },
        direction: { enum: ['asc', 'desc'], default: 'desc', description: 'asc = lowest first (e.g. lowest mood), desc = highest first (e.g. most active).' },
      },
    },
    limit: { type: 'integer', minimum: 1, maximum: LIMIT_MAX, default: LIMIT_DEFAULT },
    candidates: { type: 'integer', minimum: 1, maximum: CANDIDATES_MAX, description: 'Combined queries only: how many most similar windows are re-ordered (default max(20, 4 × limit)).' },
    interpret: {
      type: 'boolean',
      default: true,
      description:
        'Text without order_by: recognise what the question means in payload terms (low mood, mostly cardio, barely active, a theme, ...) and AND those filters with yours; the answer\'s interpreted_as says what ran. false: run the text as written.',
    },
  },
};
