import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One logger per process: JSON lines for machines, pino-pretty when a person
 * is watching a terminal. Level from ZOOID_LOG_LEVEL (default info).
 */
export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.ZOOID_LOG_LEVEL ?? 'info';
  const pretty = process.stderr.isTTY && process.env.ZOOID_LOG_FORMAT !== 'json';
  const transport = pretty
    ? pino.transport({ target: 'pino-pretty', options: { destination: 2, ignore: 'hostname', translateTime: 'HH:MM:ss.l' } })
    : pino.destination({ dest: 2, sync: true });
  return pino({ name, level, base: { pid: process.pid, ...bindings } }, transport);
}
