// The embedded database's owner lock, in-process: who counts as a live owner, and which locks are
// left over (a dead pid, a pid reused by another process, a half-written file) and taken over at once.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EmbeddedDatabaseInUseError, LOCK_FILE_NAME, lockEmbeddedDirectory } from '../../src/db/embedded_lock.ts';

describe('embedded database owner lock', () => {
  let directory: string;
  let lockFile: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'portcullis-lock-'));
    lockFile = join(directory, LOCK_FILE_NAME);
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  const writeLock = (owner: Record<string, unknown>) => writeFileSync(lockFile, JSON.stringify({ host: hostname(), command: 'earlier', ...owner }));
  const startTime = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  };

  it('names this process in the lock, refuses a second open in the same process, and removes the file on release', () => {
    const lock = lockEmbeddedDirectory(directory);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).to.include({ pid: process.pid, host: hostname() });
    expect(() => lockEmbeddedDirectory(directory)).to.throw(EmbeddedDatabaseInUseError, `in use by process ${process.pid}`);
    lock.release();
    expect(existsSync(lockFile)).to.equal(false);
    lockEmbeddedDirectory(directory).release();
  });

  it('refuses while another live process owns it', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await once(other, 'spawn');
    try {
      writeLock({ pid: other.pid, started: startTime(other.pid!) });
      expect(() => lockEmbeddedDirectory(directory)).to.throw(EmbeddedDatabaseInUseError, `in use by process ${other.pid} (earlier)`);
      expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid, 'the owner keeps its lock').to.equal(other.pid);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock whose process is gone (kill -9)', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await once(other, 'spawn');
    writeLock({ pid: other.pid, started: startTime(other.pid!) });
    other.kill('SIGKILL');
    await once(other, 'exit');
    const lock = lockEmbeddedDirectory(directory);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).to.equal(process.pid);
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process, or to this one after a restart (a container pid 1)', () => {
    writeLock({ pid: 1, started: 'not the start time of pid 1' });
    lockEmbeddedDirectory(directory).release();
    writeLock({ pid: process.pid, started: 'an earlier process' });
    lockEmbeddedDirectory(directory).release();
  });

  it('takes over a half-written lock file left long ago, not one being written now, and keeps one of another host', () => {
    writeFileSync(lockFile, '');
    expect(() => lockEmbeddedDirectory(directory), 'its owner may be writing it').to.throw(EmbeddedDatabaseInUseError, 'in use by another process');
    writeFileSync(lockFile, '{"pid": 12');
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lockFile, aMinuteAgo, aMinuteAgo);
    lockEmbeddedDirectory(directory).release();
    writeLock({ pid: 1, host: 'elsewhere.example', started: '1' });
    expect(() => lockEmbeddedDirectory(directory)).to.throw(EmbeddedDatabaseInUseError, 'on host elsewhere.example');
  });

  it('a stale lock that another process is taking over (its guard file is new) is left to it; an abandoned guard is not', () => {
    writeLock({ pid: process.pid, started: 'an earlier process' });
    const guard = `${lockFile}.takeover`;
    writeFileSync(guard, '12345\n');
    expect(() => lockEmbeddedDirectory(directory)).to.throw(EmbeddedDatabaseInUseError);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).started, 'the lock is untouched').to.equal('an earlier process');
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(guard, aMinuteAgo, aMinuteAgo);
    lockEmbeddedDirectory(directory).release();
    expect(existsSync(guard), 'the guard is gone after the takeover').to.equal(false);
  });
});
