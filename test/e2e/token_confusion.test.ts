// Token confusion and replay, end to end at every place a token is accepted (the MCP server, the
// admin API, /token, /introspect): each case must fail closed. A token for another resource, tokens of
// disabled and deleted clients, a replayed authorization code (whose first tokens must die too), and
// refresh tokens or codes presented by another client.
import { expect } from 'chai';
import { adminResource } from '../../src/admin/operator_clients.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import {
  authorize,
  connectClient,
  exchangeCode,
  introspect,
  postForm,
  refresh,
  registerClient,
  type RegisteredClient,
  REDIRECT_URI,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { createOperator, operatorToken, requestOperatorToken } from '../support/operator.ts';
import { expectInvalidToken, expectTokenEndpointRefusal } from '../support/refusals.ts';
import { observe, type SignInAccount } from '../support/observed_server.ts';

describe('token confusion and replay fail closed', () => {
  let stack: McpTestStack;
  let account: SignInAccount;
  let observer: RegisteredClient;
  let operator: RegisteredClient;

  before(async () => {
    stack = await startMcpTestStack();
    ({ account, observer } = await observe(stack));
    operator = await createOperator(stack, 'confusion');
  });
  after(() => stack.close());

  const connect = (metadata: Record<string, unknown> = {}) =>
    connectClient(stack.baseUrl, account, { resource: stack.mcpUrl, metadata });

  /** The admin API's answer to `token`: its status and, for a refusal, the reason it gives. */
  async function adminCall(token: string): Promise<{ status: number; description?: string }> {
    const response = await fetch(`${stack.baseUrl}/admin/clients`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { error_description?: string };
    return { status: response.status, description: body.error_description };
  }

  /** Dead everywhere: the MCP server refuses it (its rows are gone), introspection calls it inactive. */
  async function expectDead(tokens: TokenSet, label: string): Promise<void> {
    expectInvalidToken(await callTool(stack.mcpUrl, tokens.access_token, 'whoami'), 'token is unknown, revoked or expired', `${label}: MCP`);
    expect((await introspect(stack.baseUrl, observer, tokens.access_token)).body, `${label}: introspect access`).to.deep.equal({ active: false });
    if (tokens.refresh_token) {
      expect((await introspect(stack.baseUrl, observer, tokens.refresh_token)).body, `${label}: introspect refresh`).to.deep.equal({ active: false });
    }
  }

  async function expectAlive(tokens: TokenSet, label: string): Promise<void> {
    const call = await callTool(stack.mcpUrl, tokens.access_token, 'whoami');
    expect(call.status, `${label}: MCP ${JSON.stringify(call.body)}`).to.equal(200);
  }

  describe('a token for another resource', () => {
    it("a user's MCP access token is refused by the admin API; an operator's admin token by the MCP server", async () => {
      const { tokens } = await connect();
      // The admin API knows only client-credentials tokens: a user's access token is none.
      expect(await adminCall(tokens.access_token)).to.deep.equal({ status: 401, description: 'token is unknown, revoked or expired' });
      const admin = await operatorToken(stack.baseUrl, operator);
      expect((await adminCall(admin)).status).to.equal(200);
      // Nor the MCP server any but access tokens: an operator's client-credentials token is none.
      expectInvalidToken(await callTool(stack.mcpUrl, admin, 'whoami'), 'token is unknown, revoked or expired');
    });

    it('a refresh token cannot be traded for a token of another resource; an unknown resource gets no token at all', async () => {
      const { client, tokens } = await connect();
      for (const resource of [adminResource(stack.baseUrl), 'https://elsewhere.example/mcp']) {
        const traded = await postForm(stack.baseUrl, '/token', client, {
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token!,
          resource,
        });
        expect(traded.status, JSON.stringify(traded.body)).to.equal(400);
        expect(traded.body.error).to.be.oneOf(['invalid_target', 'invalid_grant']);
        expect(traded.body).to.not.have.property('access_token');
      }
      const authorization = await authorize(stack.baseUrl, { client, ...account, resource: stack.mcpUrl, scope: 'mcp:read' });
      const exchanged = await exchangeCode(stack.baseUrl, client, authorization, 'https://elsewhere.example/mcp');
      expect(exchanged.status).to.equal(400);
      expect(exchanged.body).to.not.have.property('access_token');
    });

    it('a refresh token or an authorization code is not an access token anywhere', async () => {
      const { client, tokens } = await connect();
      expectInvalidToken(await callTool(stack.mcpUrl, tokens.refresh_token!, 'whoami'), 'token is unknown, revoked or expired');
      expect(await adminCall(tokens.refresh_token!)).to.deep.equal({ status: 401, description: 'token is unknown, revoked or expired' });
      const authorization = await authorize(stack.baseUrl, { client, ...account, resource: stack.mcpUrl, scope: 'mcp:read' });
      expectInvalidToken(await callTool(stack.mcpUrl, authorization.code, 'whoami'), 'token is unknown, revoked or expired');
      // And an access token is not a refresh token.
      expectTokenEndpointRefusal(await refresh(stack.baseUrl, client, tokens.access_token), 'invalid_grant');
    });
  });

  describe('tokens of disabled and deleted clients', () => {
    it('a disabled client: its tokens are dead at once, refresh and new authorizations refused; enabling it does not revive them', async () => {
      const { client, tokens } = await connect();
      await expectAlive(tokens, 'before');
      await stack.revocation.disableClient(client.client_id, { actor: { type: 'operator', id: 'test' } });
      await expectDead(tokens, 'disabled');
      expectTokenEndpointRefusal(await refresh(stack.baseUrl, client, tokens.refresh_token!), 'invalid_client');
      const started = await fetch(
        `${stack.baseUrl}/authorize?${new URLSearchParams({
          client_id: client.client_id,
          response_type: 'code',
          redirect_uri: REDIRECT_URI,
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        })}`,
        { redirect: 'manual', headers: { accept: 'application/json' } },
      );
      expect(started.status).to.equal(400);
      expect(await started.text()).to.include('invalid_client');
      await stack.revocation.enableClient(client.client_id, { actor: { type: 'operator', id: 'test' } });
      await expectDead(tokens, 'enabled again');
      expectTokenEndpointRefusal(await refresh(stack.baseUrl, client, tokens.refresh_token!), 'invalid_grant');
    });

    it('a deleted client (RFC 7592 DELETE and operator delete): tokens dead, client_id unusable', async () => {
      for (const how of ['rfc7592', 'operator'] as const) {
        const { client, tokens } = await connect();
        if (how === 'rfc7592') {
          const deleted = await fetch(client.registration_client_uri!, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${client.registration_access_token}` },
          });
          expect(deleted.status).to.equal(204);
        } else {
          await stack.revocation.deleteClient(client.client_id, { actor: { type: 'operator', id: 'test' } });
        }
        await expectDead(tokens, how);
        expectTokenEndpointRefusal(await refresh(stack.baseUrl, client, tokens.refresh_token!), 'invalid_client', how);
      }
    });

    it('a disabled or deleted operator client loses the admin API at once', async () => {
      const spare = await createOperator(stack, 'short-lived');
      const issue = () => requestOperatorToken(stack.baseUrl, spare);
      const token = String((await issue()).body.access_token);
      expect((await adminCall(token)).status).to.equal(200);
      await stack.revocation.disableClient(spare.client_id, { actor: { type: 'operator', id: 'test' } });
      expect(await adminCall(token), 'disabled').to.deep.equal({ status: 401, description: 'token is unknown, revoked or expired' });
      expectTokenEndpointRefusal(await issue(), 'invalid_client', 'disabled');
      await stack.revocation.deleteClient(spare.client_id, { actor: { type: 'operator', id: 'test' } });
      expect(await adminCall(token), 'deleted').to.deep.equal({ status: 401, description: 'token is unknown, revoked or expired' });
      expectTokenEndpointRefusal(await issue(), 'invalid_client', 'deleted');
    });
  });

  describe('a replayed authorization code', () => {
    it('the replay gets nothing, and the tokens of the first exchange die too (RFC 9700 §4.5)', async () => {
      for (const client of [await registerClient(stack.baseUrl), await registerClient(stack.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' })]) {
        const authorization = await authorize(stack.baseUrl, { client, ...account, resource: stack.mcpUrl, scope: 'mcp:read mcp:write' });
        const first = await exchangeCode(stack.baseUrl, client, authorization, stack.mcpUrl);
        expect(first.status).to.equal(200);
        const tokens = first.body as unknown as TokenSet;
        await expectAlive(tokens, 'first exchange');
        expectTokenEndpointRefusal(await exchangeCode(stack.baseUrl, client, authorization, stack.mcpUrl), 'invalid_grant', 'replay');
        await expectDead(tokens, 'after the replay');
        expectTokenEndpointRefusal(await refresh(stack.baseUrl, client, tokens.refresh_token!), 'invalid_grant', 'refresh after the replay');
      }
    });
  });

  describe('credentials presented by another client', () => {
    it("another client's refresh token: invalid_grant, no token, for public and confidential thieves", async () => {
      const { client: victim, tokens } = await connect();
      for (const thief of [await registerClient(stack.baseUrl), await registerClient(stack.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' })]) {
        expectTokenEndpointRefusal(await refresh(stack.baseUrl, thief, tokens.refresh_token!), 'invalid_grant');
      }
      // The thief named the victim's client_id without its credentials: a confidential victim is not
      // impersonated (invalid_client); a public victim is exactly what refresh-token rotation is for.
      const confidential = await connect({ token_endpoint_auth_method: 'client_secret_basic' });
      const impersonation = await postForm(stack.baseUrl, '/token', undefined, {
        grant_type: 'refresh_token',
        refresh_token: confidential.tokens.refresh_token!,
        client_id: confidential.client.client_id,
      });
      expectTokenEndpointRefusal(impersonation, 'invalid_client');
      // The victims still hold working tokens: a thief's attempt is refused without side effects on them.
      await expectAlive(tokens, 'victim after the theft attempts');
      expect((await refresh(stack.baseUrl, victim, tokens.refresh_token!)).status).to.equal(200);
    });

    it("another client's authorization code, with the right PKCE verifier: invalid_grant, no token", async () => {
      const victim = await registerClient(stack.baseUrl);
      const thief = await registerClient(stack.baseUrl);
      const authorization = await authorize(stack.baseUrl, { client: victim, ...account, resource: stack.mcpUrl, scope: 'mcp:read' });
      expectTokenEndpointRefusal(await exchangeCode(stack.baseUrl, thief, authorization, stack.mcpUrl), 'invalid_grant', 'stolen code');
      // A code with the wrong verifier is refused too.
      const other = await authorize(stack.baseUrl, { client: victim, ...account, resource: stack.mcpUrl, scope: 'mcp:read' });
      const wrongVerifier = await exchangeCode(stack.baseUrl, victim, { ...other, verifier: authorization.verifier }, stack.mcpUrl);
      expectTokenEndpointRefusal(wrongVerifier, 'invalid_grant', 'wrong verifier');
    });
  });
});
