import { loadConfig, type Config } from '../../src/config.js';
import type { ProduceLimits } from '../../src/adapters/kafka/produce-limits.js';
import { compileVectorizeProduceLimits } from '../../src/cli/options.js';

/**
 * The configuration with no variable set. A test hands an adapter these compiled defaults for the
 * knobs it does not vary, so that every default still lives only in src/config.ts; a test that
 * does vary one overrides that field (and says why).
 */
export const DEFAULT_CONFIG: Config = loadConfig({});

/** STORE_TIMEOUT_MS at its default: the per-request timeout a Qdrant sink is given. */
export const STORE_TIMEOUT_MS = DEFAULT_CONFIG.storeTimeoutMs;

/** PRODUCE_REQUEST_MAX_BYTES at its default, no topic's max.message.bytes read (each at Kafka's default). */
export const DEFAULT_PRODUCE_LIMITS: ProduceLimits = compileVectorizeProduceLimits(DEFAULT_CONFIG);
