// A PostgreSQL cluster of a test's own (never the machine's shared one): `initdb` into a temporary
// directory from the machine's binaries, its own port, trust authentication, run as the `postgres`
// user when the test runs as root (postgres refuses root). The test can stop it the three ways an
// operator or a crash does (fast, smart, immediate), start it again, terminate backends, set up a
// streaming standby and promote it. `destroy` stops everything and removes the directory; call it
// from an `after` hook so a failed test leaves nothing running.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync, appendFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

export type StopMode = 'fast' | 'smart' | 'immediate';

export interface PrivateCluster {
  port: number;
  /** The cluster's directory (data, socket, log). */
  directory: string;
  dataDir: string;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  start(): Promise<void>;
  /**
   * pg_ctl stop -m <mode>. With `waitSeconds`, gives up waiting after that long and resolves false
   * (a smart shutdown waits for every session to end); the server stays in its shutdown state.
   */
  stop(mode: StopMode, waitSeconds?: number): Promise<boolean>;
  /** True when the postmaster accepts connections. */
  isReady(): Promise<boolean>;
  /** One statement on a connection of its own (closed afterwards). */
  query<Row = Record<string, unknown>>(sql: string, values?: unknown[], database?: string): Promise<Row[]>;
  /** pg_terminate_backend of every client backend connected to `database` (except this call's); resolves with how many. */
  terminateBackends(database: string, where?: string): Promise<number>;
  /** pg_ctl promote (a standby becomes a primary). */
  promote(): Promise<void>;
  /** The server log so far (for a failure message). */
  log(): string;
  /** Stops the server (immediate) if it runs and removes the directory. */
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  port: number;
  /** Extra postgresql.conf lines, e.g. `synchronous_standby_names = '*'`. */
  settings?: string[];
}

const isRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the postgres user (as root) or as ourselves. */
function runAsPostgres(binary: string, args: string[], timeoutMs = 60_000): string {
  const command = join(POSTGRES_BIN, binary);
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  try {
    return execFileSync(file, argv, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr, status } = error as { stdout?: string; stderr?: string; status?: number };
    throw new Error(`${binary} ${args.join(' ')} failed (${status}): ${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  }
}

/** Same, without blocking the event loop (servers under test keep serving meanwhile). */
function runAsPostgresAsync(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  const command = join(POSTGRES_BIN, binary);
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

function postgresIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  };
}

function newDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-pg-'));
  if (isRoot) {
    const { uid, gid } = postgresIds();
    chownSync(directory, uid, gid);
  }
  return directory;
}

/**
 * Durability matters in these tests (a crash must not lose an acknowledged commit), so
 * synchronous_commit stays on; fsync is off because no test crashes the operating system, only
 * PostgreSQL, and a commit's WAL has reached the kernel by the time it is acknowledged.
 */
const BASE_SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  'fsync = off',
  'synchronous_commit = on',
  'full_page_writes = off',
  'shared_buffers = 32MB',
  'max_connections = 60',
  'max_wal_senders = 4',
  'wal_level = replica',
  'wal_receiver_status_interval = 1s',
  "log_min_messages = 'warning'",
  "log_line_prefix = '%m [%p] %q%a '",
];

function clusterAt(directory: string, port: number): PrivateCluster {
  const dataDir = join(directory, 'data');
  const logFile = join(directory, 'log');
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;

  async function query<Row>(sql: string, values: unknown[] = [], database = 'postgres'): Promise<Row[]> {
    const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(sql, values)).rows as Row[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async function isReady(): Promise<boolean> {
    const { code } = await runAsPostgresAsync('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-q', '-t', '2']);
    return code === 0;
  }

  return {
    port,
    directory,
    dataDir,
    url,
    async start() {
      const { code, output } = await runAsPostgresAsync('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-l', logFile, '-o', `-p ${port} -k ${directory}`, 'start']);
      if (code !== 0) throw new Error(`pg_ctl start failed: ${output}\n${readLog(logFile)}`);
    },
    async stop(mode, waitSeconds) {
      const args = ['-D', dataDir, '-m', mode, 'stop'];
      if (waitSeconds !== undefined) args.splice(2, 0, '-w', '-t', String(waitSeconds));
      const { code, output } = await runAsPostgresAsync('pg_ctl', args);
      if (code === 0) return true;
      if (waitSeconds !== undefined && /server does not shut down/.test(output)) return false;
      throw new Error(`pg_ctl stop -m ${mode} failed: ${output}`);
    },
    isReady,
    query,
    async terminateBackends(database, where = 'true') {
      const rows = await query<{ terminated: boolean }>(
        `select pg_terminate_backend(pid) as terminated from pg_stat_activity
         where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend' and (${where})`,
        [database],
      );
      return rows.filter((row) => row.terminated).length;
    },
    async promote() {
      const { code, output } = await runAsPostgresAsync('pg_ctl', ['-D', dataDir, '-w', 'promote']);
      if (code !== 0) throw new Error(`pg_ctl promote failed: ${output}`);
    },
    log: () => readLog(logFile),
    async destroy() {
      if (existsSync(join(dataDir, 'postmaster.pid'))) {
        await runAsPostgresAsync('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** initdb a new cluster on `port` and start it. */
export async function createPrivateCluster(options: ClusterOptions): Promise<PrivateCluster> {
  const directory = newDirectory();
  const cluster = clusterAt(directory, options.port);
  try {
    runAsPostgres('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale', 'C']);
    appendFileSync(join(cluster.dataDir, 'postgresql.conf'), `\n${[...BASE_SETTINGS, ...(options.settings ?? [])].join('\n')}\n`);
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}

/** The database the fault suites' servers run on. */
export const SUITE_DATABASE = 'portcullis';

/** createPrivateCluster, then SUITE_DATABASE on it (the cluster is destroyed if that fails). */
export async function createClusterWithDatabase(port: number): Promise<PrivateCluster> {
  const cluster = await createPrivateCluster({ port });
  try {
    await cluster.query(`create database ${SUITE_DATABASE}`);
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}

/**
 * A streaming standby of `primary` (pg_basebackup -R: it follows the primary until promoted), under
 * `applicationName` so the primary can name it in synchronous_standby_names.
 */
export async function createStandby(primary: PrivateCluster, options: { port: number; applicationName: string }): Promise<PrivateCluster> {
  const directory = newDirectory();
  const standby = clusterAt(directory, options.port);
  try {
    runAsPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', standby.dataDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
    // -R wrote primary_conninfo; name this standby so synchronous replication can wait for it.
    const autoConf = join(standby.dataDir, 'postgresql.auto.conf');
    const conf = readFileSync(autoConf, 'utf8').replace(/primary_conninfo = '/, `primary_conninfo = 'application_name=${options.applicationName} `);
    writeFileSync(autoConf, conf);
    await standby.start();
  } catch (error) {
    await standby.destroy();
    throw error;
  }
  return standby;
}
