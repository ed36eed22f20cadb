// A real PgBouncer (Debian's /usr/sbin/pgbouncer) of a test's own, in front of a private cluster:
// its own ini file, port and directory, trust authentication, transaction pooling by default. It
// refuses to run as root, so as root it runs as the postgres user. `restart` kills it (SIGTERM: an
// immediate shutdown that drops every client) and starts it again on the same port; `stop` ends it
// for good (call it from an `after` hook).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const PGBOUNCER_BIN = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

export interface PgBouncer {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database: string): string;
  /** Stops it (SIGTERM: every client dropped), waits `downMs`, starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  port: number;
  /** The PostgreSQL server behind it. */
  upstreamPort: number;
  database: string;
  poolMode?: 'transaction' | 'session';
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  };
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const ids = postgresIds();
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-pgbouncer-'));
  const logFile = join(directory, 'pgbouncer.log');
  const ini = join(directory, 'pgbouncer.ini');
  writeFileSync(join(directory, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(
    ini,
    [
      '[databases]',
      `${options.database} = host=127.0.0.1 port=${options.upstreamPort} dbname=${options.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${options.port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(directory, 'userlist.txt')}`,
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      'admin_users = postgres',
      'max_client_conn = 200',
      'default_pool_size = 10',
      // node-postgres sends the statement timeout as a startup parameter, which PgBouncer refuses
      // unless told to ignore it (the database's own setting applies then; see docs/reliability.md).
      'ignore_startup_parameters = statement_timeout',
      `logfile = ${logFile}`,
      `pidfile = ${join(directory, 'pgbouncer.pid')}`,
      'server_connect_timeout = 2',
      'server_login_retry = 1',
      '',
    ].join('\n'),
  );
  if (ids) chownSync(directory, ids.uid, ids.gid);
  for (const file of ['userlist.txt', 'pgbouncer.ini']) if (ids) chownSync(join(directory, file), ids.uid, ids.gid);

  let child: ChildProcess | undefined;
  async function start(): Promise<void> {
    child = spawn(PGBOUNCER_BIN, [ini], { stdio: 'ignore', ...(ids ?? {}) });
    const deadline = performance.now() + 15_000;
    while (!(await accepting(options.port))) {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${readLog()}`);
      if (performance.now() > deadline) throw new Error(`pgbouncer not accepting after 15 s: ${readLog()}`);
      await sleep(50);
    }
  }
  async function stop(): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  }
  function readLog(): string {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  }

  await start();
  return {
    port: options.port,
    url: (database) => `postgres://postgres@127.0.0.1:${options.port}/${database}`,
    async restart(downMs = 0) {
      await stop();
      await sleep(downMs);
      await start();
    },
    log: readLog,
    async stop() {
      await stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
