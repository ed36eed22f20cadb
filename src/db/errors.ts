// What a database error means for the caller, decided once for every surface (the HTTP error
// boundary, the CLI): "unreachable or too slow right now" is a 503 and a retry; "this input cannot be
// stored" (a NUL character, invalid UTF-8, a value too long for its column) is the caller's 400;
// anything else is a bug (500).

/** Node network errors seen when the server is unreachable or the connection is cut. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs that are about availability, not the request: connection exceptions (08xxx),
 * the server shutting down or not accepting connections (57P01-57P03), statement timeout or
 * cancellation (57014), too many connections (53300), lock timeout (55P03), serialization and
 * deadlock failures (40001, 40P01).
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '55P03', '40001', '40P01']);

/**
 * Messages of the pg driver and knex for a lost, refused or silent connection. Not anchored: knex
 * prefixes a failed statement's message with its SQL (`select ... - Query read timeout`).
 */
const MESSAGES = [
  /Connection terminated/,
  /Client has encountered a connection error/,
  /Client was closed and is not queryable/,
  /Connection ended unexpectedly/,
  /timeout exceeded when trying to connect/,
  /Query read timeout$/,
  /^timeout expired$/,
  /Timeout acquiring a connection/,
  /Unable to acquire a connection/,
  /\b(?:read|write|connect) (?:ECONNRESET|EPIPE|ECONNREFUSED|ETIMEDOUT)\b/,
];

function describes(error: object): boolean {
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (name === 'KnexTimeoutError') return true;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || TRANSIENT_SQLSTATES.has(code) || code.startsWith('08'))) {
    return true;
  }
  return typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message));
}

/** True when the error, or anything in its cause chain (or an AggregateError's members), is one of the above. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 8 || error === null || typeof error !== 'object') return false;
  if (describes(error)) return true;
  if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * SQLSTATEs raised by values no row could hold: NUL or unencodable characters in text (22021) or in
 * jsonb (22P05), a value too long for its column (22001), text that is not the column's type (22P02).
 */
const INPUT_SQLSTATES = new Set(['22021', '22P05', '22001', '22P02']);

/** True when the database refused a value of the request itself (the caller's fault, a 400). */
export function isUnstorableInput(error: unknown, depth = 0): boolean {
  if (depth > 8 || error === null || typeof error !== 'object') return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && INPUT_SQLSTATES.has(code)) return true;
  return isUnstorableInput((error as { cause?: unknown }).cause, depth + 1);
}
