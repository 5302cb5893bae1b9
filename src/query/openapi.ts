import { CONTEXT_QUERY_SCHEMA } from './context-query.js';

/**
 * The OpenAPI 3.1 document of `aura-stream serve`, built from the same query schema compileQuery
 * enforces. The repository keeps a copy in docs/openapi/serve.json (`aura-stream serve
 * --print-openapi` writes it; a test checks the copy is current and every response of the
 * integration test against it); serve answers it on GET /openapi.json.
 */

const nullable = (type: string) => ({ type: [type, 'null'] });
const counts = { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } };

/** PointPayload (src/ports.ts): every field a hit carries. */
const POINT_PAYLOAD = {
  type: 'object',
  description: 'The window\'s statistics, its text and where it came from (docs/search.md lists the fields a query may use).',
  required: [
    'user_id', 'day', 'window_end', 'window_start', 'window_days', 'snapshot_id', 'text', 'mood_count', 'mood_mean', 'mood_trend_per_day',
    'activity_minutes', 'minutes_by_type', 'active_days', 'themes', 'model_id', 'model_version',
  ],
  properties: {
    user_id: { type: 'string' },
    day: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    window_end: { type: 'integer' },
    window_start: { type: 'integer' },
    window_days: { type: 'integer' },
    snapshot_id: { type: 'string' },
    trigger_event_id: { type: 'string' },
    event_count: { type: 'integer' },
    text: { type: 'string' },
    mood_count: { type: 'integer' },
    mood_mean: nullable('number'),
    mood_stddev: nullable('number'),
    mood_min: nullable('number'),
    mood_max: nullable('number'),
    mood_trend_per_day: nullable('number'),
    mood_latest: nullable('string'),
    mood_distribution: counts,
    mood_level: nullable('string'),
    mood_direction: nullable('string'),
    mood_variable: { type: 'boolean' },
    activity_sessions: { type: 'integer' },
    activity_minutes: { type: 'integer' },
    minutes_by_type: counts,
    minutes_by_intensity: counts,
    active_days: { type: 'integer' },
    streak_days: { type: 'integer' },
    main_activity: nullable('string'),
    intensity: nullable('string'),
    top_tags: { type: 'array', items: { type: 'object', required: ['tag', 'count'], properties: { tag: { type: 'string' }, count: { type: 'integer' } } } },
    themes: { type: 'array', items: { type: 'string' } },
    recent_notes: { type: 'array', items: { type: 'string' } },
    aggregator_version: { type: 'string' },
    model_id: { type: 'string' },
    model_version: { type: 'string' },
  },
};

const ANSWERED_BY = {
  type: 'object',
  additionalProperties: false,
  required: ['store', 'alias', 'collection', 'model_id', 'model_version', 'text_version'],
  description: 'The index version that answered: the alias, the physical collection it pointed to, the model its vectors (and the query\'s) were made with and the text version.',
  properties: {
    store: { enum: ['qdrant', 'lancedb'] },
    alias: { type: 'string', description: 'The stable index name (VECTOR_COLLECTION).' },
    collection: { type: 'string', description: 'The physical collection of the version that answered.' },
    model_id: { type: 'string' },
    model_version: { type: 'string', description: 'Hash of the model\'s manifest / ONNX file.' },
    text_version: { type: ['integer', 'null'], description: 'Version of the text renderer; null for an unversioned (legacy) index.' },
  },
};

const HIT = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'score', 'payload'],
  properties: {
    id: { type: 'string', description: 'Point id: UUIDv5 of user and UTC day.' },
    score: { type: ['number', 'null'], description: 'Cosine similarity to the text; null for a structured query.' },
    filled: { const: true, description: 'Present on an interpreted query\'s hits that do not match its interpretation: too few windows did, so the plain text ranking filled the rest.' },
    payload: { $ref: '#/components/schemas/PointPayload' },
  },
};

const INTERPRETED_AS = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['concepts', 'filters', 'matched'],
  description:
    'What a text query ran as after interpretation (ContextQuery.interpret): the concepts recognised, the filters ANDed with the query\'s own, the order for a question about degree, and how many hits match them. null on a text query that ran as written; absent on a structured query.',
  properties: {
    concepts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'similarity'],
        properties: { id: { type: 'string', description: 'A concept of docs/search.md "Query interpretation".' }, similarity: { type: 'number' } },
      },
    },
    filters: { $ref: '#/components/schemas/ContextQuery/properties/filters' },
    order_by: { $ref: '#/components/schemas/ContextQuery/properties/order_by' },
    matched: { type: 'integer', minimum: 0, description: 'Hits that match the interpretation; the others are marked filled.' },
  },
};

const ERROR = {
  type: 'object',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string', description: 'What is wrong and how to fix it.' } },
    },
  },
};

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const error = (description: string) => ({ description, content: json('Error') });

/** Version of the HTTP API (not of the package): bumped when a response changes incompatibly. */
export const SERVE_API_VERSION = '2.0.0';

export function serveOpenApi(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'aura-stream serve',
      version: SERVE_API_VERSION,
      description: 'Query service over the context index: text, structured and combined queries of one query path (docs/search.md). Every answer names the index version that gave it.',
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/search': {
        post: {
          operationId: 'search',
          summary: 'Text, structured or combined query over users\' context windows.',
          description: 'A token bound to one user answers only for that user: user_id defaults to it, another user_id is 403.',
          requestBody: { required: true, content: json('ContextQuery') },
          responses: {
            '200': { description: 'The answer, best first.', content: json('SearchResponse') },
            '400': error('The body is not JSON or not a valid query; the message names the allowed fields, operators or values.'),
            '401': error('No bearer token, or an unknown one.'),
            '403': error('The token is bound to another user.'),
            '413': error('The body is larger than 64 KiB.'),
            '503': error('The index is unavailable; retry later.'),
          },
        },
      },
      '/v1/users/{user_id}/context/latest': {
        get: {
          operationId: 'latestContext',
          summary: 'The user\'s newest context window.',
          parameters: [{ name: 'user_id', in: 'path', required: true, schema: { type: 'string', minLength: 1 } }],
          responses: {
            '200': { description: 'The newest window of the user.', content: json('LatestResponse') },
            '401': error('No bearer token, or an unknown one.'),
            '403': error('The token is bound to another user.'),
            '404': error('The user has no context in the index.'),
            '503': error('The index is unavailable; retry later.'),
          },
        },
      },
      '/healthz': { get: { operationId: 'healthz', security: [], responses: { '200': { description: 'The process serves.' } } } },
      '/readyz': { get: { operationId: 'readyz', security: [], responses: { '200': { description: 'Model loaded and index reachable.' }, '503': { description: 'Not ready; the body says why.' } } } },
      '/metrics': { get: { operationId: 'metrics', security: [], responses: { '200': { description: 'Prometheus text format.' } } } },
      '/openapi.json': { get: { operationId: 'openapi', security: [], responses: { '200': { description: 'This document.' } } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token of SEARCH_TOKENS (bound to one user or to all).' } },
      schemas: {
        ContextQuery: CONTEXT_QUERY_SCHEMA,
        PointPayload: POINT_PAYLOAD,
        AnsweredBy: ANSWERED_BY,
        Hit: HIT,
        InterpretedAs: INTERPRETED_AS,
        SearchResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'answered_by', 'hits'],
          properties: {
            kind: { enum: ['text', 'structured', 'combined'] },
            answered_by: { $ref: '#/components/schemas/AnsweredBy' },
            hits: { type: 'array', items: { $ref: '#/components/schemas/Hit' } },
            interpreted_as: { $ref: '#/components/schemas/InterpretedAs' },
          },
        },
        LatestResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['answered_by', 'hit'],
          properties: { answered_by: { $ref: '#/components/schemas/AnsweredBy' }, hit: { $ref: '#/components/schemas/Hit' } },
        },
        Error: ERROR,
      },
    },
  };
}
