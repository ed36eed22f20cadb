import { createHash } from 'node:crypto';

/** The storage key of a bearer value: its SHA-256, so a database read yields nothing presentable. */
export function hashTokenValue(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
