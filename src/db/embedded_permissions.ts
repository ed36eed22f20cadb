// The embedded database's files hold the server's secrets (encrypted, but still): only this user may
// read or write them. PGlite unpacks a new cluster with files 0666 whatever the umask, and creates
// later files (WAL segments) through the process umask; so the process umask becomes 0077, a new
// DATA_DIR is made 0700, and `$DATA_DIR/pglite` with everything in it (and the secrets key file)
// loses group and world bits, on start and once PGlite is ready. A loose entry is repaired (a warning
// says so); an entry owned by another user is refused, since someone else could have put it there.
// An existing DATA_DIR itself is left as the operator made it (it may be a shared parent).
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { ConfigError } from '../config.ts';
import type { Logger } from '../logger.ts';

const GROUP_OR_WORLD = 0o077;

/** Strips group and world access from `root` and everything under it; returns the paths repaired. */
export function makePrivate(root: string): string[] {
  const uid = process.getuid?.();
  if (uid === undefined) return []; // no POSIX modes to tighten (Windows)
  const repaired: string[] = [];
  const visit = (path: string) => {
    const stats = lstatSync(path);
    if (stats.isSymbolicLink()) return;
    if (stats.uid !== uid) {
      throw new ConfigError(`DATA_DIR: ${path} belongs to uid ${stats.uid}, not to this process (uid ${uid}); only the server's user may own its data`);
    }
    if ((stats.mode & GROUP_OR_WORLD) !== 0) {
      chmodSync(path, (stats.mode & 0o700) | (stats.isDirectory() ? 0o700 : 0o600));
      repaired.push(path);
    }
    if (stats.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(root);
  return repaired;
}

/** Creates `dir` (and parents) for this user only; from now on this process creates private files. */
export function privateDirectory(dir: string): void {
  process.umask(0o077);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function report(repaired: string[], logger: Logger | undefined): void {
  if (repaired.length > 0) {
    logger?.warn({ repaired: repaired.length, example: repaired[0] }, 'embedded database files were open to other users: made private');
  }
}

/** PGlite on `$DATA_DIR/pglite`, private to this user before and after it opens. */
export function openPrivateEmbeddedDatabase(dataDir: string, logger?: Logger): PGlite {
  privateDirectory(dataDir);
  const directory = join(dataDir, 'pglite');
  mkdirSync(directory, { mode: 0o700, recursive: true });
  report(makePrivate(directory), logger);
  const pglite = new PGlite(directory);
  // A first open unpacks the new cluster with loose modes (PGlite's doing, not worth a warning):
  // tighten them before anyone queries.
  (pglite as { waitReady: Promise<void> }).waitReady = pglite.waitReady.then(() => void makePrivate(directory));
  return pglite;
}
