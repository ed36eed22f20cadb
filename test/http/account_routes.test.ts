// The account pages over plain HTTP (no browser): sign-in on the provider's session, CSRF, caching
// and security headers, disconnect one / all through the revocation service, sign-out, password change.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import request from 'supertest';
import { authenticate } from '../../src/storage/account_store.ts';
import { listAudit } from '../../src/storage/audit_store.ts';
import { listGrants, recordGrantUse } from '../../src/storage/grant_store.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { authorize, CookieJar, connectClient, refresh, registerClient } from '../support/oauth_flow.ts';
import { createTestDatabase, defaultKind, type TestDatabase } from '../support/database.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';
import { mintGrant } from '../support/tokens.ts';

type Agent = ReturnType<typeof request.agent>;

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no csrf field on the page');
  return match[1]!;
}

describe('account pages (HTTP)', () => {
  let stack: McpTestStack;

  before(async () => {
    stack = await startMcpTestStack();
  });
  after(() => stack.close());

  /** The client's grant once its last use is recorded (written after the response, off the request path). */
  async function lastUseRecorded(clientId: string) {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const [grant] = await listGrants(stack.db, { clientId });
      if (grant?.lastUsedAt) return grant;
      await sleep(20);
    }
    throw new Error('last use was never recorded');
  }

  async function newUser(prefix = 'acct') {
    return { ...(await createTestAccount(stack.db, prefix)), password: TEST_PASSWORD };
  }

  /** A browser-like agent signed in at /account; returns it with the CSRF token of its pages. */
  async function signIn(user: { email: string; password: string }): Promise<{ agent: Agent; csrf: string }> {
    const agent = request.agent(stack.baseUrl);
    const form = await agent.get('/account').expect(200);
    await agent
      .post('/account/sign-in')
      .type('form')
      .send({ csrf: csrfOf(form.text), email: user.email, password: user.password })
      .expect(303)
      .expect('location', '/account');
    const page = await agent.get('/account').expect(200);
    expect(page.text).to.include('Connected apps');
    return { agent, csrf: csrfOf(page.text) };
  }

  it('shows a sign-in form without a session, with no-store and the security headers', async () => {
    const response = await request(stack.baseUrl).get('/account').expect(200);
    expect(response.text).to.include('Sign in to your account').and.include('action="/account/sign-in"');
    expect(response.headers['cache-control']).to.equal('no-store');
    const csp = response.headers['content-security-policy'];
    expect(csp).to.include("frame-ancestors 'none'").and.include("script-src 'self'").and.not.include('unsafe-inline');
    expect(response.headers['x-frame-options']).to.equal('DENY');
    expect(response.text).to.include('<link rel="stylesheet" href="/assets/style.css">');
    expect(response.text).not.to.match(/<script|style=/);
  });

  it('refuses POSTs without the CSRF token, with a wrong one, or from another origin', async () => {
    const user = await newUser();
    const agent = request.agent(stack.baseUrl);
    const csrf = csrfOf((await agent.get('/account').expect(200)).text);
    const credentials = { email: user.email, password: user.password };
    await agent.post('/account/sign-in').type('form').send(credentials).expect(403);
    await agent.post('/account/sign-in').type('form').send({ ...credentials, csrf: csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }).expect(403);
    // A token taken from the page is useless without this browser's cookie (another site's request).
    await request(stack.baseUrl).post('/account/sign-in').type('form').send({ ...credentials, csrf }).expect(403);
    await agent.post('/account/sign-in').set('Origin', 'https://evil.example').type('form').send({ ...credentials, csrf }).expect(403);
    await agent.post('/account/sign-in').set('Sec-Fetch-Site', 'cross-site').type('form').send({ ...credentials, csrf }).expect(403);
    await agent.post('/account/sign-in').set('Origin', 'null').set('Sec-Fetch-Site', 'same-origin').type('form').send({ ...credentials, csrf }).expect(303);

    // Signed in, the state-changing forms refuse a missing token too, and nothing happens.
    const { client } = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl });
    const [grant] = await listGrants(stack.db, { accountId: user.id });
    await agent.post(`/account/apps/${grant!.grantId}/disconnect`).type('form').send({}).expect(403);
    await agent.post('/account/disconnect-all').type('form').send({ csrf: 'x' }).expect(403);
    await agent.post('/account/sign-out').type('form').send({}).expect(403);
    expect(await listGrants(stack.db, { clientId: client.client_id })).to.have.length(1);
    expect((await agent.get('/account').expect(200)).text).to.include('Test MCP client');
  });

  it('signing in at /account starts the provider session: a later /authorize skips the login', async () => {
    const user = await newUser();
    const jar = new CookieJar();
    const form = await fetch(`${stack.baseUrl}/account`);
    jar.store(form);
    const signedIn = await fetch(`${stack.baseUrl}/account/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ csrf: csrfOf(await form.text()), email: user.email, password: user.password }),
    });
    expect(signedIn.status).to.equal(303);
    jar.store(signedIn);
    const client = await registerClient(stack.baseUrl);
    // A wrong password on purpose: the flow must never need the login form.
    const result = await authorize(stack.baseUrl, { client, email: user.email, password: 'never used', resource: stack.mcpUrl, scope: 'mcp:read', jar });
    expect(result.code).to.be.a('string');
  });

  it('lists each connected app with its resource, scopes, first authorization and last use', async () => {
    const user = await newUser();
    const { client, tokens } = await connectClient(stack.baseUrl, user, {
      resource: stack.mcpUrl,
      metadata: { client_name: 'Notes <Assistant>', client_uri: 'https://notes.example/', logo_uri: 'https://notes.example/logo.png' },
    });
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
    const grant = await lastUseRecorded(client.client_id);
    const { agent } = await signIn(user);
    const page = (await agent.get('/account').expect(200)).text;
    expect(page).to.include('Notes &lt;Assistant&gt;').and.not.include('Notes <Assistant>');
    expect(page).to.include('href="https://notes.example/"').and.include('src="https://notes.example/logo.png"');
    expect(page).to.include(`<code>${stack.mcpUrl}</code>`).and.include('<code>mcp:read</code>').and.include('<code>mcp:write</code>');
    expect(page).to.include('First authorized').and.include('Last used');
    expect(page).to.include(`<time datetime="${grant.lastUsedAt!.toISOString()}">`);
    expect(page).to.include(`href="/account/apps/${grant!.grantId}/disconnect"`);
  });

  it('records last use at most once a minute per grant', async () => {
    const user = await newUser();
    const { client } = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl });
    const grant = await lastUseRecorded(client.client_id);
    expect(await recordGrantUse(stack.db, grant.grantId), 'already recorded by the token endpoint').to.equal(false);
    await stack.db('oidc_grants').where({ id: grant!.grantId }).update({ last_used_at: new Date(Date.now() - 61_000) });
    expect(await recordGrantUse(stack.db, grant!.grantId)).to.equal(true);
    expect(await recordGrantUse(stack.db, grant!.grantId)).to.equal(false);
  });

  it('disconnects one app after a confirm step: its tokens die, the audit names the user', async () => {
    const user = await newUser();
    const kept = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl, metadata: { client_name: 'Kept app' } });
    const gone = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl, metadata: { client_name: 'Gone app' } });
    const [grant] = await listGrants(stack.db, { clientId: gone.client.client_id });
    const { agent, csrf } = await signIn(user);

    const confirm = await agent.get(`/account/apps/${grant!.grantId}/disconnect`).expect(200);
    expect(confirm.headers['cache-control']).to.equal('no-store');
    expect(confirm.text).to.include('Disconnect Gone app?').and.include(`action="/account/apps/${grant!.grantId}/disconnect"`);
    expect(await listGrants(stack.db, { clientId: gone.client.client_id }), 'the confirm page changes nothing').to.have.length(1);

    const done = await agent.post(`/account/apps/${grant!.grantId}/disconnect`).type('form').send({ csrf }).expect(200);
    expect(done.headers['cache-control']).to.equal('no-store');
    expect(done.text).to.include('Gone app is disconnected').and.include('1 app authorization').and.include('1 access token').and.include('1 refresh token');

    expect((await callTool(stack.mcpUrl, gone.tokens.access_token, 'whoami')).status).to.equal(401);
    expect((await refresh(stack.baseUrl, gone.client, gone.tokens.refresh_token!)).body.error).to.equal('invalid_grant');
    expect((await callTool(stack.mcpUrl, kept.tokens.access_token, 'whoami')).status).to.equal(200);

    const [entry] = await listAudit(stack.db, { limit: 1 });
    expect(entry).to.deep.include({ action: 'revoke_grant', actor: { type: 'user', id: user.id } });
    expect(entry!.target).to.deep.equal({ grantId: grant!.grantId });

    const page = (await agent.get('/account').expect(200)).text;
    expect(page).to.include('Kept app').and.not.include('Gone app');
  });

  it("cannot disconnect another account's app (404, nothing revoked)", async () => {
    const owner = await newUser('owner');
    const { client } = await connectClient(stack.baseUrl, owner, { resource: stack.mcpUrl });
    const [grant] = await listGrants(stack.db, { clientId: client.client_id });
    const { agent, csrf } = await signIn(await newUser('intruder'));
    await agent.get(`/account/apps/${grant!.grantId}/disconnect`).expect(404);
    await agent.post(`/account/apps/${grant!.grantId}/disconnect`).type('form').send({ csrf }).expect(404);
    expect(await listGrants(stack.db, { clientId: client.client_id })).to.have.length(1);
  });

  it('disconnects all apps after a confirm step and keeps the user signed in', async () => {
    const user = await newUser();
    const first = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl, metadata: { client_name: 'First app' } });
    const second = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl, metadata: { client_name: 'Second app' } });
    const bystander = await connectClient(stack.baseUrl, await newUser('bystander'), { resource: stack.mcpUrl });
    const { agent, csrf } = await signIn(user);

    const confirm = (await agent.get('/account/disconnect-all').expect(200)).text;
    expect(confirm).to.include('Disconnect all apps?').and.include('First app').and.include('Second app');

    const done = (await agent.post('/account/disconnect-all').type('form').send({ csrf }).expect(200)).text;
    expect(done).to.include('All apps are disconnected').and.include('2 app authorizations').and.include('2 refresh tokens');
    for (const app of [first, second]) {
      expect((await callTool(stack.mcpUrl, app.tokens.access_token, 'whoami')).status).to.equal(401);
      expect((await refresh(stack.baseUrl, app.client, app.tokens.refresh_token!)).body.error).to.equal('invalid_grant');
    }
    expect((await callTool(stack.mcpUrl, bystander.tokens.access_token, 'whoami')).status).to.equal(200);
    const [entry] = await listAudit(stack.db, { limit: 1 });
    expect(entry).to.deep.include({ action: 'revoke_account', actor: { type: 'user', id: user.id } });
    expect((await agent.get('/account').expect(200)).text).to.include('No apps are connected');
  });

  it('signs out: the provider session ends, connected apps keep their access', async () => {
    const user = await newUser();
    const app = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl });
    const { agent, csrf } = await signIn(user);
    // connectClient signed in through its own login page: one session there, one in this agent.
    const sessions = async () =>
      Number((await stack.db('oidc_models').where({ model: 'Session', account_id: user.id }).count('* as count'))[0]!.count);
    expect(await sessions()).to.equal(2);
    const out = await agent.post('/account/sign-out').type('form').send({ csrf }).expect(200);
    expect(out.text).to.include('You are signed out');
    expect(String(out.headers['set-cookie'])).to.match(/_session=;/);
    expect(await sessions()).to.equal(1);
    expect((await agent.get('/account').expect(200)).text).to.include('Sign in to your account');
    await agent.get('/account/password').expect(303).expect('location', '/account');
    expect((await callTool(stack.mcpUrl, app.tokens.access_token, 'whoami')).status).to.equal(200);
  });

  it('changes the password (argon2id): the old one stops working, other browsers are signed out; apps stay unless the user chooses', async () => {
    const user = await newUser();
    const app = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl });
    const { agent, csrf } = await signIn(user);
    const elsewhere = await signIn(user);
    const change = (fields: Record<string, string>) => agent.post('/account/password').type('form').send({ csrf, ...fields });

    expect((await change({ current_password: 'wrong password', new_password: 'new password 1', confirm_password: 'new password 1' }).expect(401)).text).to.include('current password is not correct');
    expect((await change({ current_password: user.password, new_password: 'new password 1', confirm_password: 'other' }).expect(400)).text).to.include('do not match');
    expect((await change({ current_password: user.password, new_password: 'short', confirm_password: 'short' }).expect(400)).text).to.include('at least 8');
    expect(await authenticate(stack.db, user.email, user.password)).to.not.equal(undefined);

    const done = (await change({ current_password: user.password, new_password: 'new password 1', confirm_password: 'new password 1' }).expect(200)).text;
    expect(done).to.include('Password changed').and.include('keep their access').and.include('signed out everywhere else');
    expect((await elsewhere.agent.get('/account').expect(200)).text, 'the other browser is signed out').to.include('Sign in to your account');
    expect((await agent.get('/account').expect(200)).text, 'this browser stays signed in').to.include('Connected apps');
    const [ended] = await listAudit(stack.db, { limit: 1 });
    expect(ended).to.deep.include({ action: 'end_sessions' });
    expect(await authenticate(stack.db, user.email, user.password)).to.equal(undefined);
    expect(await authenticate(stack.db, user.email, 'new password 1')).to.deep.include({ id: user.id });
    const row = await stack.db('accounts').where({ id: user.id }).first();
    expect(row.password_hash).to.match(/^\$argon2id\$/);
    expect((await callTool(stack.mcpUrl, app.tokens.access_token, 'whoami')).status).to.equal(200);

    // Signing in with the old password fails; the new one works.
    const other = request.agent(stack.baseUrl);
    const formCsrf = csrfOf((await other.get('/account')).text);
    await other.post('/account/sign-in').type('form').send({ csrf: formCsrf, email: user.email, password: user.password }).expect(401);
    await other.post('/account/sign-in').type('form').send({ csrf: formCsrf, email: user.email, password: 'new password 1' }).expect(303);

    // Second change, choosing to disconnect everything: grants and other sessions end, this browser stays in.
    const again = (await change({ current_password: 'new password 1', new_password: 'new password 2', confirm_password: 'new password 2', revoke_apps: 'yes' }).expect(200)).text;
    expect(again).to.include('Also revoked').and.include('1 app authorization');
    expect((await callTool(stack.mcpUrl, app.tokens.access_token, 'whoami')).status).to.equal(401);
    expect((await refresh(stack.baseUrl, app.client, app.tokens.refresh_token!)).body.error).to.equal('invalid_grant');
    expect((await other.get('/account').expect(200)).text, 'the other browser is signed out').to.include('Sign in to your account');
    expect((await agent.get('/account').expect(200)).text, 'this browser stays signed in').to.include('Connected apps');
  });
});

// One query per connected app, all at once, used to drain the pool for an account with hundreds of
// grants (sporadic 503s with the database fine): the page's statement count must not follow the grants.
describe('account page with many connected apps', () => {
  const POOL_MAX = 2;
  let database: TestDatabase;
  let server: TestServer;

  before(async () => {
    database = await createTestDatabase(defaultKind(), { poolMax: POOL_MAX });
    server = await startTestServer({ database, env: { DATABASE_POOL_MAX: String(POOL_MAX) } });
  });
  after(async () => {
    await server.close();
    await database.close();
  });

  /** A signed-in agent whose account holds `count` grants, spread over three clients and a metadata-document id. */
  async function accountWithGrants(count: number): Promise<Agent> {
    const user = await createTestAccount(server.db, 'many');
    const clients = [
      ...(await Promise.all([1, 2, 3].map((n) => registerClient(server.baseUrl, { client_name: `App ${n}` })))).map((c) => c.client_id),
      'https://cimd.example/client.json',
    ];
    for (let n = 0; n < count; n += 1) {
      await mintGrant(server.provider, { clientId: clients[n % clients.length]!, accountId: user.id, resource: server.config.resource });
    }
    const agent = request.agent(server.baseUrl);
    const form = await agent.get('/account').expect(200);
    await agent.post('/account/sign-in').type('form').send({ csrf: csrfOf(form.text), email: user.email, password: TEST_PASSWORD }).expect(303);
    return agent;
  }

  /** Statements the database ran while /account rendered, and the page. */
  async function renderCounted(agent: Agent): Promise<{ statements: number; page: string }> {
    let statements = 0;
    const count = () => {
      statements += 1;
    };
    server.db.on('query', count);
    try {
      const page = (await agent.get('/account').expect(200)).text;
      return { statements, page };
    } finally {
      server.db.off('query', count);
    }
  }

  // The baseline holds one grant of each client: what may cost statements is the set of clients (a
  // metadata document client is resolved through the provider), never the number of grants.
  it('renders 200 connected apps with as many statements as four (one per client), on a pool of 2', async () => {
    const one = await renderCounted(await accountWithGrants(4));
    const many = await renderCounted(await accountWithGrants(200));
    expect(one.page).to.include('App 1').and.include('cimd.example');
    expect(many.page.match(/\/disconnect"/g)).to.have.length(200);
    expect(many.page).to.include('App 1').and.include('App 2').and.include('App 3').and.include('cimd.example');
    expect(many.statements, `statements for 4 grants: ${one.statements}`).to.equal(one.statements);
  });
});
