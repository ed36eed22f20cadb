// Structured JSON logs (pino). Anything that could carry a secret is redacted at the source.
import { type DestinationStream, pino, type Logger } from 'pino';
import { currentRequestId } from './observability/request_context.ts';

export type { Logger };

/** `destination` defaults to stdout (tests pass a stream to read the lines). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'portcullis' },
    // Every line written while a request is served names it (see observability/request_context.ts).
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { requestId } : {};
    },
    redact: {
      paths: ['*.authorization', '*.cookie', '*.password', '*.token', '*.client_secret', '*.refresh_token', '*.access_token', '*.id_token', '*.code', '*.code_verifier', '*.secret'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
