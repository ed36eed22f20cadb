// Writes an UPSTREAM_PROVIDERS_FILE for a test, in a directory of its own.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes `extra` (name: text, e.g. a secret file) into a new directory, then the providers file that
 * `content` makes (given a path in that directory), and returns the providers file's path.
 */
export function writeProvidersFile(content: (pathOf: (name: string) => string) => unknown, extra: Record<string, string> = {}): string {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-upstreams-'));
  const pathOf = (name: string) => join(directory, name);
  for (const [name, text] of Object.entries(extra)) writeFileSync(pathOf(name), text);
  const built = content(pathOf);
  writeFileSync(pathOf('upstreams.json'), typeof built === 'string' ? built : JSON.stringify(built));
  return pathOf('upstreams.json');
}
