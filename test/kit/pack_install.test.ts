// What a user does to protect their own MCP server (docs/protect-your-mcp-server.md), done for real:
// this project packed (`npm pack`, which builds it), the tarball installed into a fresh project with
// runtime dependencies only, examples/express-mcp-server copied there and started with `node`, in
// front of a Portcullis authorization server on a database of its own. The MCP SDK's client then goes
// through authorization and a tool call; a revoked token fails on the next call (401); an outage is a
// 503 with Retry-After — the database cut in database mode, the authorization server stopped in
// introspection mode.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createAccount } from '../../src/storage/account_store.ts';
import { newSecretsKey } from '../../src/secrets/keyring.ts';
import { postgresUrl } from '../support/database.ts';
import { connectMcpClient, HeadlessOAuthProvider } from '../support/mcp_client.ts';
import { bearerChallenge, callTool } from '../support/mcp_server.ts';
import { revoke } from '../support/oauth_flow.ts';
import { createSharedSchema, freePort, runCliProcess, type ServerProcess, type SharedSchema, startProcess } from '../support/processes.ts';
import { createProxiedDatabase, type ProxiedDatabase } from '../support/proxied_database.ts';
import { TEST_PASSWORD } from '../support/server.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/express-mcp-server');

/** Registers the example's resource with its own scopes; prints its introspection client. */
const REGISTER_RESOURCE = (resource: string) => [
  'resources', 'add', resource, '--name', 'Example MCP server',
  '--scope', 'example:echo=repeat what you send', '--scope', 'example:profile=see which app is calling', '--json',
];

/** npm's own variables from an outer `npm test` must not steer the inner npm. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
}

/** The packed tarball installed with its runtime dependencies only, plus the example's own (the SDK, Express, zod). */
async function installedProject(): Promise<{ directory: string; tarball: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-kit-'));
  const env = cleanEnvironment();
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', directory], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
  // npm pack runs `prepare` (the build) first and prints its output before the JSON.
  const tarball = join(directory, (JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as { filename: string }[])[0]!.filename);
  const example = JSON.parse(readFileSync(join(EXAMPLE, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const project = join(directory, 'project');
  const dependencies = { ...example.dependencies, portcullis: `file:${tarball}` };
  await run('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-mcp-server', private: true, type: 'module', dependencies }, null, 2));
  await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, env, maxBuffer: 64 * 1024 * 1024 });
  copyFileSync(join(EXAMPLE, 'server.mjs'), join(project, 'server.mjs'));
  return { directory: project, tarball };
}

interface Example {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `node server.mjs` in the installed project, ready once its metadata answers. */
async function startExample(project: string, port: number, env: Record<string, string>): Promise<Example> {
  const url = `http://127.0.0.1:${port}/mcp`;
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: project,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), RESOURCE: url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the example exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', url)).then((response) => response.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the example did not start in 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface AuthorizationServer {
  server: ServerProcess;
  env: Record<string, string>;
  /** Starts it again after a stop, on the same port with the same settings. */
  restart(): Promise<void>;
}

/** The authorization server alone (SERVE=authorization), issuing tokens for the example's resource. */
async function startAuthorizationServer(databaseUrl: string, resource: string): Promise<AuthorizationServer> {
  const port = await freePort();
  const env = {
    DATABASE_URL: databaseUrl,
    ISSUER: `http://127.0.0.1:${port}`,
    SECRETS_KEY: newSecretsKey(),
    RATE_LIMIT_TOKEN: '0',
    RATE_LIMIT_REGISTRATION: '0',
  };
  const start = () => startProcess('authorization', 'src/main.ts', port, { ...env, SERVE: 'authorization', PORT: String(port) });
  const started: AuthorizationServer = {
    server: await start(),
    env,
    async restart() {
      started.server = await start();
    },
  };
  return started;
}

(postgresUrl() ? describe : describe.skip)('resource-server kit: npm pack, install, and the example in front of Portcullis (needs PostgreSQL: DATABASE_URL)', function () {
  this.timeout(900_000);
  let project: { directory: string; tarball: string };

  before(async function () {
    this.timeout(900_000);
    const started = performance.now();
    project = await installedProject();
    process.stderr.write(`      (npm pack and install: ${Math.round((performance.now() - started) / 1000)} s)\n`);
  });
  after(() => {
    if (project) rmSync(join(project.directory, '..'), { recursive: true, force: true });
  });

  it('installs with runtime dependencies only and exposes portcullis/resource-server (JavaScript and declarations)', async () => {
    const lock = JSON.parse(readFileSync(join(project.directory, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    expect(Object.keys(lock.packages).filter((path) => lock.packages[path]!.dev)).to.deep.equal([]);
    for (const name of ['typescript', 'mocha', 'chai', 'node', 'supertest']) {
      expect(Object.keys(lock.packages), name).to.not.include(`node_modules/${name}`);
    }
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "import('portcullis/resource-server').then((kit) => console.log(Object.keys(kit).sort().join(' ')))"], {
      cwd: project.directory,
    });
    expect(stdout.trim().split(' ')).to.include.members(['createTokenVerifier', 'requireBearerAuth', 'bearerAuthenticator', 'protectedResourceMetadataHandler', 'VerifierUnavailableError']);
  });

  it('types a TypeScript importer from its declarations (with only @types/node besides)', async () => {
    // Wrong options must fail to compile: declarations that resolved to `any` would accept them.
    writeFileSync(
      join(project.directory, 'consumer.ts'),
      `import { createTokenVerifier, requireBearerAuth, resourceMetadataUrl, type AuthInfo, type TokenVerifier } from 'portcullis/resource-server';
const verifier: TokenVerifier = createTokenVerifier({ resource: 'https://mcp.example.test/mcp', issuer: 'https://auth.example.test', introspection: { clientId: 'rs', clientSecret: 's' } });
export const auth: Promise<AuthInfo> = verifier.verifyAccessToken('token');
export const middleware = requireBearerAuth({ verifier, resourceMetadataUrl: resourceMetadataUrl('https://mcp.example.test/mcp') });
// @ts-expect-error a mode needs its settings
createTokenVerifier({ resource: 'https://mcp.example.test/mcp' });
`,
    );
    const tsconfig = {
      compilerOptions: { module: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'] },
      files: ['consumer.ts'],
    };
    writeFileSync(join(project.directory, 'tsconfig.json'), JSON.stringify(tsconfig));
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', project.directory]).catch((error: { stdout: string }) => {
      throw new Error(`the importer does not compile:\n${error.stdout}`);
    });
  });

  for (const mode of ['database', 'introspection'] as const) {
    describe(`${mode} mode`, () => {
      let proxied: ProxiedDatabase | undefined;
      let shared: SharedSchema | undefined;
      let authorization: AuthorizationServer;
      let example: Example;
      let account: { email: string; password: string };
      let oauth: HeadlessOAuthProvider;
      let client: Client;

      before(async function () {
        this.timeout(180_000);
        // The example's URL is known before it starts: the authorization server needs it first.
        const port = await freePort();
        const resource = `http://127.0.0.1:${port}/mcp`;
        let directUrl: string;
        if (mode === 'database') {
          // The example reaches the database through a proxy the test can cut; the authorization server directly.
          proxied = await createProxiedDatabase();
          const direct = new URL(postgresUrl()!);
          direct.searchParams.set('options', `-c search_path=${proxied.schema}`);
          directUrl = direct.href;
        } else {
          shared = await createSharedSchema();
          directUrl = shared.url;
        }
        authorization = await startAuthorizationServer(directUrl, resource);
        const registered = await runCliProcess(REGISTER_RESOURCE(resource), authorization.env);
        expect(registered.code, registered.stderr).to.equal(0);
        const { client_id, client_secret } = JSON.parse(registered.stdout) as { client_id: string; client_secret: string };
        const modeEnv: Record<string, string> =
          mode === 'database' ? { DATABASE_URL: proxied!.url } : { INTROSPECTION_CLIENT_ID: client_id, INTROSPECTION_CLIENT_SECRET: client_secret };
        example = await startExample(project.directory, port, { ISSUER: authorization.env.ISSUER!, ...modeEnv });
        const created = await createAccount(proxied?.direct ?? shared!.db, `kit-${mode}-${Date.now()}@example.test`, TEST_PASSWORD);
        account = { email: created.email, password: TEST_PASSWORD };
      });
      afterEach(function () {
        if (this.currentTest?.state === 'failed') {
          process.stderr.write(`--- example ---\n${example?.output()}\n--- authorization ---\n${authorization?.server.output()}\n`);
        }
      });
      after(async () => {
        await client?.close().catch(() => undefined);
        await example?.stop();
        await authorization?.server.stop();
        await proxied?.close();
        await shared?.close();
      });

      it('answers a request with no credentials 401 with a bare challenge naming its metadata', async () => {
        const response = await callTool(example.url, undefined, 'echo', { text: 'hi' });
        expect(response.status).to.equal(401);
        expect(response.headers.get('www-authenticate')).to.equal(`Bearer resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', example.url).href}"`);
        const metadata = (await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', example.url))).json()) as Record<string, unknown>;
        expect(metadata).to.deep.include({ resource: example.url, authorization_servers: [authorization.env.ISSUER], bearer_methods_supported: ['header'] });
      });

      it('lets the MCP SDK client authorize and call a tool', async () => {
        oauth = new HeadlessOAuthProvider(account);
        client = await connectMcpClient(example.url, oauth);
        expect(oauth.authorizationUrls.length, 'went through authorization').to.equal(1);
        const result = await client.callTool({ name: 'echo', arguments: { text: 'through the kit' } });
        expect(result.content).to.deep.equal([{ type: 'text', text: 'through the kit' }]);
        const who = await client.callTool({ name: 'whoami', arguments: {} });
        const text = (who.content as { text: string }[])[0]!.text;
        // The example's own scopes, from its registration: not the bundled notes server's.
        expect(JSON.parse(text)).to.deep.equal({ clientId: oauth.clientInformation()!.client_id, scopes: ['example:echo', 'example:profile'] });
      });

      it('refuses the token on the next call after its revocation: 401 invalid_token', async () => {
        const token = oauth.tokens()!.access_token;
        expect((await callTool(example.url, token, 'echo', { text: 'before' })).status).to.equal(200);
        const revoked = await revoke(authorization.env.ISSUER!, { client_id: oauth.clientInformation()!.client_id }, token, 'access_token');
        expect(revoked.status).to.equal(200);
        const after = await callTool(example.url, token, 'echo', { text: 'after' });
        expect(after.status).to.equal(401);
        expect(bearerChallenge(after.headers.get('www-authenticate'))).to.include({ error: 'invalid_token' });
      });

      it(mode === 'database' ? 'answers 503 with Retry-After while its database is unreachable, then serves again' : 'answers 503 with Retry-After while the authorization server is down, then serves again', async () => {
        // A fresh authorization: the previous one was revoked.
        const fresh = new HeadlessOAuthProvider(account);
        await (await connectMcpClient(example.url, fresh)).close();
        const token = fresh.tokens()!.access_token;
        expect((await callTool(example.url, token, 'echo', { text: 'up' })).status).to.equal(200);
        if (mode === 'database') proxied!.proxy.cut();
        else await authorization.server.stop();
        const down = await callTool(example.url, token, 'echo', { text: 'down' });
        expect(down.status, JSON.stringify(down.body)).to.equal(503);
        expect(down.headers.get('retry-after')).to.match(/^\d+$/);
        expect(down.body).to.include({ error: 'temporarily_unavailable' });
        if (mode === 'database') proxied!.proxy.restore();
        else await authorization.restart();
        expect((await callTool(example.url, token, 'echo', { text: 'back' })).status).to.equal(200);
      });
    });
  }
});
