import { pino, destination, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr (stdout stays free for CLI output); `trace_id` is carried as a field. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'aura-stream', ...bindings } }, destination({ fd: 2, sync: true }));
}
