// One process owns an embedded (PGlite) data directory. PGlite keeps no lock of its own: a second
// process that opens the same files writes into a database the first one holds in memory, and its
// changes are lost (a CLI revocation that reported success, then was undone). The owner holds a lock
// file created with O_EXCL that names it (pid, host, process start time); a lock whose owner is gone
// (a crash, kill -9, or a pid reused by an unrelated process after a restart) is taken over at once,
// so no heartbeat or timeout is needed. This is why it is not `proper-lockfile`: its staleness is an
// mtime heartbeat (a timer in every process, and a lock left by kill -9 blocks until it ages out),
// made for network filesystems, which PGlite cannot share anyway.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE_NAME = 'portcullis.lock';
/**
 * An unreadable lock file or a takeover guard older than this was left by a process that died while
 * writing it (a window of microseconds); a newer one may be a live process's, still being written.
 */
const ABANDONED_MS = 10_000;

export interface LockOwner {
  pid: number;
  host: string;
  /** Process start time (Linux: clock ticks since boot), telling a reused pid from the owner. */
  started: string | undefined;
  command: string;
}

export class EmbeddedDatabaseInUseError extends Error {
  override name = 'EmbeddedDatabaseInUseError';
  readonly directory: string;
  readonly owner: LockOwner | undefined;
  readonly lockFile: string;

  constructor(directory: string, lockFile: string, owner: LockOwner | undefined) {
    const who = owner ? `process ${owner.pid}${owner.command ? ` (${owner.command})` : ''}${owner.host === hostname() ? '' : ` on host ${owner.host}`}` : 'another process';
    super(`the embedded database in ${directory} is in use by ${who}`);
    this.directory = directory;
    this.lockFile = lockFile;
    this.owner = owner;
  }
}

/** Lock files this process holds. */
const heldByThisProcess = new Set<string>();

export interface EmbeddedLock {
  /** Removes the lock file if it is still this process's; safe to call twice. */
  release(): void;
}

/** Takes the data directory for this process, or throws EmbeddedDatabaseInUseError. */
export function lockEmbeddedDirectory(directory: string): EmbeddedLock {
  const lockFile = join(directory, LOCK_FILE_NAME);
  const me: LockOwner = { pid: process.pid, host: hostname(), started: processStartTime(process.pid), command: process.argv.slice(1).join(' ') };
  const content = `${JSON.stringify(me)}\n`;
  if (!createExclusive(lockFile, content)) {
    const standing = standingLock(lockFile);
    if (standing) throw new EmbeddedDatabaseInUseError(directory, lockFile, standing.owner);
    takeOver(directory, lockFile, content);
  }
  heldByThisProcess.add(lockFile);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    heldByThisProcess.delete(lockFile);
    process.removeListener('exit', release);
    // Never remove a lock that another process has taken over meanwhile.
    if (readFileOrUndefined(lockFile) === content) unlinkSync(lockFile);
  };
  process.on('exit', release);
  return { release };
}

/** Replaces a stale lock; a guard file keeps two processes that both saw it stale from both winning. */
function takeOver(directory: string, lockFile: string, content: string): void {
  const guard = `${lockFile}.takeover`;
  if (!createExclusive(guard, `${process.pid}\n`)) {
    if ((ageMs(guard) ?? Infinity) < ABANDONED_MS) throw new EmbeddedDatabaseInUseError(directory, lockFile, readOwner(lockFile));
    removeIfPresent(guard);
    if (!createExclusive(guard, `${process.pid}\n`)) throw new EmbeddedDatabaseInUseError(directory, lockFile, readOwner(lockFile));
  }
  try {
    // Under the guard, the lock is either still the stale one, gone, or a live owner's that won first.
    const standing = standingLock(lockFile);
    if (standing) throw new EmbeddedDatabaseInUseError(directory, lockFile, standing.owner);
    removeIfPresent(lockFile);
    if (!createExclusive(lockFile, content)) throw new EmbeddedDatabaseInUseError(directory, lockFile, readOwner(lockFile));
  } finally {
    removeIfPresent(guard);
  }
}

function createExclusive(file: string, content: string): boolean {
  let descriptor: number;
  try {
    descriptor = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(descriptor, content);
  } finally {
    closeSync(descriptor);
  }
  return true;
}

/** The lock file's owner if it still holds: a live owner, or an unreadable file too new to judge. */
function standingLock(lockFile: string): { owner: LockOwner | undefined } | undefined {
  const owner = readOwner(lockFile);
  if (owner) return isStale(owner, lockFile) ? undefined : { owner };
  return (ageMs(lockFile) ?? Infinity) < ABANDONED_MS ? { owner: undefined } : undefined;
}

/** The recorded owner; undefined for a missing or unreadable (half-written, foreign) lock file. */
function readOwner(lockFile: string): LockOwner | undefined {
  const text = readFileOrUndefined(lockFile);
  if (text === undefined) return undefined;
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid !== 'number' || typeof owner.host !== 'string') return undefined;
    return { pid: owner.pid, host: owner.host, started: owner.started ?? undefined, command: owner.command ?? '' };
  } catch {
    return undefined;
  }
}

function isStale(owner: LockOwner, lockFile: string): boolean {
  // A process on another host (a shared volume) cannot be checked from here: it holds the lock until
  // it releases it or an operator removes the file.
  if (owner.host !== hostname()) return false;
  // Our own pid: held by this process (opening a directory twice in one process is refused too), or
  // left by an earlier process that had the same pid (a container's pid 1 after a restart).
  if (owner.pid === process.pid) return !heldByThisProcess.has(lockFile);
  if (!isAlive(owner.pid)) return true;
  const started = processStartTime(owner.pid);
  return owner.started !== undefined && started !== undefined && started !== owner.started;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function processStartTime(pid: number): string | undefined {
  const stat = readFileOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function removeIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function readFileOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Milliseconds since the file was last written; undefined when it is gone. */
function ageMs(file: string): number | undefined {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
