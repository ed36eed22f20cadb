// The set-up most token suites share: a server, an account that signs in with TEST_PASSWORD, the
// resource server's client that introspects (the only kind /introspect answers), and `active(token)`.
import { expect } from 'chai';
import { introspect, type RegisteredClient } from './oauth_flow.ts';
import { createIntrospector, createTestAccount, startTestServer, TEST_PASSWORD, type TestServer, type TestServerOptions } from './server.ts';

export interface SignInAccount {
  id: string;
  email: string;
  password: string;
}

/** Whether a token is live. */
export type TokenLiveness = (token: string) => Promise<boolean>;

export interface ObservedServer<S extends TestServer = TestServer> {
  server: S;
  account: SignInAccount;
  /** The MCP resource the server issues tokens for (server.config.resource). */
  resource: string;
  observer: RegisteredClient;
  /**
   * An access token as the resource server's /introspect answers it; a refresh token (which no
   * resource server may introspect) as the provider's own models judge it, by the rules /introspect
   * applies (valid, its grant present, unexpired and matching).
   */
  active: TokenLiveness;
}

/** Adds the account, the observer and `active` to a running server (e.g. an MCP stack or one on a chosen database). */
export async function observe<S extends TestServer>(server: S): Promise<ObservedServer<S>> {
  const observer = await createIntrospector(server);
  const account = { ...(await createTestAccount(server.db)), password: TEST_PASSWORD };
  const { provider } = server;
  const active = async (token: string) => {
    const refreshToken = await provider.RefreshToken.find(token);
    if (refreshToken) {
      if (!refreshToken.isValid || !refreshToken.grantId) return false;
      const grant = await provider.Grant.find(refreshToken.grantId, { ignoreExpiration: true });
      return !!grant && !grant.isExpired && grant.clientId === refreshToken.clientId && grant.accountId === refreshToken.accountId;
    }
    const result = await introspect(server.baseUrl, observer, token);
    expect(result.status, JSON.stringify(result.body)).to.equal(200);
    return result.body.active === true;
  };
  return { server, account, resource: server.config.resource, observer, active };
}

export async function startObservedServer(options: TestServerOptions = {}): Promise<ObservedServer> {
  return observe(await startTestServer(options));
}
