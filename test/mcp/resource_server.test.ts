// The MCP server's HTTP contract: metadata, challenges, scopes, per-account notes, and that every
// kind of dead token gets 401 while an unreachable database gets 503.
import { expect } from 'chai';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../src/retry_after.ts';
import { connectClient, registerClient, type TokenSet } from '../support/oauth_flow.ts';
import { bearerChallenge, callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { expectInvalidToken as expectRefusalFor } from '../support/refusals.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';
import { mintAccessToken, mintGrant } from '../support/tokens.ts';

describe('MCP resource server', () => {
  let stack: McpTestStack;
  let account: { id: string; email: string; password: string };
  let metadataUrl: string;

  before(async () => {
    stack = await startMcpTestStack();
    account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
    metadataUrl = new URL('/.well-known/oauth-protected-resource/mcp', stack.mcpUrl).href;
  });
  after(() => stack.close());

  function expectInvalidToken(response: { status: number; headers: Headers }): void {
    expect(response.status).to.equal(401);
    const challenge = bearerChallenge(response.headers.get('www-authenticate'));
    expect(challenge).to.include({ error: 'invalid_token', resource_metadata: metadataUrl });
    expect(challenge.scope).to.equal('mcp:read mcp:write');
  }

  it('serves RFC 9728 metadata at the path form and the root form', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await fetch(new URL(path, stack.mcpUrl));
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.include({
        resource: stack.mcpUrl,
        authorization_servers: [stack.baseUrl],
        scopes_supported: ['mcp:read', 'mcp:write'],
        bearer_methods_supported: ['header'],
      });
    }
  });

  it('answers a request with no credentials with 401 and a bare challenge: metadata and scope, no error code (RFC 6750 §3.1)', async () => {
    const missing = await callTool(stack.mcpUrl, undefined, 'whoami');
    const basic = await fetch(stack.mcpUrl, { method: 'POST', headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    for (const response of [missing, basic]) {
      expect(response.status).to.equal(401);
      const [bearer, dpop] = response.headers.get('www-authenticate')!.split(/, (?=DPoP )/);
      expect(bearerChallenge(bearer!)).to.deep.equal({ resource_metadata: metadataUrl, scope: 'mcp:read mcp:write' });
      expect(dpop).to.match(/^DPoP algs="[^"]+"$/);
    }
  });

  it('answers a malformed or unknown token with 401 invalid_token and a challenge naming the metadata', async () => {
    expectInvalidToken(await callTool(stack.mcpUrl, 'not-a-token-we-issued', 'whoami'));
    expectInvalidToken(await fetch(stack.mcpUrl, { method: 'POST', headers: { authorization: 'Bearer !!!' } }));
  });

  it('answers initialize without tools.listChanged: a stateless server has no stream to deliver it on', async () => {
    const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tokens.access_token}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '0' } },
      }),
    });
    expect(response.status).to.equal(200);
    const text = await response.text();
    // JSON or one SSE event, depending on the transport's response mode.
    const { result } = JSON.parse(text.startsWith('{') ? text : /^data: (.*)$/m.exec(text)![1]!);
    expect(result.capabilities).to.have.property('tools');
    expect(result.capabilities.tools.listChanged).to.not.equal(true);
  });

  it('runs tools with a valid token, and keeps notes per account', async () => {
    const mine = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    const other = { ...(await createTestAccount(stack.db, 'other')), password: TEST_PASSWORD };
    const theirs = await connectClient(stack.baseUrl, other, { resource: stack.mcpUrl });

    const who = await callTool(stack.mcpUrl, mine.tokens.access_token, 'whoami');
    expect(who.status).to.equal(200);
    expect(who.body.result.structuredContent).to.include({ accountId: account.id, clientId: mine.client.client_id });

    expect((await callTool(stack.mcpUrl, mine.tokens.access_token, 'notes_add', { text: 'buy milk' })).status).to.equal(200);
    expect((await callTool(stack.mcpUrl, theirs.tokens.access_token, 'notes_add', { text: 'not yours' })).status).to.equal(200);
    const listed = await callTool(stack.mcpUrl, mine.tokens.access_token, 'notes_list');
    expect(listed.body.result.structuredContent.notes.map((note: { text: string }) => note.text)).to.deep.equal(['buy milk']);

    const invalid = await callTool(stack.mcpUrl, mine.tokens.access_token, 'notes_add', { text: '' });
    expect(invalid.body.result.isError).to.equal(true);
  });

  it('answers 403 insufficient_scope, naming the scopes to ask for, when a tool needs a scope the token lacks', async () => {
    const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl, scope: 'mcp:read' });
    expect(tokens.scope).to.equal('mcp:read');
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'notes_list')).status).to.equal(200);
    const denied = await callTool(stack.mcpUrl, tokens.access_token, 'notes_add', { text: 'nope' });
    expect(denied.status).to.equal(403);
    expect(bearerChallenge(denied.headers.get('www-authenticate'))).to.include({
      error: 'insufficient_scope',
      scope: 'mcp:read mcp:write',
      resource_metadata: metadataUrl,
    });
  });

  describe('dead tokens are 401', () => {
    let client: Awaited<ReturnType<typeof registerClient>>;
    /** 401 invalid_token with the challenge every refusal carries, for the reason `description` names. */
    function expectDead(response: { status: number; body: unknown; headers: Headers }, description: string): void {
      expectInvalidToken(response);
      expectRefusalFor(response, description);
    }
    before(async () => {
      client = await registerClient(stack.baseUrl);
    });

    async function liveGrant(): Promise<string> {
      return mintGrant(stack.provider, { clientId: client.client_id, accountId: account.id, resource: stack.mcpUrl });
    }

    it('a token issued for another resource', async () => {
      const grantId = await liveGrant();
      const token = await mintAccessToken(stack.provider, {
        clientId: client.client_id,
        accountId: account.id,
        grantId,
        aud: 'https://elsewhere.example/mcp',
      });
      const control = await mintAccessToken(stack.provider, { clientId: client.client_id, accountId: account.id, grantId, aud: stack.mcpUrl });
      expect((await callTool(stack.mcpUrl, control, 'whoami')).status).to.equal(200);
      expectDead(await callTool(stack.mcpUrl, token, 'whoami'), 'token was not issued for this resource');
    });

    it('an expired token (inside and beyond the clock tolerance)', async () => {
      const grantId = await liveGrant();
      for (const expiresIn of [-1, -60]) {
        const token = await mintAccessToken(stack.provider, {
          clientId: client.client_id,
          accountId: account.id,
          grantId,
          aud: stack.mcpUrl,
          expiresIn,
        });
        expectDead(await callTool(stack.mcpUrl, token, 'whoami'), expiresIn === -1 ? 'token has expired' : 'token is unknown, revoked or expired');
      }
    });

    it('a token whose grant was destroyed', async () => {
      const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
      const grantId = (await stack.provider.AccessToken.find(tokens.access_token))!.grantId;
      expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
      await (await stack.provider.Grant.find(grantId))!.destroy();
      expectDead(await callTool(stack.mcpUrl, tokens.access_token, 'whoami'), 'token is unknown, revoked or expired');
    });

    it('a token whose grant belongs to another account', async () => {
      const other = await createTestAccount(stack.db, 'grantee');
      const grantId = await mintGrant(stack.provider, { clientId: client.client_id, accountId: other.id, resource: stack.mcpUrl });
      const token = await mintAccessToken(stack.provider, { clientId: client.client_id, accountId: account.id, grantId, aud: stack.mcpUrl });
      expectDead(await callTool(stack.mcpUrl, token, 'whoami'), 'token grant is missing, expired or does not match');
    });

    it('a session-bound token whose session is gone', async () => {
      const grantId = await liveGrant();
      const token = await mintAccessToken(stack.provider, {
        clientId: client.client_id,
        accountId: account.id,
        grantId,
        aud: stack.mcpUrl,
        sessionUid: 'no-such-session',
      });
      expectDead(await callTool(stack.mcpUrl, token, 'whoami'), 'token is unknown, revoked or expired');
    });

    it('a token of a deleted client', async () => {
      const { client: doomed, tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
      expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
      const deleted = await fetch(doomed.registration_client_uri!, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${doomed.registration_access_token}` },
      });
      expect(deleted.status).to.equal(204);
      expectDead(await callTool(stack.mcpUrl, tokens.access_token, 'whoami'), 'token is unknown, revoked or expired');
    });

    it('a refresh token presented as an access token', async () => {
      const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
      expectDead(await callTool(stack.mcpUrl, (tokens as TokenSet).refresh_token, 'whoami'), 'token is unknown, revoked or expired');
    });
  });

  it('answers 503, never 200 or 500, when the database is unreachable', async () => {
    const broken = await startMcpTestStack();
    const owner = { ...(await createTestAccount(broken.db)), password: TEST_PASSWORD };
    const { tokens } = await connectClient(broken.baseUrl, owner, { resource: broken.mcpUrl });
    expect((await callTool(broken.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
    await broken.database.close();
    try {
      const response = await callTool(broken.mcpUrl, tokens.access_token, 'whoami');
      expect(response.status).to.equal(503);
      expect(response.headers.get('retry-after')).to.equal(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      expect(response.body).to.include({ error: 'temporarily_unavailable' });
    } finally {
      broken.mcpServer.closeAllConnections();
      broken.mcpServer.close();
      broken.server.closeAllConnections();
      broken.server.close();
    }
  });
});
