// The embedded database's files hold the server's secrets (encrypted, but still): only this user may
// read or write them. PGlite unpacks a new cluster with files 0666 whatever the umask, and creates
// later files (WAL segments) through the process umask; so the process umask becomes 0077, the data
// directory 0700, and every file under it loses group and world bits, on start and once PGlite is
// ready. A loose entry we own is repaired (a warning says so); one owned by another user is refused,
// since someone else could have put it there.
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
    if ((stats.mode & GROUP_OR_WORLD) !== 0) {
      if (stats.uid !== uid) {
        throw new ConfigError(
          `DATA_DIR: ${path} is open to other users (mode ${(stats.mode & 0o777).toString(8)}) and belongs to uid ${stats.uid}, not this process (uid ${uid}); fix its owner and mode`,
        );
      }
      chmodSync(path, (stats.mode & 0o700) | (stats.isDirectory() ? 0o700 : 0o600));
      repaired.push(path);
    }
    if (stats.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(root);
  return repaired;
}

/** Creates `dir` (and parents) for this user only, and makes an existing one private. */
export function privateDirectory(dir: string, logger?: Logger): void {
  process.umask(0o077);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  report(makePrivate(dir), logger);
}

function report(repaired: string[], logger: Logger | undefined): void {
  if (repaired.length > 0) {
    logger?.warn({ repaired: repaired.length, example: repaired[0] }, 'embedded database files were open to other users: made private');
  }
}

/** PGlite on `$DATA_DIR/pglite`, private to this user before and after it opens. */
export function openPrivateEmbeddedDatabase(dataDir: string, logger?: Logger): PGlite {
  privateDirectory(dataDir, logger);
  const directory = join(dataDir, 'pglite');
  mkdirSync(directory, { mode: 0o700, recursive: true });
  const pglite = new PGlite(directory);
  // A first open unpacks the new cluster with loose modes (PGlite's doing, not worth a warning):
  // tighten them before anyone queries.
  (pglite as { waitReady: Promise<void> }).waitReady = pglite.waitReady.then(() => void makePrivate(directory));
  return pglite;
}
