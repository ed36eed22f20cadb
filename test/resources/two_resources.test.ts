// One authorization server, two registered MCP servers: the bundled notes server (A, registered at
// the first start) and a "files" server (B, added like `resources add`). Each gets tokens with its
// own audience, scopes, consent texts and lifetime, and a token for one is refused by the other's
// verifier and by the other's introspection client. Removing B revokes everything issued for it.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { createLogger } from '../../src/logger.ts';
import { createConfiguredMcpApp } from '../../src/mcp/mcp_server.ts';
import { type ResourceOperations, resourceOperations } from '../../src/admin/resource_operations.ts';
import { listAudit } from '../../src/storage/audit_store.ts';
import { InvalidTokenError, providerTokenVerifier } from '../../src/tokens/access_token_verifier.ts';
import { postgresUrl } from '../support/database.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { authorizeUrl, connectClient, introspect, pkcePair, REDIRECT_URI, refresh, registerClient, type RegisteredClient, type TokenSet } from '../support/oauth_flow.ts';
import { createIntrospector, createTestAccount, startTestServer, TEST_PASSWORD } from '../support/server.ts';

const FILES_SCOPES = [
  { name: 'files:read', description: 'open the documents in your Files drive' },
  { name: 'files:write', description: 'save documents to your Files drive' },
];

describe('two registered resources in one deployment', () => {
  let stack: McpTestStack;
  let operations: ResourceOperations;
  let filesServer: Server;
  let filesUrl: string;
  let filesIntrospector: RegisteredClient;
  let notesIntrospector: RegisteredClient;
  let account: { email: string; password: string };
  let notes: { client: RegisteredClient; tokens: TokenSet };
  let files: { client: RegisteredClient; tokens: TokenSet };

  before(async () => {
    stack = await startMcpTestStack();
    operations = resourceOperations({
      db: stack.db,
      revocation: stack.revocation,
      clients: stack.adapterFor('Client'),
      onChange: () => stack.resources.refresh(),
    });
    // B: the same MCP app, serving another resource URL (its verifier takes only B's audience).
    filesServer = createServer();
    filesServer.listen(0, '127.0.0.1');
    await once(filesServer, 'listening');
    filesUrl = `http://127.0.0.1:${(filesServer.address() as AddressInfo).port}/mcp`;
    const app = createConfiguredMcpApp({ config: { ...stack.config, resource: filesUrl }, provider: stack.provider, db: stack.db, logger: createLogger('silent') });
    filesServer.on('request', app.callback());
    const added = await operations.add({ url: filesUrl, name: 'Files drive', scopes: FILES_SCOPES, accessTokenTtl: 120 });
    filesIntrospector = { client_id: added.clientId, client_secret: added.clientSecret };
    notesIntrospector = await createIntrospector(stack, stack.mcpUrl);
    const created = await createTestAccount(stack.db);
    account = { email: created.email, password: TEST_PASSWORD };
    notes = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl, scope: 'mcp:read mcp:write' });
    files = await connectClient(stack.baseUrl, account, { resource: filesUrl, scope: 'files:read files:write' });
  });
  after(async () => {
    filesServer.closeAllConnections();
    filesServer.close();
    await stack.close();
  });

  /** Signs in at /authorize and returns the consent page's HTML. */
  async function consentHtml(client: RegisteredClient, query: Record<string, string>): Promise<string> {
    const agent = request.agent(stack.baseUrl);
    const params = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      ...query,
    });
    let response = await agent.get(`/authorize?${params}`);
    for (let hop = 0; hop < 10; hop += 1) {
      if (response.status === 303 || response.status === 302) {
        response = await agent.get(new URL(response.headers.location!, stack.baseUrl).pathname);
        continue;
      }
      expect(response.status, response.text.slice(0, 300)).to.equal(200);
      if (response.text.includes('/confirm')) return response.text;
      const login = response.text.match(/action="([^"]+\/login)"/)?.[1];
      expect(login, 'login form').to.be.a('string');
      response = await agent.post(login!).type('form').send({ email: account.email, password: account.password });
    }
    throw new Error('no consent page');
  }

  /** Where /authorize sends the browser with an error (the client's redirect URI), as its query. */
  async function authorizationError(url: string): Promise<URLSearchParams> {
    const response = await fetch(url, { redirect: 'manual' });
    const location = response.headers.get('location');
    expect(location, `status ${response.status}`).to.be.a('string');
    expect(location!.startsWith(REDIRECT_URI), location!).to.equal(true);
    return new URL(location!).searchParams;
  }

  it('each token carries its own resource, scopes and lifetime (B: 120 s, A: ACCESS_TOKEN_TTL)', async () => {
    expect(files.tokens.expires_in).to.equal(120);
    expect(files.tokens.scope).to.equal('files:read files:write');
    expect(notes.tokens.expires_in).to.equal(stack.config.ttl.accessToken);
    expect(notes.tokens.scope).to.equal('mcp:read mcp:write');
  });

  it("a token for one resource is refused by the other's verifier and MCP server", async () => {
    const verifyFor = (resource: string) => providerTokenVerifier({ provider: stack.provider, resource });
    const accepted = await verifyFor(filesUrl).verifyAccessToken(files.tokens.access_token);
    expect(accepted.scopes).to.deep.equal(['files:read', 'files:write']);
    for (const [resource, token] of [
      [stack.mcpUrl, files.tokens.access_token],
      [filesUrl, notes.tokens.access_token],
    ] as const) {
      const refused = await verifyFor(resource).verifyAccessToken(token).then(() => undefined, (error: unknown) => error);
      expect(refused).to.be.instanceOf(InvalidTokenError);
      expect((refused as Error).message).to.equal('token was not issued for this resource');
    }
    expect((await callTool(stack.mcpUrl, files.tokens.access_token, 'notes_list')).status).to.equal(401);
    expect((await callTool(filesUrl, notes.tokens.access_token, 'notes_list')).status).to.equal(401);
    expect((await callTool(stack.mcpUrl, notes.tokens.access_token, 'notes_list')).status).to.equal(200);
  });

  it("introspection answers each resource server for its own tokens only", async () => {
    expect((await introspect(stack.baseUrl, filesIntrospector, files.tokens.access_token)).body).to.include({ active: true, aud: filesUrl, scope: 'files:read files:write' });
    expect((await introspect(stack.baseUrl, filesIntrospector, notes.tokens.access_token)).body).to.deep.equal({ active: false });
    expect((await introspect(stack.baseUrl, notesIntrospector, files.tokens.access_token)).body).to.deep.equal({ active: false });
    expect((await introspect(stack.baseUrl, notesIntrospector, notes.tokens.access_token)).body).to.include({ active: true, aud: stack.mcpUrl });
  });

  it("the consent page names the requested resource and shows its own scope descriptions", async () => {
    const client = await registerClient(stack.baseUrl);
    const html = await consentHtml(client, { resource: filesUrl, scope: 'files:read' });
    expect(html).to.include('Files drive');
    expect(html).to.include('open the documents in your Files drive');
    expect(html).to.not.include('read your notes');
    const notesPage = await consentHtml(client, { resource: stack.mcpUrl, scope: 'mcp:read' });
    expect(notesPage).to.include('read your notes');
    expect(notesPage).to.not.include('Files drive');
  });

  it("/account names each connected app's resource", async () => {
    const agent = request.agent(stack.baseUrl);
    const form = await agent.get('/account').expect(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1];
    await agent.post('/account/sign-in').type('form').send({ csrf, email: account.email, password: account.password }).expect(303);
    const page = await agent.get('/account');
    expect(page.status, page.text.slice(0, 300)).to.equal(200);
    expect(page.text).to.include('<strong>Files drive</strong>');
    expect(page.text).to.include('save documents to your Files drive');
  });

  it('discovery and dynamic registration know the registered scopes, without a restart', async () => {
    const discovery = await request(stack.baseUrl).get('/.well-known/oauth-authorization-server').expect(200);
    expect(discovery.body.scopes_supported).to.include.members(['openid', 'mcp:read', 'mcp:write', 'files:read', 'files:write']);
    const registered = await registerClient(stack.baseUrl, { scope: 'files:read files:write' });
    expect(registered.client_id).to.be.a('string');
  });

  it('an unknown resource indicator, or none with two resources registered, is invalid_target', async () => {
    const client = await registerClient(stack.baseUrl);
    const unknown = await authorizationError(authorizeUrl(stack.baseUrl, client, 'https://unregistered.example/mcp', 'files:read'));
    expect(unknown.get('error')).to.equal('invalid_target');
    const query = new URLSearchParams(new URL(authorizeUrl(stack.baseUrl, client, filesUrl, 'files:read')).search);
    query.delete('resource');
    const missing = await authorizationError(`${stack.baseUrl}/authorize?${query}`);
    expect(missing.get('error')).to.equal('invalid_target');
    expect(missing.get('error_description')).to.match(/several resources: name the one you want with the resource parameter/);
  });

  it('removing a resource revokes every grant for it (audited), deletes its introspection client, and leaves the other alone', async () => {
    const outcome = await operations.remove(filesUrl, { actor: { type: 'operator', id: 'test-operator' }, reason: 'files server retired' });
    expect(outcome.counts).to.include({ Grant: 1, AccessToken: 1, RefreshToken: 1, Resource: 1, Client: 1 });
    const refused = await providerTokenVerifier({ provider: stack.provider, resource: filesUrl })
      .verifyAccessToken(files.tokens.access_token)
      .then(() => undefined, (error: unknown) => error);
    expect(refused).to.be.instanceOf(InvalidTokenError);
    expect((await refresh(stack.baseUrl, files.client, files.tokens.refresh_token!)).body.error).to.equal('invalid_grant');
    expect((await introspect(stack.baseUrl, filesIntrospector, files.tokens.access_token)).status).to.equal(401);
    const [audit] = await listAudit(stack.db, { limit: 1 });
    expect(audit).to.deep.include({ action: 'remove_resource', reason: 'files server retired' });
    expect(audit!.actor).to.deep.equal({ type: 'operator', id: 'test-operator' });
    expect(audit!.target).to.deep.equal({ resource: filesUrl });
    expect((await callTool(stack.mcpUrl, notes.tokens.access_token, 'notes_list')).status).to.equal(200);
    const discovery = await request(stack.baseUrl).get('/.well-known/oauth-authorization-server').expect(200);
    expect(discovery.body.scopes_supported).to.not.include('files:read');
    // With one resource left, requests without `resource` default to it again.
    const client = await registerClient(stack.baseUrl);
    const html = await consentHtml(client, { scope: 'mcp:read' });
    expect(html).to.include(stack.mcpUrl);
  });

  (postgresUrl() ? it : it.skip)('PostgreSQL: another process sees a change without a restart (notification)', async function () {
    const other = await startTestServer({ database: stack.database, env: { MCP_RESOURCE: stack.mcpUrl } });
    try {
      const url = 'https://calendar.example/mcp';
      await operations.add({ url, name: 'Calendar', scopes: [{ name: 'calendar:read', description: 'see your calendar' }] });
      const started = Date.now();
      let scopes: string[] = [];
      while (Date.now() - started < 10_000) {
        scopes = (await request(other.baseUrl).get('/.well-known/oauth-authorization-server')).body.scopes_supported;
        if (scopes.includes('calendar:read')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(scopes).to.include('calendar:read');
      this.test!.title += ` (${Date.now() - started} ms)`;
      await operations.remove(url, { actor: { type: 'operator', id: 'test-operator' } });
    } finally {
      await other.close();
    }
  });
});
