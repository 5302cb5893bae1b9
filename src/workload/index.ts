// The synthetic workload behind `aura-stream produce`, the demo, the tests and the benchmarks.
// Only src/cli, test/ and bench/ import it (.dependency-cruiser.cjs `workload-only-from-cli-tests-bench`):
// the stages never depend on how their input was made up.
export { generateEvents } from './generate-events.js';
export { HEAVY_NOTE_LENGTH, HEAVY_SPAN_DAYS, PROFILES } from './profiles.js';
export type { Profile } from './profiles.js';
export { GENERATE_DEFAULTS, latestTimestampMs } from './options.js';
export type { GenerateEventsOptions } from './options.js';
export { GENERATOR_NAMESPACE, generatorUuid, userIdOf } from './ids.js';
export { POISON_ERROR_CODES, POISON_KINDS, RECORD_CLASSES, WIRE_POISON_KINDS } from './records.js';
export type { GeneratedRecord, PoisonKind, RecordClass } from './records.js';
export { createTally, formatSummary, summarize } from './summary.js';
export type { GenerationSummary, GenerationTally } from './summary.js';
export { recordEncoder } from './encode-records.js';
export { produceWorkload } from './send-workload.js';
export type { ProduceOptions } from './send-workload.js';
