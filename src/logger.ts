// Structured JSON logs (pino). Anything that could carry a secret is redacted at the source.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'portcullis' },
    redact: {
      paths: ['*.authorization', '*.cookie', '*.password', '*.token', '*.client_secret', '*.refresh_token', '*.code'],
      censor: '[redacted]',
    },
  });
}
