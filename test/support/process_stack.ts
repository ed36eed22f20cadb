// The authorization server (`node src/main.ts`, SERVE=authorization) and the MCP server
// (`node src/mcp/main.ts`) as child processes on one PostgreSQL URL, so a process death under a
// database fault is observable; plus what the fault suites need around them: tokens minted in bulk
// through an in-process provider on the same database, and a signed-in account-page browser.
import type Provider from 'oidc-provider';
import { createAccount } from '../../src/storage/account_store.ts';
import { createAuthorizationServer } from '../../src/authorization_server.ts';
import { loadConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { newSecretsKey } from '../../src/secrets/keyring.ts';
import { CookieJar, registerClient, type RegisteredClient } from './oauth_flow.ts';
import { freePort, runCliProcess, type ServerProcess, startProcess } from './processes.ts';
import { TEST_PASSWORD } from './server.ts';
import { mintAccessToken, mintGrant, mintRefreshToken } from './tokens.ts';

export interface ProcessStack {
  authorization: ServerProcess;
  mcp: ServerProcess;
  /** The MCP endpoint (also the resource identifier). */
  mcpUrl: string;
  env: Record<string, string>;
  /** kill -9 the authorization server, then start it again on the same port. */
  killAndRestartAuthorization(): Promise<void>;
  /** `node src/cli/main.ts ...args` with the servers' environment. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Both processes' output, for a failure message. */
  output(): string;
  stop(): Promise<void>;
}

/** Short timeouts so a fault becomes a 503 quickly; request limits off (the workload hammers one address). */
const FAULT_ENV = {
  DATABASE_ACQUIRE_TIMEOUT: '1500',
  DATABASE_CONNECT_TIMEOUT: '1000',
  DATABASE_STATEMENT_TIMEOUT: '1500',
  RATE_LIMIT_TOKEN: '0',
  RATE_LIMIT_REVOKE: '0',
  RATE_LIMIT_REGISTRATION: '0',
  RATE_LIMIT_ADMIN: '0',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '0',
  RATE_LIMIT_LOGIN_PER_ADDRESS: '0',
};

export async function startProcessStack(databaseUrl: string, extraEnv: Record<string, string> = {}): Promise<ProcessStack> {
  const [asPort, mcpPort] = await Promise.all([freePort(), freePort()]);
  const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
  const env = {
    ...FAULT_ENV,
    DATABASE_URL: databaseUrl,
    ISSUER: `http://127.0.0.1:${asPort}`,
    MCP_RESOURCE: mcpUrl,
    KEYS_REFRESH_INTERVAL: '3600',
    // One secrets key for both processes, the CLI and the minter: each opens key material the others
    // sealed (without it, they would share a generated ./data/secrets.key only by sharing a cwd).
    SECRETS_KEY: newSecretsKey(),
    ...extraEnv,
  };
  const start = () => startProcess('authorization', 'src/main.ts', asPort, { ...env, SERVE: 'authorization', PORT: String(asPort) });
  // The authorization server migrates first; the MCP server then finds the schema ready.
  let authorization = await start();
  const mcp = await startProcess('mcp', 'src/mcp/main.ts', mcpPort, { ...env, MCP_PORT: String(mcpPort) });
  let earlier = '';
  return {
    get authorization() {
      return authorization;
    },
    mcp,
    mcpUrl,
    env,
    async killAndRestartAuthorization() {
      earlier += authorization.output();
      authorization.child.kill('SIGKILL');
      await new Promise((resolve) => authorization.child.once('exit', resolve));
      authorization = await start();
    },
    cli: (args) => runCliProcess(args, env),
    output: () => `--- authorization ---\n${earlier}${authorization.output()}\n--- mcp ---\n${mcp.output()}`,
    async stop() {
      await Promise.all([authorization.stop(), mcp.stop()]);
    },
  };
}

/**
 * The process's successful key reloads (portcullis_key_reloads_total{outcome="ok"}), read from its
 * management listener; a /metrics that does not answer is an error, never a silent zero.
 */
export async function keyReloads(server: ServerProcess): Promise<number> {
  const response = await fetch(`${server.metricsOrigin}/metrics`);
  if (!response.ok) throw new Error(`${server.name} ${server.metricsOrigin}/metrics answered ${response.status}`);
  return Number(/portcullis_key_reloads_total\{outcome="ok"\} (\d+)/.exec(await response.text())?.[1] ?? 0);
}

/** True when the process is still running (never exited, never killed by a signal). */
export function alive(server: ServerProcess): boolean {
  return server.child.exitCode === null && server.child.signalCode === null;
}

/** What Node prints when an error escaped every handler (an 'error' event, a rejection, an exception). */
export const CRASH_OUTPUT = /Unhandled 'error' event|UnhandledPromiseRejection|triggerUncaughtException/;

export interface MintedGrant {
  grantId: string;
  accessToken: string;
  refreshToken: string;
}

export interface Minter {
  db: Database;
  client: RegisteredClient;
  account: { id: string; email: string; password: string };
  /** `count` grants of the account to the client, each with an access and a refresh token. */
  mint(count: number): Promise<MintedGrant[]>;
  close(): Promise<void>;
}

/**
 * Grants and tokens stored exactly as the servers' provider stores them (the same models, the same
 * database, the same issuer and resource), many per second — a browser flow per token would be far slower.
 */
export async function openMinter(stack: ProcessStack): Promise<Minter> {
  const config = loadConfig({ NODE_ENV: 'test', ...stack.env, JANITOR_INTERVAL: '0' });
  const db = openDatabase({ ...config.database, poolMax: 4 }, createLogger('silent'));
  const { provider } = await createAuthorizationServer(config, db, createLogger('silent'));
  const client = await registerClient(stack.authorization.origin);
  const created = await createAccount(db, `fault-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`, TEST_PASSWORD);
  const account = { id: created.id, email: created.email, password: TEST_PASSWORD };
  return {
    db,
    client,
    account,
    mint: (count) => mintMany(provider, client.client_id, account.id, stack.mcpUrl, count),
    close: () => db.destroy(),
  };
}

async function mintMany(provider: Provider, clientId: string, accountId: string, resource: string, count: number): Promise<MintedGrant[]> {
  const minted: MintedGrant[] = [];
  for (let i = 0; i < count; i += 1) {
    const grantId = await mintGrant(provider, { clientId, accountId, resource });
    const accessToken = await mintAccessToken(provider, { clientId, accountId, grantId, aud: resource });
    const refreshToken = await mintRefreshToken(provider, { clientId, accountId, grantId, resource });
    minted.push({ grantId, accessToken, refreshToken });
  }
  return minted;
}

/** A browser signed in at the account pages: its cookies and the CSRF token of its forms. */
export interface AccountBrowser {
  jar: CookieJar;
  csrf: string;
  get(path: string): Promise<Response>;
  post(path: string, fields: Record<string, string>): Promise<Response>;
}

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no CSRF field in ${html.slice(0, 200)}`);
  return match[1]!;
}

export async function signInAccountPages(origin: string, account: { email: string; password: string }): Promise<AccountBrowser> {
  const jar = new CookieJar();
  const get = async (path: string) => {
    const response = await fetch(`${origin}${path}`, { headers: { cookie: jar.header(), accept: 'text/html' }, redirect: 'manual' });
    jar.store(response);
    return response;
  };
  const post = async (path: string, fields: Record<string, string>) => {
    const response = await fetch(`${origin}${path}`, {
      method: 'POST',
      headers: { cookie: jar.header(), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    jar.store(response);
    return response;
  };
  const csrf = csrfOf(await (await get('/account')).text());
  const signedIn = await post('/account/sign-in', { csrf, email: account.email, password: account.password });
  if (signedIn.status !== 303) throw new Error(`account sign-in answered ${signedIn.status}`);
  const page = await (await get('/account')).text();
  if (!page.includes('Connected apps')) throw new Error('account page did not show the signed-in view');
  return { jar, csrf: csrfOf(page), get, post };
}

/** The stack on `databaseUrl` and a minter on its database: what each fault suite starts first. */
export async function startStackAndMinter(databaseUrl: string, extraEnv: Record<string, string> = {}): Promise<{ stack: ProcessStack; minter: Minter }> {
  const stack = await startProcessStack(databaseUrl, extraEnv);
  return { stack, minter: await openMinter(stack) };
}

/** Stops what startStackAndMinter started (either may be missing when a `before` failed). */
export async function stopStackAndMinter(stack: ProcessStack | undefined, minter: Minter | undefined): Promise<void> {
  await stack?.stop();
  await minter?.close();
}

/** Both processes still running, and neither printed an error that escaped every handler. */
export function survived(stack: ProcessStack): boolean {
  return alive(stack.authorization) && alive(stack.mcp) && !CRASH_OUTPUT.test(stack.output());
}

/** Registers an afterEach that writes `report()` (the processes' output, database logs) to stderr when a test failed. */
export function reportOnFailure(report: () => string): void {
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${report()}\n`);
  });
}
