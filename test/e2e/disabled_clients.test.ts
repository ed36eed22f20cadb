// A disabled client is refused everywhere, whatever kind it is: a dynamically registered client and
// a Client ID Metadata Document client (served here over https with a self-signed certificate the
// process trusts for the suite) alike, at /authorize, /token, /revoke, /introspect and the MCP server,
// until it is enabled. Disabling revokes what the client holds; to see that the refusal does not rest
// on that, the client also gets a live grant with tokens minted after it was disabled (what a token
// racing the disable, or a future bug, would leave behind).
import { expect } from 'chai';
import type { Client } from 'oidc-provider';
import { operatorOperations } from '../../src/revocation/operator_operations.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { type MetadataDocumentServer, publicClientDocument, startMetadataDocumentServer } from '../support/metadata_documents.ts';
import { authorizeUrl, connectClient, introspect, postForm, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { observe, type SignInAccount } from '../support/observed_server.ts';
import { expectInvalidToken } from '../support/refusals.ts';
import { createIntrospector } from '../support/server.ts';
import { mintGrant } from '../support/tokens.ts';

const operator = { actor: { type: 'operator' as const, id: 'test' } };

describe('a disabled client is refused everywhere, whatever its kind', function () {
  this.timeout(60_000);
  let documents: MetadataDocumentServer;
  let stack: McpTestStack;
  let account: SignInAccount;
  let resourceServer: RegisteredClient;
  let cimdClientId: string;

  before(async () => {
    documents = await startMetadataDocumentServer();
    cimdClientId = `${documents.origin}/client.json`;
    documents.serve('/client.json', publicClientDocument(cimdClientId, { client_name: 'CIMD client' }));
    // Loopback metadata documents are a development-only allowance.
    stack = await startMcpTestStack({ env: { CLIENT_METADATA_ALLOW_LOOPBACK: 'true' } });
    ({ account, observer: resourceServer } = await observe(stack));
  });
  after(async () => {
    await stack?.close();
    await documents?.close();
  });

  /** A live grant with an access and a refresh token, minted with a client object held from before. */
  async function liveTokens(client: Client): Promise<{ accessToken: string; refreshToken: string }> {
    const grantId = await mintGrant(stack.provider, { clientId: client.clientId, accountId: account.id, resource: stack.mcpUrl });
    const fields = { client, accountId: account.id, grantId, gty: 'authorization_code', scope: 'mcp:read mcp:write' };
    const accessToken = await new stack.provider.AccessToken({ ...fields, aud: stack.mcpUrl }).save();
    const refreshToken = await new stack.provider.RefreshToken({ ...fields, resource: stack.mcpUrl }).save();
    return { accessToken, refreshToken };
  }

  async function authorizeStatus(clientId: string): Promise<{ status: number; location: string | null }> {
    const response = await fetch(authorizeUrl(stack.baseUrl, { client_id: clientId }, stack.mcpUrl), { redirect: 'manual' });
    return { status: response.status, location: response.headers.get('location') };
  }

  const kinds: { name: string; client: () => Promise<RegisteredClient> }[] = [
    { name: 'a Client ID Metadata Document client', client: async () => ({ client_id: cimdClientId }) },
    { name: 'a dynamically registered public client', client: () => registerClient(stack.baseUrl) },
    { name: 'a dynamically registered confidential client', client: () => registerClient(stack.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' }) },
  ];

  for (const kind of kinds) {
    it(`${kind.name}: refused at /authorize, /token, /revoke, /introspect and the MCP server until enabled`, async () => {
      const registered = await kind.client();
      const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl, client: registered });
      expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status, 'works before').to.equal(200);
      const client = (await stack.provider.Client.find(registered.client_id))!;
      expect(client, 'resolvable before').to.not.equal(undefined);

      await operatorOperations(stack.db, stack.revocation).disableClient(registered.client_id, { ...operator, reason: 'test' });
      const live = await liveTokens(client);

      const authorization = await authorizeStatus(registered.client_id);
      expect(authorization.status, '/authorize').to.equal(400);
      expect(authorization.location, '/authorize sends nothing to the redirect URI').to.equal(null);

      const refreshed = await postForm(stack.baseUrl, '/token', registered, { grant_type: 'refresh_token', refresh_token: live.refreshToken });
      expect([refreshed.status, refreshed.body.error], '/token').to.deep.equal([401, 'invalid_client']);

      const revoked = await postForm(stack.baseUrl, '/revoke', registered, { token: live.accessToken });
      expect([revoked.status, revoked.body.error], '/revoke').to.deep.equal([401, 'invalid_client']);

      const own = await postForm(stack.baseUrl, '/introspect', registered, { token: live.accessToken });
      expect([own.status, own.body.error], '/introspect by the client').to.deep.equal([401, 'invalid_client']);
      expect((await introspect(stack.baseUrl, resourceServer, live.accessToken)).body, '/introspect by the resource server').to.deep.equal({ active: false });

      expectInvalidToken(await callTool(stack.mcpUrl, live.accessToken, 'whoami'), 'token client no longer exists', 'MCP server');

      await operatorOperations(stack.db, stack.revocation).enableClient(registered.client_id, operator);
      const again = await authorizeStatus(registered.client_id);
      expect(again.status, '/authorize once enabled').to.equal(303);
      expect((await callTool(stack.mcpUrl, live.accessToken, 'whoami')).status, 'minted while disabled, usable once enabled').to.equal(200);
    });
  }

  it('a deleted metadata-document client stays refused (it has no registration to lose) until enabled', async () => {
    const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl, client: { client_id: cimdClientId } });
    const outcome = await operatorOperations(stack.db, stack.revocation).deleteClient(cimdClientId, { ...operator, reason: 'test' });
    expect(outcome.counts.Grant, 'its grants go').to.be.at.least(1);
    expectInvalidToken(await callTool(stack.mcpUrl, tokens.access_token, 'whoami'), 'token is unknown, revoked or expired');
    expect((await authorizeStatus(cimdClientId)).status, '/authorize after delete').to.equal(400);
    await operatorOperations(stack.db, stack.revocation).enableClient(cimdClientId, operator);
    expect((await authorizeStatus(cimdClientId)).status, '/authorize once enabled').to.equal(303);
  });

  it('a disabled resource-server client is refused at /introspect', async () => {
    const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    const spare = await createIntrospector(stack);
    expect((await introspect(stack.baseUrl, spare, tokens.access_token)).body.active).to.equal(true);
    await operatorOperations(stack.db, stack.revocation).disableClient(spare.client_id, operator);
    const refused = await introspect(stack.baseUrl, spare, tokens.access_token);
    expect([refused.status, refused.body.error]).to.deep.equal([401, 'invalid_client']);
  });
});
