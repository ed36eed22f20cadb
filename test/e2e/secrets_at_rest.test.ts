// A full dump of the database holds no value a client or a browser could present: after real flows
// (registration, authorize, code exchange, refresh, revoke, and an authorization left unfinished),
// every row of every table, as text, is searched for every token, code and cookie value seen. Every
// log line both servers wrote during the flows (at trace level, through the real logger and its
// redaction) is searched too, for those and for client secrets and passwords. After an operator
// client is created, a confidential client registered and the server keys rotated, the dump holds no
// private key material (no JWK d/p/q/dp/dq/qi, no cookie key) and no client secret either.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { loadServerKeys, rotateServerKeys } from '../../src/storage/key_store.ts';
import { loadKeyring } from '../../src/secrets/keyring_source.ts';
import { createLogger } from '../../src/logger.ts';
import { callTool, startMcpTestStack } from '../support/mcp_server.ts';
import {
  authorize,
  CookieJar,
  exchangeCode,
  refresh,
  registerClient,
  type RegisteredClient,
  revoke,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';
import type { McpTestStack } from '../support/mcp_server.ts';

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

describe('no presentable secret is stored in the database', () => {
  let server: McpTestStack;
  const logLines: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    server = await startMcpTestStack({ logger: createLogger('trace', sink) });
  });
  after(() => server.close());

  async function dumpDatabase(): Promise<string> {
    const tables = await server.db.raw<{ rows: { table_name: string }[] }>(
      `select table_name from information_schema.tables
       where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
    );
    const names = tables.rows.map((row) => row.table_name);
    expect(names).to.include.members(['oidc_grants', 'oidc_tokens', 'oidc_models', 'accounts', 'server_keys']);
    const rows: string[] = [];
    for (const table of names) {
      const result = await server.db.raw<{ rows: { row: string }[] }>('select t::text as row from ?? t', [table]);
      rows.push(...result.rows.map((row) => `${table}: ${row.row}`));
    }
    return rows.join('\n');
  }

  it('holds no access token, refresh token, code, registration access token, cookie value, client secret or private key', async () => {
    const resource = server.config.resource;
    const account = { email: (await createTestAccount(server.db)).email, password: TEST_PASSWORD };
    const secrets = new Map<string, string>();
    const keep = (label: string, value: string | undefined) => {
      expect(value, label).to.be.a('string').with.length.greaterThan(15);
      secrets.set(value!, label);
    };

    // Client A: registration, authorization, code exchange, two refreshes; its tokens stay live.
    const jarA = new CookieJar();
    const clientA: RegisteredClient = await registerClient(server.baseUrl);
    keep('A registration access token', clientA.registration_access_token);
    const codeA = await authorize(server.baseUrl, { client: clientA, ...account, resource, scope: 'mcp:read mcp:write', jar: jarA });
    keep('A code', codeA.code);
    const tokensA = (await exchangeCode(server.baseUrl, clientA, codeA, resource)).body as unknown as TokenSet;
    keep('A access token', tokensA.access_token);
    keep('A refresh token', tokensA.refresh_token);
    let latestA = tokensA;
    for (let step = 1; step <= 2; step += 1) {
      const refreshed = await refresh(server.baseUrl, clientA, latestA.refresh_token!);
      expect(refreshed.status).to.equal(200);
      latestA = refreshed.body as unknown as TokenSet;
      keep(`A access token after refresh ${step}`, latestA.access_token);
      keep(`A refresh token after refresh ${step}`, latestA.refresh_token);
    }

    // Client B (confidential): the same flow, then its refresh token is revoked.
    const jarB = new CookieJar();
    const clientB = await registerClient(server.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' });
    keep('B registration access token', clientB.registration_access_token);
    const codeB = await authorize(server.baseUrl, { client: clientB, ...account, resource, scope: 'mcp:read', jar: jarB });
    keep('B code', codeB.code);
    const tokensB = (await exchangeCode(server.baseUrl, clientB, codeB, resource)).body as unknown as TokenSet;
    keep('B access token', tokensB.access_token);
    keep('B refresh token', tokensB.refresh_token);
    expect((await revoke(server.baseUrl, clientB, tokensB.refresh_token!)).status).to.equal(200);

    // An authorization left at the login page: its interaction is still stored, cookies still set.
    const jarC = new CookieJar();
    const started = await fetch(
      `${server.baseUrl}/authorize?${new URLSearchParams({
        client_id: clientA.client_id,
        response_type: 'code',
        redirect_uri: 'http://127.0.0.1:9/callback',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        scope: 'mcp:read',
        resource,
      })}`,
      { redirect: 'manual' },
    );
    jarC.store(started);
    await started.body?.cancel();
    expect(started.status).to.equal(303);
    const interactionUid = new URL(started.headers.get('location')!, server.baseUrl).pathname.split('/').at(-1)!;
    expect(jarC.seenValues()).to.include(interactionUid);
    expect(await server.db('oidc_models').where({ model: 'Interaction', id: sha256(interactionUid) }).first(), 'pending interaction').to.not.equal(undefined);

    for (const [name, jar] of [['A', jarA], ['B', jarB], ['C', jarC]] as const) {
      const values = jar.seenValues();
      expect(values.length, `cookies seen by browser ${name}`).to.be.greaterThan(0);
      for (const value of values) secrets.set(value, `browser ${name} cookie value`);
    }
    // Session cookies were set (and rotated) along the flows.
    expect(await server.db('oidc_models').where({ model: 'Session' }).count('* as n')).to.satisfy(
      (rows: { n: string | number }[]) => Number(rows[0]!.n) >= 2,
    );

    // Secrets that must never be logged (at rest, a password is an argon2id hash and a client
    // secret is encrypted or hashed: docs/security-model.md).
    const loggable = new Map(secrets);
    loggable.set(TEST_PASSWORD, 'password');
    loggable.set(clientB.client_secret!, 'B client secret');
    // More flows that log: a failed sign-in, MCP calls with good and dead tokens, the admin API.
    const wrongPassword = 'wrong horse battery staple';
    loggable.set(wrongPassword, 'a mistyped password');
    const failed = await authorize(server.baseUrl, { client: clientA, email: account.email, password: wrongPassword, resource, scope: 'mcp:read' }).catch(
      (error: Error) => error,
    );
    expect(String(failed)).to.include('401');
    expect((await callTool(server.mcpUrl, latestA.access_token, 'whoami')).status).to.equal(200);
    expect((await callTool(server.mcpUrl, tokensB.access_token, 'whoami')).status).to.equal(401);
    const operator = await createOperator(server, 'secrets');
    loggable.set(operator.client_secret, 'operator client secret');
    const adminToken = await operatorToken(server.baseUrl, operator);
    loggable.set(adminToken, 'admin access token');
    const adminCall = await fetch(`${server.baseUrl}/admin/tokens/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token: tokensB.refresh_token, reason: 'secrets test' }),
    });
    // B's refresh token is already revoked: the admin API says so (404) without logging the token.
    expect(adminCall.status).to.equal(404);

    const log = logLines.join('');
    if (process.env.SHOW_LOG) console.log(log);
    expect(logLines.length, 'log lines written during the flows').to.be.greaterThan(20);
    const logged = [...loggable].filter(([value]) => log.includes(value)).map(([, label]) => label);
    expect(logged, 'secrets found in the log lines').to.deep.equal([]);

    // Rotated keys: the retired set stays stored (grace period) beside the new one.
    const keyring = loadKeyring(server.config);
    await rotateServerKeys(server.db, keyring, server.config.keys.gracePeriod);
    const serverKeys = await loadServerKeys(server.db, keyring, server.config.keys.gracePeriod);
    expect(serverKeys.signingKeys, 'signing keys after a rotation').to.have.length(2);
    for (const [index, jwk] of serverKeys.signingKeys.entries()) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) keep(`signing key ${index} private member ${member}`, jwk[member]);
    }
    for (const [index, cookieKey] of serverKeys.cookieKeys.entries()) keep(`cookie key ${index}`, cookieKey);
    keep('B client secret', clientB.client_secret);
    keep('operator client secret', operator.client_secret);

    const dump = await dumpDatabase();
    // The dump is real: the live tokens' rows are there, under their hashes.
    expect(dump).to.include(sha256(latestA.access_token));
    expect(dump).to.include(sha256(latestA.refresh_token!));
    expect(dump).to.include(sha256(codeA.code));
    expect(dump).to.include(clientA.client_id);

    const leaked = [...secrets].filter(([value]) => dump.includes(value)).map(([, label]) => label);
    expect(leaked, 'secrets found in the database dump').to.deep.equal([]);
  });
});
