// The MCP SDK's own client against our two servers, end to end: 401 -> protected resource metadata ->
// authorization server metadata -> dynamic registration -> PKCE with `resource` -> tools/call ->
// refresh -> revocation at /revoke -> 401 -> the SDK authorizes again and the call succeeds.
import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { revoke } from '../support/oauth_flow.ts';
import { callToolReauthorizing, connectMcpClient, HeadlessOAuthProvider } from '../support/mcp_client.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { expectInvalidToken } from '../support/refusals.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';

function structured(result: unknown): Record<string, any> {
  return (result as { structuredContent: Record<string, any> }).structuredContent;
}

describe('MCP SDK client, dynamic client registration', () => {
  let stack: McpTestStack;
  let account: { id: string; email: string; password: string };
  let seen: string[];
  let fetchSpy: typeof globalThis.fetch;
  const realFetch = globalThis.fetch;

  before(async () => {
    stack = await startMcpTestStack();
    account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
    seen = [];
    fetchSpy = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      // Only this stack's two servers: a request another suite left in flight is not the SDK's.
      const server = url.port === new URL(stack.mcpUrl).port ? 'mcp' : url.port === new URL(stack.baseUrl).port ? 'as' : undefined;
      if (server) seen.push(`${init?.method ?? 'GET'} ${server}${url.pathname}`);
      return realFetch(input, init);
    };
    globalThis.fetch = fetchSpy;
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await stack.close();
  });

  it('discovers, registers, authorizes, calls whoami, refreshes, and re-authorizes after revocation', async () => {
    const provider = new HeadlessOAuthProvider(account);
    let client: Client = await connectMcpClient(stack.mcpUrl, provider);

    // The discovery and authorization sequence the SDK went through.
    const sequence = seen.filter((line) => !line.includes('/interaction/'));
    expect(sequence.slice(0, 5)).to.deep.equal([
      'POST mcp/mcp',
      'GET mcp/.well-known/oauth-protected-resource/mcp',
      'GET as/.well-known/oauth-authorization-server',
      'POST as/reg',
      'GET as/authorize',
    ]);
    expect(sequence).to.include('POST as/token');
    const authorizationUrl = provider.authorizationUrls[0]!;
    expect(authorizationUrl.searchParams.get('resource')).to.equal(stack.mcpUrl);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).to.equal('S256');

    let result = await client.callTool({ name: 'whoami', arguments: {} });
    const who = structured(result);
    expect(who).to.include({ accountId: account.id, email: account.email, resource: stack.mcpUrl });
    expect(who.clientId).to.equal(provider.clientInformation()!.client_id);
    expect(who.scopes).to.have.members(['mcp:read', 'mcp:write']);
    expect(Date.parse(who.expiresAt)).to.be.greaterThan(Date.now());

    // Refresh: the held access token stops working; the SDK refreshes on the 401 and retries.
    const savesBefore = provider.tokenSaves;
    const firstRefreshToken = provider.tokens()!.refresh_token!;
    provider.spoilAccessToken();
    result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(structured(result).accountId).to.equal(account.id);
    expect(provider.tokenSaves).to.equal(savesBefore + 1);
    expect(provider.tokens()!.refresh_token).to.be.a('string').and.not.equal(firstRefreshToken);

    // Revoke the refresh token at /revoke: the grant ends, access token included.
    const { access_token: revokedAccessToken, refresh_token: refreshToken } = provider.tokens()!;
    const revoked = await revoke(stack.baseUrl, { client_id: provider.clientInformation()!.client_id }, refreshToken!, 'refresh_token');
    expect(revoked.status).to.equal(200);
    expectInvalidToken(await callTool(stack.mcpUrl, revokedAccessToken, 'whoami'), 'token is unknown, revoked or expired');

    // The SDK's next call gets the 401, fails to refresh (invalid_grant), and starts a new authorization.
    const authorizationsBefore = provider.authorizationUrls.length;
    ({ client, result } = await callToolReauthorizing(stack.mcpUrl, provider, client, 'whoami'));
    expect(provider.authorizationUrls.length).to.equal(authorizationsBefore + 1);
    expect(structured(result).accountId).to.equal(account.id);
    expect(provider.tokens()!.access_token).to.not.equal(revokedAccessToken);
    await client.close();
  });
});
