// What MCP clients need from the authorization server: metadata they accept, CORS for browser
// clients, `resource` with or without a trailing slash, RFC 9207 `iss`, /authorize without `scope`,
// and ChatGPT's redirect URIs.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  exchangeCode,
  followAuthorization,
  pkcePair,
  REDIRECT_URI,
  registerClient,
  type RegisteredClient,
} from '../support/oauth_flow.ts';
import { loadConfig } from '../../src/config.ts';
import { clientMetadataDocuments } from '../../src/provider/client_id_metadata.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';

describe('authorization server for MCP clients', () => {
  let stack: McpTestStack;
  let account: { id: string; email: string; password: string };

  before(async () => {
    stack = await startMcpTestStack();
    account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
  });
  after(() => stack.close());

  async function authorizeWith(client: RegisteredClient, params: Record<string, string>) {
    const { verifier, challenge } = pkcePair();
    const query = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: randomBytes(8).toString('hex'),
      ...params,
    });
    const result = await followAuthorization(new URL(`/authorize?${query}`, stack.baseUrl), account);
    return { ...result, verifier };
  }

  it('publishes RFC 8414 metadata with S256, iss support, CIMD support and the MCP scopes', async () => {
    const metadata = (await (await fetch(`${stack.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, any>;
    expect(metadata).to.include({
      issuer: stack.baseUrl,
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
      registration_endpoint: `${stack.baseUrl}/reg`,
    });
    expect(metadata.code_challenge_methods_supported).to.deep.equal(['S256']);
    expect(metadata.scopes_supported).to.include.members(['mcp:read', 'mcp:write']);
  });

  it('sends RFC 9207 iss with the authorization response', async () => {
    const client = await registerClient(stack.baseUrl);
    const { callback } = await authorizeWith(client, { scope: 'mcp:read', resource: stack.mcpUrl });
    expect(callback.searchParams.get('iss')).to.equal(stack.baseUrl);
  });

  // RFC 9207 / SEP-2468: errors carry iss too, whether the user caused them or the request did.
  it('sends iss with error redirects: login_required (prompt=none), invalid_request (PKCE plain)', async () => {
    const client = await registerClient(stack.baseUrl);
    for (const [params, error] of [
      [{ prompt: 'none', scope: 'mcp:read' }, 'login_required'],
      [{ scope: 'mcp:read', code_challenge_method: 'plain' }, 'invalid_request'],
    ] as const) {
      const query = new URLSearchParams({
        client_id: client.client_id, response_type: 'code', redirect_uri: REDIRECT_URI, resource: stack.mcpUrl,
        code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: error, ...params,
      });
      const response = await fetch(`${stack.baseUrl}/authorize?${query}`, { redirect: 'manual' });
      const location = new URL(response.headers.get('location') ?? 'about:blank', stack.baseUrl);
      expect(location.origin + location.pathname, error).to.equal(REDIRECT_URI);
      expect(location.searchParams.get('error')).to.equal(error);
      expect(location.searchParams.get('state')).to.equal(error);
      expect(location.searchParams.get('iss'), error).to.equal(stack.baseUrl);
    }
  });

  it('access_denied after Cancel carries iss', async () => {
    const client = await registerClient(stack.baseUrl);
    const start = new URL(`/authorize?${new URLSearchParams({
      client_id: client.client_id, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'mcp:read', resource: stack.mcpUrl,
      code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 'cancel',
    })}`, stack.baseUrl);
    // The driver stops at the redirect URI and, with no code there, reports the query it found.
    const ended = await followAuthorization(start, { ...account, deny: true }).then(() => undefined, (error: Error) => error.message);
    const search = new URLSearchParams(ended?.split('without a code: ')[1] ?? '');
    expect(search.get('error')).to.equal('access_denied');
    expect(search.get('state')).to.equal('cancel');
    expect(search.get('iss')).to.equal(stack.baseUrl);
  });

  it('discovery names the client authentication /revoke (public clients too) and /introspect take', async () => {
    const metadata = (await (await fetch(`${stack.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, any>;
    const tokenMethods: string[] = metadata.token_endpoint_auth_methods_supported;
    expect(tokenMethods).to.include('none');
    expect(metadata.revocation_endpoint_auth_methods_supported).to.deep.equal(tokenMethods);
    expect(metadata.introspection_endpoint_auth_methods_supported).to.deep.equal(tokenMethods.filter((method) => method !== 'none'));
    const openid = (await (await fetch(`${stack.baseUrl}/.well-known/openid-configuration`)).json()) as Record<string, any>;
    expect(openid.revocation_endpoint_auth_methods_supported).to.deep.equal(tokenMethods);
  });

  // SEP-2207: offline_access is honoured when asked and never required. A client registered for the
  // refresh_token grant gets a refresh token either way (MCP clients rarely ask for it); asking
  // without that grant is no error, just no refresh token.
  it('offline_access is honoured, never required, and not listed in the protected-resource metadata', async () => {
    const refreshing = await registerClient(stack.baseUrl);
    const codeOnly = await registerClient(stack.baseUrl, { grant_types: ['authorization_code'] });
    for (const [client, scope, refresh] of [
      [refreshing, 'mcp:read offline_access', true],
      [refreshing, 'mcp:read', true],
      [codeOnly, 'mcp:read offline_access', false],
    ] as const) {
      const label = `${client === refreshing ? 'refresh_token client' : 'code-only client'}, scope ${scope}`;
      const authorization = await authorizeWith(client, { scope, resource: stack.mcpUrl });
      const result = await exchangeCode(stack.baseUrl, client, authorization, stack.mcpUrl);
      expect(result.status, `${label}: ${JSON.stringify(result.body)}`).to.equal(200);
      expect(typeof result.body.refresh_token === 'string', label).to.equal(refresh);
      expect(result.body.scope, label).to.equal('mcp:read');
      expect((await callTool(stack.mcpUrl, result.body.access_token as string, 'whoami')).status, label).to.equal(200);
    }
    const discovery = (await (await fetch(`${stack.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, any>;
    expect(discovery.scopes_supported).to.include('offline_access');
    const prm = (await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', stack.mcpUrl))).json()) as Record<string, any>;
    expect(prm.scopes_supported).to.not.include('offline_access');
  });

  it('defaults /authorize without scope to the resource scopes', async () => {
    const client = await registerClient(stack.baseUrl);
    const authorization = await authorizeWith(client, { resource: stack.mcpUrl });
    const result = await exchangeCode(stack.baseUrl, client, { ...authorization, verifier: authorization.verifier }, stack.mcpUrl);
    expect(result.status, JSON.stringify(result.body)).to.equal(200);
    expect(result.body.scope).to.equal('mcp:read mcp:write');
    expect((await callTool(stack.mcpUrl, result.body.access_token as string, 'notes_add', { text: 'x' })).status).to.equal(200);
  });

  // The same form at /authorize and /token, as the MCP SDK and ChatGPT send it. (Mixed forms are
  // refused with invalid_target: the library compares the token request's resource to the code's.)
  for (const [authorizeForm, tokenForm] of [
    ['slash', 'slash'],
    ['bare', 'bare'],
  ] as const) {
    it(`accepts resource with a trailing slash (authorize: ${authorizeForm}, token: ${tokenForm})`, async () => {
      const form = (kind: 'slash' | 'bare') => (kind === 'slash' ? `${stack.mcpUrl}/` : stack.mcpUrl);
      const client = await registerClient(stack.baseUrl);
      const authorization = await authorizeWith(client, { scope: 'mcp:read', resource: form(authorizeForm) });
      const result = await exchangeCode(stack.baseUrl, client, authorization, form(tokenForm));
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      expect((await callTool(stack.mcpUrl, result.body.access_token as string, 'whoami')).status).to.equal(200);
    });
  }

  it('accepts ChatGPT redirect URIs at registration and authorization', async () => {
    const chatgpt = 'https://chatgpt.com/connector/oauth/abc123XYZ';
    const client = await registerClient(stack.baseUrl, {
      redirect_uris: [chatgpt, 'https://chatgpt.com/connector_platform_oauth_redirect'],
    });
    const { challenge } = pkcePair();
    const query = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: chatgpt,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: stack.mcpUrl,
    });
    const { callback } = await followAuthorization(new URL(`/authorize?${query}`, stack.baseUrl), {
      ...account,
      redirectUri: chatgpt,
    });
    expect(callback.origin + callback.pathname).to.equal(chatgpt);
    expect(callback.searchParams.get('code')).to.be.a('string');
  });

  describe('CORS for browser-based clients', () => {
    const origin = 'http://localhost:6274';

    it('allows registration from any origin (preflight and request)', async () => {
      const preflight = await fetch(`${stack.baseUrl}/reg`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.status).to.equal(204);
      expect(preflight.headers.get('access-control-allow-origin')).to.be.oneOf([origin, '*']);
      expect(preflight.headers.get('access-control-allow-methods')).to.include('POST');
      const registered = await fetch(`${stack.baseUrl}/reg`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [`${origin}/oauth/callback`], token_endpoint_auth_method: 'none' }),
      });
      expect(registered.status).to.equal(201);
      expect(registered.headers.get('access-control-allow-origin')).to.be.oneOf([origin, '*']);
    });

    it('allows /token and /revoke from the origin of a client redirect URI', async () => {
      const client = await registerClient(stack.baseUrl, { redirect_uris: [REDIRECT_URI, `${origin}/oauth/callback`] });
      for (const path of ['/token', '/revoke']) {
        const preflight = await fetch(`${stack.baseUrl}${path}`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST' },
        });
        expect(preflight.headers.get('access-control-allow-origin'), path).to.equal(origin);
        const response = await fetch(`${stack.baseUrl}${path}`, {
          method: 'POST',
          headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: client.client_id, token: 'unknown', grant_type: 'refresh_token', refresh_token: 'unknown' }),
        });
        expect(response.headers.get('access-control-allow-origin'), path).to.equal(origin);
      }
    });
  });

  it('fetches client metadata documents on localhost only with CLIENT_METADATA_ALLOW_LOOPBACK, never in production', async () => {
    const local = 'https://localhost:8443/client.json';
    const remote = 'https://app.example.com/client.json';
    for (const [env, allow, localAllowed] of [
      ['development', undefined, false],
      ['test', undefined, false],
      ['development', 'true', true],
      ['test', 'true', true],
    ] as const) {
      const { feature } = clientMetadataDocuments(loadConfig({ NODE_ENV: env, ...(allow ? { CLIENT_METADATA_ALLOW_LOOPBACK: allow } : {}) }));
      expect(await feature.allowFetch!(undefined as never, local), `${env} ${allow}`).to.equal(localAllowed);
      expect(await feature.allowFetch!(undefined as never, remote), `${env} ${allow}`).to.equal(true);
    }
    expect(() => loadConfig({ NODE_ENV: 'production', CLIENT_METADATA_ALLOW_LOOPBACK: 'true' })).to.throw(/CLIENT_METADATA_ALLOW_LOOPBACK/);
  });
});
