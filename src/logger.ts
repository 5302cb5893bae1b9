import { pino, destination, type DestinationStream, type Logger } from 'pino';
import { SECRET_CONFIG_KEYS } from './config.js';

export type { Logger };

/**
 * Keys whose values never reach a log line, at any depth up to four: the secret config keys, the
 * credential fields of kafkajs (`sasl.username`, `sasl.password`, `ssl.key`), and HTTP credentials carried by
 * client errors (axios keeps request headers in `err.config.headers`).
 */
const SECRET_KEYS = [...SECRET_CONFIG_KEYS, 'password', 'passphrase', 'token', 'apiKey', '"api-key"', 'authorization', 'Authorization', 'userInfo', 'ssl.key', 'sasl.username'];

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const quoted = key.startsWith('"');
  return ['', '*', '*.*', '*.*.*', '*.*.*.*'].map((prefix) => (prefix === '' ? (quoted ? `[${key}]` : key) : `${prefix}${quoted ? `[${key}]` : `.${key}`}`));
});

/** JSON lines on stderr (stdout stays free for CLI output); `trace_id` is carried as a field; secrets redacted. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, stream: DestinationStream = destination({ fd: 2, sync: true })): Logger {
  return pino({ level, base: { service: 'aura-stream', ...bindings }, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } }, stream);
}
