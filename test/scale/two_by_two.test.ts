// Scale-out: 2 authorization-server processes and 2 MCP-server processes on one PostgreSQL schema,
// as behind a load balancer (one issuer, one resource identifier, no sticky sessions). Any process
// serves any step: the browser flow alternates between the authorization servers hop by hop, the
// code is exchanged at the other one, a revocation at either is seen at once by both MCP servers, and
// `portcullis keys rotate` reaches both authorization servers without a restart.
//
// Needs PostgreSQL (the embedded database belongs to one process). Without DATABASE_URL the suite is
// reported pending under `npm test` (the embedded-only run) and fails everywhere else, e.g.
// `npm run test:scale`; CI (.ci/run) always sets DATABASE_URL, so there it runs.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import { postgresUrl } from '../support/database.ts';
import { callTool } from '../support/mcp_server.ts';
import { CookieJar, followAuthorization, pkcePair, postForm, REDIRECT_URI, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import {
  createSharedSchema,
  freePort,
  runCliProcess,
  type ServerProcess,
  type SharedSchema,
  startProcess,
} from '../support/processes.ts';
import { createAccount } from '../../src/storage/account_store.ts';
import { TEST_PASSWORD } from '../support/server.ts';

const NEEDS_POSTGRES =
  'the scale-out suite (test/scale) needs PostgreSQL: set DATABASE_URL, e.g. ' +
  'DATABASE_URL=postgres://postgres@127.0.0.1:5432/portcullis_dev npm test';

/**
 * Plays the browser from /authorize to the redirect URI, sending hop i to servers[i % n] whatever
 * origin the previous response named: cookies, interactions and sessions must work across processes.
 */
async function authorizeAcross(
  servers: ServerProcess[],
  client: RegisteredClient,
  account: { email: string; password: string },
  jar: CookieJar,
  scope: string,
  resource: string,
): Promise<{ code: string; verifier: string; hops: string[] }> {
  const { verifier, challenge } = pkcePair();
  const query = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope,
    resource,
    state: 'scale',
  });
  const hops: string[] = [];
  const { code } = await followAuthorization(new URL(`/authorize?${query}`, servers[0]!.origin), {
    ...account,
    jar,
    route: (url, hop) => {
      const server = servers[hop % servers.length]!;
      hops.push(server.name);
      return new URL(`${url.pathname}${url.search}`, server.origin);
    },
  });
  return { code, verifier, hops };
}

async function jwksKids(server: ServerProcess): Promise<string[]> {
  const response = await fetch(`${server.origin}/jwks`);
  const { keys } = (await response.json()) as { keys: { kid: string }[] };
  return keys.map((key) => key.kid);
}

describe('scale-out: 2 authorization servers and 2 MCP servers on one PostgreSQL', function () {
  this.timeout(120_000);
  let schema: SharedSchema;
  const authorization: ServerProcess[] = [];
  const mcp: ServerProcess[] = [];
  let resource: string;
  let env: Record<string, string>;

  before(async function () {
    if (!postgresUrl()) {
      // `npm test` with no database configured is the embedded-only run: say why, and stay pending.
      if (process.env.npm_lifecycle_event === 'test') {
        process.stderr.write(`\n  note: ${NEEDS_POSTGRES}\n`);
        this.skip();
      }
      throw new Error(NEEDS_POSTGRES);
    }
    const started = performance.now();
    schema = await createSharedSchema();
    const [as1, as2, mcp1, mcp2] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const issuer = `http://127.0.0.1:${as1}`;
    resource = `http://127.0.0.1:${mcp1}/mcp`;
    env = { DATABASE_URL: schema.url, ISSUER: issuer, MCP_RESOURCE: resource, KEYS_REFRESH_INTERVAL: '1' };
    const servers = await Promise.all([
      startProcess('as1', 'src/main.ts', as1, { ...env, SERVE: 'authorization', PORT: String(as1) }),
      startProcess('as2', 'src/main.ts', as2, { ...env, SERVE: 'authorization', PORT: String(as2) }),
      startProcess('mcp1', 'src/mcp/main.ts', mcp1, { ...env, MCP_PORT: String(mcp1) }),
      startProcess('mcp2', 'src/mcp/main.ts', mcp2, { ...env, MCP_PORT: String(mcp2) }),
    ]);
    authorization.push(servers[0], servers[1]);
    mcp.push(servers[2], servers[3]);
    process.stderr.write(`      (4 processes up in ${Math.round(performance.now() - started)} ms)\n`);
  });

  after(async () => {
    await Promise.all([...authorization, ...mcp].map((server) => server.stop()));
    await schema?.close();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      for (const server of [...authorization, ...mcp]) process.stderr.write(`--- ${server.name} output ---\n${server.output()}\n`);
    }
  });

  async function newAccount(): Promise<{ email: string; password: string }> {
    const email = `scale-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`;
    await createAccount(schema.db, email, TEST_PASSWORD);
    return { email, password: TEST_PASSWORD };
  }

  it('login on one, token on the other, revoke on either: the next call at both MCP servers is rejected', async () => {
    const [as1, as2] = authorization as [ServerProcess, ServerProcess];
    const account = await newAccount();

    for (const [revokeAt, label] of [
      [as2, 'revoked at as2'],
      [as1, 'revoked at as1'],
    ] as const) {
      const client = await registerClient(as1.origin);
      const { code, verifier, hops } = await authorizeAcross([as1, as2], client, account, new CookieJar(), 'mcp:read', resource);
      expect(new Set(hops), label).to.have.keys('as1', 'as2');
      const exchanged = await postForm(as2.origin, '/token', client, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource,
      });
      expect(exchanged.status, JSON.stringify(exchanged.body)).to.equal(200);
      const refreshToken = exchanged.body.refresh_token as string;

      // The refresh token works at the first server too, and the rotated access token at both MCP servers.
      const refreshed = await postForm(as1.origin, '/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken });
      expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
      const current = refreshed.body.access_token as string;
      for (const server of mcp) {
        expect((await callTool(`${server.origin}/mcp`, current, 'whoami')).status, `${label}: ${server.name} before`).to.equal(200);
      }

      const revoked = await postForm(revokeAt.origin, '/revoke', client, { token: current });
      expect(revoked.status).to.equal(200);
      for (const server of mcp) {
        const after = await callTool(`${server.origin}/mcp`, current, 'whoami');
        expect(after.status, `${label}: ${server.name} after`).to.equal(401);
        expect(after.headers.get('www-authenticate')).to.include('invalid_token');
      }
      // The grant is gone everywhere: the rotated refresh token is refused at both servers.
      for (const server of authorization) {
        const again = await postForm(server.origin, '/token', client, {
          grant_type: 'refresh_token',
          refresh_token: refreshed.body.refresh_token as string,
        });
        expect(again.status, `${label}: refresh at ${server.name}`).to.equal(400);
        expect(again.body.error).to.equal('invalid_grant');
      }
    }
  });

  it('keys rotate reaches both authorization servers without a restart; old keys stay published and accepted', async () => {
    const [as1, as2] = authorization as [ServerProcess, ServerProcess];
    const account = await newAccount();
    const jar = new CookieJar();
    const client = await registerClient(as1.origin, { grant_types: ['authorization_code'] });
    // A browser session made before the rotation (its cookies signed with the old cookie key).
    await authorizeAcross([as1, as2], client, account, jar, 'openid mcp:read', resource);
    const before = await jwksKids(as1);
    expect(await jwksKids(as2)).to.deep.equal(before);

    const rotation = await runCliProcess(['keys', 'rotate', '--json'], { DATABASE_URL: schema.url });
    expect(rotation.code, rotation.stderr).to.equal(0);
    const { added } = JSON.parse(rotation.stdout) as { added: { signing: string } };

    const started = performance.now();
    for (const server of authorization) {
      for (;;) {
        const kids = await jwksKids(server);
        if (kids[0] === added.signing) {
          expect(kids, `${server.name} still publishes the retired key`).to.include.members(before);
          break;
        }
        if (performance.now() - started > 10_000) throw new Error(`${server.name} did not pick up the rotation: ${kids.join(', ')}`);
        await sleep(100);
      }
    }
    process.stderr.write(`      (rotation seen by both servers after ${Math.round(performance.now() - started)} ms)\n`);

    // The old session cookie is still accepted (no login form), and new ID tokens carry the new kid.
    const { code, verifier, hops } = await authorizeAcross([as2, as1], client, account, jar, 'openid mcp:read', resource);
    expect(hops.length).to.be.below(5, 'the pre-rotation session was honoured without a new login');
    const exchanged = await postForm(as1.origin, '/token', client, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource,
    });
    expect(exchanged.status, JSON.stringify(exchanged.body)).to.equal(200);
    expect(decodeProtectedHeader(exchanged.body.id_token as string).kid).to.equal(added.signing);
  });

  it('serves /metrics and /readyz on every process', async () => {
    for (const server of [...authorization, ...mcp]) {
      expect((await fetch(`${server.origin}/readyz`)).status, server.name).to.equal(200);
      const metrics = await (await fetch(`${server.metricsOrigin}/metrics`)).text();
      expect(metrics, server.name).to.include('portcullis_db_pool_connections');
    }
  });
});
