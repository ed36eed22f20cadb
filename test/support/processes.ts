// Real server processes for scale-out tests: a fresh PostgreSQL schema, free ports, and children
// started with `node src/main.ts` / `node src/mcp/main.ts` the way an operator would, with their output
// kept for the failure message.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import knex from 'knex';
import type { Database } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { postgresUrl } from './database.ts';

const ROOT = new URL('../../', import.meta.url);

export interface SharedSchema {
  /** DATABASE_URL for child processes: the server plus `options=-c search_path=<schema>`. */
  url: string;
  db: Database;
  close(): Promise<void>;
}

/** A new, migrated schema that several processes can share through one URL. */
export async function createSharedSchema(): Promise<SharedSchema> {
  const base = postgresUrl();
  if (!base) throw new Error('DATABASE_URL is not set');
  const schema = `scale_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: base, pool: { min: 0, max: 1 } });
  await admin.raw('create schema ??', [schema]);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const db = knex({ client: 'pg', connection: url.href, pool: { min: 0, max: 4 } });
  await migrateToLatest(db);
  return {
    url: url.href,
    db,
    async close() {
      await db.destroy();
      await admin.raw('drop schema ?? cascade', [schema]);
      await admin.destroy();
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ServerProcess {
  name: string;
  origin: string;
  /** The management listener's origin (/metrics). */
  metricsOrigin: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node <script>` with `env` and waits until GET <origin>/healthz answers 200. */
export async function startProcess(name: string, script: string, port: number, env: Record<string, string>): Promise<ServerProcess> {
  return startCommand(name, process.execPath, [script], port, env);
}

/** Starts `npm run <script>` as an operator does (npm runs the script, which execs node from dist/), in `cwd` (default: this checkout). */
export async function startNpmScript(name: string, script: string, port: number, env: Record<string, string>, cwd: string | URL = ROOT): Promise<ServerProcess> {
  return startCommand(name, 'npm', ['run', '--silent', script], port, env, cwd);
}

async function startCommand(name: string, command: string, args: string[], port: number, env: Record<string, string>, cwd: string | URL = ROOT): Promise<ServerProcess> {
  const metricsPort = await freePort();
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', JANITOR_INTERVAL: '0', METRICS_PORT: String(metricsPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const origin = `http://127.0.0.1:${port}`;
  // A first start initialises a new embedded data directory: slow on a loaded machine.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${origin}/healthz`).then((response) => response.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become healthy in 90 s:\n${output}`);
    }
    await sleep(100);
  }
  return {
    name,
    origin,
    metricsOrigin: `http://127.0.0.1:${metricsPort}`,
    child,
    output: () => output,
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Runs the CLI (`node src/cli/main.ts ...args`) against `env`; resolves with its exit code and output. */
export async function runCliProcess(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}
