// The whole flow driven by an independent client library (openid-client 6): discovery by both
// metadata documents, dynamic registration, PKCE + resource authorization, code exchange, refresh
// with rotation, revocation and introspection. Only the browser part (login and consent forms) is
// played by the test's own driver.
import { expect } from 'chai';
import * as client from 'openid-client';
import { followAuthorization, REDIRECT_URI } from '../support/oauth_flow.ts';
import { createIntrospector, createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

describe('authorization code flow driven by openid-client', () => {
  let server: TestServer;
  let account: { email: string; password: string; id: string };
  let resource: string;
  const insecure = { execute: [client.allowInsecureRequests] };

  before(async () => {
    server = await startTestServer();
    resource = server.config.resource;
    account = { ...(await createTestAccount(server.db)), password: TEST_PASSWORD };
  });
  after(() => server.close());

  for (const algorithm of ['oauth2', 'oidc'] as const) {
    const path = algorithm === 'oauth2' ? '/.well-known/oauth-authorization-server' : '/.well-known/openid-configuration';
    it(`discovers the server at ${path}`, async () => {
      const config = await client.discovery(new URL(server.baseUrl), 'unregistered', undefined, client.None(), { algorithm, ...insecure });
      const metadata = config.serverMetadata();
      expect(metadata.issuer).to.equal(server.baseUrl);
      expect(metadata).to.include({
        authorization_endpoint: `${server.baseUrl}/authorize`,
        token_endpoint: `${server.baseUrl}/token`,
        revocation_endpoint: `${server.baseUrl}/revoke`,
        introspection_endpoint: `${server.baseUrl}/introspect`,
        registration_endpoint: `${server.baseUrl}/reg`,
        jwks_uri: `${server.baseUrl}/jwks`,
      });
      expect(metadata.code_challenge_methods_supported).to.deep.equal(['S256']);
      const direct = await fetch(`${server.baseUrl}${path}`);
      expect(direct.status).to.equal(200);
      expect(((await direct.json()) as { issuer: string }).issuer).to.equal(server.baseUrl);
    });
  }

  const kinds = [
    { name: 'public client (none)', metadata: { token_endpoint_auth_method: 'none' }, auth: () => client.None() },
    { name: 'confidential client (client_secret_basic)', metadata: { token_endpoint_auth_method: 'client_secret_basic' }, auth: () => client.ClientSecretBasic() },
  ];

  for (const kind of kinds) {
    it(`${kind.name}: registers, authorizes with PKCE and resource, exchanges, refreshes, revokes, introspects`, async () => {
      const config = await client.dynamicClientRegistration(
        new URL(server.baseUrl),
        {
          client_name: 'openid-client test',
          redirect_uris: [REDIRECT_URI],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          ...kind.metadata,
        },
        kind.auth(),
        { algorithm: 'oauth2', ...insecure },
      );
      const registered = config.clientMetadata();
      expect(registered.client_id).to.be.a('string');
      expect(registered.token_endpoint_auth_method).to.equal(kind.metadata.token_endpoint_auth_method);

      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'mcp:read mcp:write',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        resource,
        state,
      });
      expect(url.href.startsWith(`${server.baseUrl}/authorize?`)).to.equal(true);

      const { callback } = await followAuthorization(url, { email: account.email, password: account.password });
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource });
      expect(tokens.token_type.toLowerCase()).to.equal('bearer');
      expect(tokens.refresh_token).to.be.a('string');
      expect(tokens.scope).to.equal('mcp:read mcp:write');
      expect(tokens.expiresIn()).to.be.within(1, 600);

      // Introspection is the resource server's (its own confidential client), not the app's.
      const introspector = await createIntrospector(server);
      const resourceServer = new client.Configuration(config.serverMetadata(), introspector.client_id, introspector.client_secret);
      client.allowInsecureRequests(resourceServer);
      expect((await client.tokenIntrospection(config, tokens.access_token)).active, 'the app itself learns nothing').to.equal(false);
      const introspected = await client.tokenIntrospection(resourceServer, tokens.access_token);
      expect(introspected).to.include({ active: true, client_id: registered.client_id, sub: account.id, aud: resource });

      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.access_token).to.not.equal(tokens.access_token);
      const latestRefresh = refreshed.refresh_token ?? tokens.refresh_token!;
      if (kind.metadata.token_endpoint_auth_method === 'none') {
        expect(refreshed.refresh_token, 'public clients rotate').to.be.a('string').and.not.equal(tokens.refresh_token);
      }
      expect((await client.tokenIntrospection(resourceServer, refreshed.access_token)).active).to.equal(true);

      await client.tokenRevocation(config, latestRefresh, { token_type_hint: 'refresh_token' });

      for (const token of [tokens.access_token, refreshed.access_token]) {
        expect((await client.tokenIntrospection(resourceServer, token)).active).to.equal(false);
      }
      let error: unknown;
      try {
        await client.refreshTokenGrant(config, latestRefresh);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(client.ResponseBodyError);
      expect((error as client.ResponseBodyError).error).to.equal('invalid_grant');
    });
  }

  it('the callback carries state and iss, which the client library checks', async () => {
    const config = await client.dynamicClientRegistration(
      new URL(server.baseUrl),
      { redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' },
      client.None(),
      insecure,
    );
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'mcp:read',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource,
      state: 'sent',
    });
    const { callback } = await followAuthorization(url, { email: account.email, password: account.password });
    expect(callback.searchParams.get('state')).to.equal('sent');
    expect(callback.searchParams.get('iss')).to.equal(server.baseUrl);
    let error: unknown;
    try {
      await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'other' });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(client.ClientError);
    expect(String((error as Error).cause)).to.match(/unexpected "state"/);
  });
});
