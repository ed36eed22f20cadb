// Running the CLI in tests: in-process through runCli over services a suite already holds (output
// captured), or as a real child process (`node src/cli/main.ts`) with its own environment and stdin.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'chai';
import type { CliContext } from '../../src/cli/context.ts';
import { runCli } from '../../src/cli/program.ts';
import { createLogger } from '../../src/logger.ts';
import { createRevocationService } from '../../src/revocation/revocation_service.ts';
import { startTestServer, type TestServer } from './server.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process over `context`, capturing what it writes. */
export async function runCliInProcess(context: CliContext, argv: string[]): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { write: writeOut } = process.stdout;
  const { write: writeErr } = process.stderr;
  const capture = (into: string[]) =>
    ((chunk: string | Uint8Array) => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(stdout);
  process.stderr.write = capture(stderr);
  let code: number;
  try {
    code = await runCli(argv, context);
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

/** A test server and a CLI context over its database and config (silent logger), for runCliInProcess. */
export async function startCliTestServer(): Promise<{ server: TestServer; context: CliContext; resource: string }> {
  const server = await startTestServer();
  const logger = createLogger('silent');
  const context = { config: server.config, db: server.db, logger, revocation: createRevocationService(server.db, logger) };
  return { server, context, resource: server.config.resource };
}

/** Runs the CLI in this process with `--json` added; it must exit 0, and its output is parsed. */
export async function runCliJson<T = Record<string, unknown>>(context: CliContext, argv: string[]): Promise<T> {
  const run = await runCliInProcess(context, [...argv, '--json']);
  expect(run.code, run.stderr).to.equal(0);
  return JSON.parse(run.stdout) as T;
}

/** Runs `node src/cli/main.ts ...argv` with `env` added to this environment (minus DATABASE_URL unless given). */
export async function runCliChild(argv: string[], env: Record<string, string>, input?: string): Promise<CliRun> {
  const { DATABASE_URL: _url, ...environment } = process.env;
  return new Promise((done) => {
    const child = execFile(
      resolve('node_modules/.bin/node'),
      ['src/cli/main.ts', ...argv],
      { env: { ...environment, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin!.end(input ?? '');
  });
}

/** One readable line, no stack trace. */
export function expectOneLineError(run: CliRun, pattern: RegExp): void {
  expect(run.code, run.stdout).to.not.equal(0);
  expect(run.stdout).to.equal('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^error: /).and.match(pattern);
  expect(run.stderr).not.to.match(/\n\s+at /);
}
