// Readers' query path: the query object, its validation and JSON schema, the field catalog, and
// the library function `searchContext` that the CLI, serve and the benchmarks share.
export { CANDIDATES_MAX, CONTEXT_QUERY_SCHEMA, DEFAULT_ORDER, LIMIT_DEFAULT, LIMIT_MAX, compileQuery, defaultCandidates, parseDay } from './context-query.js';
export type { CompiledQuery, ContextQuery, QueryKind } from './context-query.js';
export { FIELD_NAMES, OPS_BY_TYPE, ORDERABLE_FIELDS, QUERY_FIELDS, fieldPath } from './fields.js';
export type { FieldType, QueryField } from './fields.js';
export { fieldValue, orderHits, searchContext } from './search-context.js';
export type { AnsweredBy, ContextAnswer, ContextHit, ContextReader, InterpretedAs } from './search-context.js';
export { serveOpenApi } from './openapi.js';
export { CONCEPTS } from './concepts.js';
export type { Concept } from './concepts.js';
export { CALIBRATIONS, CLAUSE_THRESHOLD, DESCRIPTION_CACHE_FORMAT, INTERPRET_MARGIN, INTERPRET_THRESHOLD, MAX_CLAUSES, MAX_CONCEPTS, SECOND_WITHIN, UNCALIBRATED, calibrationFor, clauses, createInterpreter, descriptionCacheKey, predicate } from './interpret.js';
export type { Calibration, DescriptionCache, InterpretedConcept, Interpretation, Interpreter, InterpreterOptions } from './interpret.js';
