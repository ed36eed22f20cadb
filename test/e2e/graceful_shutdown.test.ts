// Shutdown that drains, with the processes an operator runs (`npm start`, `npm run start:mcp`, from
// the build): SIGTERM — to npm's pid or to the node it execs — while requests are in flight (their
// headers read by the server, their bodies still arriving): new connections are refused at once,
// every in-flight request gets its whole answer within SHUTDOWN_GRACE_PERIOD, then the process exits
// 0 and leaves no orphan holding the port. A request slower than the grace period is cut at the
// deadline, and the process still exits.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { registerClient } from '../support/oauth_flow.ts';
import { postgresUrl } from '../support/database.ts';
import { createSharedSchema, freePort, type ServerProcess, type SharedSchema, startNpmScript } from '../support/processes.ts';
import { startTestServer } from '../support/server.ts';
import { mintAccessToken, mintGrant } from '../support/tokens.ts';

const ROOT = new URL('../../', import.meta.url);
const GRACE_SECONDS = 6;

interface SlowRequest {
  /** Resolves once the server has read the headers (its `100 Continue`) and half the body is sent. */
  inFlight: Promise<void>;
  /** Sends the rest of the body. */
  finish(): void;
  /** The whole answer, or the error that cut it. */
  answer: Promise<{ status: number; body: string }>;
}

/** A request on a connection of its own whose body arrives in two parts: in flight for as long as the test wants. */
function slowRequest(origin: string, path: string, body: string, headers: Record<string, string>): SlowRequest {
  const half = Math.floor(body.length / 2);
  const outgoing = request(`${origin}${path}`, {
    method: 'POST',
    agent: false,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), expect: '100-continue' },
  });
  const inFlight = once(outgoing, 'continue').then(() => new Promise<void>((resolve) => outgoing.write(body.slice(0, half), () => resolve())));
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('error', reject);
      response.on('aborted', () => reject(new Error('response aborted')));
      response.on('end', () => resolve({ status: response.statusCode!, body: text }));
    });
  });
  answer.catch(() => {}); // awaited later, after the signal: not an unhandled rejection meanwhile
  return { inFlight, finish: () => outgoing.end(body.slice(half)), answer };
}

const tokenRequest = (origin: string) =>
  slowRequest(origin, '/token', 'grant_type=client_credentials&client_id=nobody&client_secret=nothing-at-all', {
    'content-type': 'application/x-www-form-urlencoded',
  });

/** The pids `pid` started (Linux): with `exec` in the script, npm's only child is node itself. */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function connectionRefused(origin: string): Promise<boolean> {
  return fetch(`${origin}/healthz`).then(
    () => false,
    (error: { cause?: { code?: string } }) => error.cause?.code === 'ECONNREFUSED',
  );
}

async function exitOf(server: ServerProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

describe('shutdown that drains (SIGTERM under npm start / npm run start:mcp)', function () {
  this.timeout(180_000);
  let dataDir: string;
  let running: ServerProcess | undefined;
  const started: number[] = [];

  before(async function () {
    this.timeout(120_000);
    // npm start runs the build: make it the build of these sources.
    await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: ROOT });
    dataDir = mkdtempSync(join(tmpdir(), 'portcullis-shutdown-'));
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && running) process.stderr.write(`--- ${running.name} output ---\n${running.output()}\n`);
    if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    // Whatever npm started, even if it outlived npm (the orphan this suite is about).
    for (const pid of started.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    running = undefined;
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  async function npmStart(env: Record<string, string> = {}): Promise<{ server: ServerProcess; nodePid: number; port: number }> {
    const port = await freePort();
    running = await startNpmScript('npm start', 'start', port, {
      DATA_DIR: dataDir,
      SERVE: 'authorization',
      PORT: String(port),
      SHUTDOWN_GRACE_PERIOD: String(GRACE_SECONDS),
      LOG_LEVEL: 'info',
      ...env,
    });
    const [nodePid, ...others] = childrenOf(running.child.pid!);
    started.push(...childrenOf(running.child.pid!), ...(nodePid ? childrenOf(nodePid) : []));
    expect(others, 'npm has one child').to.deep.equal([]);
    expect(commandLine(nodePid!), 'npm start execs node (no shell in between)').to.match(/node bin\/server\.js$/);
    return { server: running, nodePid: nodePid!, port };
  }

  /** In-flight requests across a SIGTERM: all answered in full, new connections refused, exit 0, port freed. */
  async function drainsUnder(signalled: () => void, server: ServerProcess, nodePid: number, requests: SlowRequest[]): Promise<void> {
    await Promise.all(requests.map((slow) => slow.inFlight));
    signalled();
    // The listening socket closes first: the next connection is refused while the others are served.
    let refused = false;
    for (let attempt = 0; attempt < 100 && !refused; attempt += 1) {
      refused = await connectionRefused(server.origin);
      if (!refused) await sleep(20);
    }
    expect(refused, 'new connections are refused after SIGTERM').to.equal(true);
    // The bodies complete one by one over ~2 s, well inside the grace period.
    requests.forEach((slow, index) => setTimeout(() => slow.finish(), 100 + index * 60));
    const answers = await Promise.allSettled(requests.map((slow) => slow.answer));
    const cut = answers.filter((answer) => answer.status === 'rejected').map((answer) => String((answer as PromiseRejectedResult).reason));
    expect(cut, 'requests cut off').to.deep.equal([]);
    for (const answer of answers as PromiseFulfilledResult<{ status: number; body: string }>[]) {
      expect(answer.value.status, answer.value.body).to.be.within(400, 401);
      expect(JSON.parse(answer.value.body)).to.have.property('error');
    }
    expect(await exitOf(server)).to.deep.equal({ code: 0, signal: null });
    expect(isRunning(nodePid), 'no orphaned node process').to.equal(false);
    expect(await connectionRefused(server.origin), 'the port is free').to.equal(true);
    expect(server.output()).to.include('shutting down: finishing requests in flight');
  }

  it('SIGTERM to the npm start pid: every request in flight is answered in full, then npm and node exit 0', async () => {
    const { server, nodePid } = await npmStart();
    const requests = Array.from({ length: 30 }, () => tokenRequest(server.origin));
    await drainsUnder(() => server.child.kill('SIGTERM'), server, nodePid, requests);
  });

  it('SIGTERM to the node pid (and again to npm, as a process-group signal does): the same, and npm exits 0 with it', async () => {
    const { server, nodePid } = await npmStart();
    const requests = Array.from({ length: 30 }, () => tokenRequest(server.origin));
    await drainsUnder(
      () => {
        process.kill(nodePid, 'SIGTERM');
        server.child.kill('SIGTERM');
      },
      server,
      nodePid,
      requests,
    );
  });

  it('a request slower than SHUTDOWN_GRACE_PERIOD is cut at the deadline, and the process still exits 0', async () => {
    const { server, nodePid } = await npmStart({ SHUTDOWN_GRACE_PERIOD: '1' });
    const stalled = tokenRequest(server.origin);
    await stalled.inFlight;
    process.kill(nodePid, 'SIGTERM');
    const outcome = await stalled.answer.then(
      () => 'answered',
      () => 'cut',
    );
    expect(outcome).to.equal('cut');
    expect(await exitOf(server)).to.deep.equal({ code: 0, signal: null });
    expect(isRunning(nodePid)).to.equal(false);
    expect(server.output()).to.include('grace period over');
  });

  (postgresUrl() ? describe : describe.skip)('npm run start:mcp (PostgreSQL)', () => {
    let schema: SharedSchema;
    before(async () => {
      schema = await createSharedSchema();
    });
    after(async () => {
      await schema?.close();
    });

    it('SIGTERM to the npm pid: authenticated MCP requests in flight are answered in full, then it exits 0', async () => {
      const authorization = await startTestServer({ database: { kind: 'postgres', db: schema.db, close: async () => {} } });
      try {
        const port = await freePort();
        const resource = `http://127.0.0.1:${port}/mcp`;
        running = await startNpmScript('npm run start:mcp', 'start:mcp', port, {
          DATABASE_URL: schema.url,
          ISSUER: authorization.baseUrl,
          MCP_RESOURCE: resource,
          MCP_PORT: String(port),
          SHUTDOWN_GRACE_PERIOD: String(GRACE_SECONDS),
          LOG_LEVEL: 'info',
        });
        const server = running;
        const [nodePid] = childrenOf(server.child.pid!);
        started.push(nodePid!);
        expect(commandLine(nodePid!)).to.match(/node bin\/mcp_server\.js$/);
        const client = await registerClient(authorization.baseUrl);
        const grantId = await mintGrant(authorization.provider, { clientId: client.client_id, accountId: 'drain-account', resource });
        const token = await mintAccessToken(authorization.provider, { clientId: client.client_id, accountId: 'drain-account', grantId, aud: resource });
        const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
        const requests = Array.from({ length: 10 }, () =>
          slowRequest(server.origin, '/mcp', call, {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          }),
        );
        await Promise.all(requests.map((slow) => slow.inFlight));
        server.child.kill('SIGTERM');
        requests.forEach((slow, index) => setTimeout(() => slow.finish(), 100 + index * 100));
        const answers = await Promise.allSettled(requests.map((slow) => slow.answer));
        expect(answers.filter((answer) => answer.status === 'rejected').map((answer) => String((answer as PromiseRejectedResult).reason))).to.deep.equal([]);
        for (const answer of answers as PromiseFulfilledResult<{ status: number; body: string }>[]) {
          expect(answer.value.status, answer.value.body).to.equal(200);
          expect(answer.value.body).to.include('"tools"');
        }
        expect(await exitOf(server)).to.deep.equal({ code: 0, signal: null });
        expect(isRunning(nodePid!)).to.equal(false);
        expect(await connectionRefused(server.origin)).to.equal(true);
      } finally {
        await authorization.close();
      }
    });
  });
});
