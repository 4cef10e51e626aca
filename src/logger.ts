import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Nothing logs requests today; should something log one, its credentials stay out of the logs. */
const REDACT = ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'];

export function createLogger(level: string, instance: string): Logger {
  return pino({ level, base: { instance }, redact: { paths: REDACT, censor: '[redacted]' } });
}
