// Tokens, clients, sessions and keys live in the database: a restarted process (same issuer, same
// database) accepts everything issued before it.
import { once } from 'node:events';
import { expect } from 'chai';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import {
  authorize,
  connectClient,
  exchangeCode,
  introspect,
  refresh,
  type RegisteredClient,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { createIntrospector, createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

describe('tokens survive a server restart', () => {
  let database: TestDatabase;
  let server: TestServer | undefined;

  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await server?.close();
    await database.close();
  });

  async function stop(running: TestServer): Promise<void> {
    const closed = once(running.server, 'close');
    await running.close();
    await closed;
  }

  async function jwks(baseUrl: string): Promise<string[]> {
    const response = await fetch(`${baseUrl}/jwks`);
    const body = (await response.json()) as { keys: { kid: string }[] };
    return body.keys.map((key) => key.kid).sort();
  }

  it('introspection, refresh, client authentication and the browser session still work after a restart', async () => {
    server = await startTestServer({ database });
    const port = new URL(server.baseUrl).port;
    const resource = server.config.resource;
    const account = { email: (await createTestAccount(server.db)).email, password: TEST_PASSWORD };

    const observer: RegisteredClient = await createIntrospector(server);
    const { client } = await connectClient(server.baseUrl, account, { resource });
    // Authorize again in a browser session we keep, to come back with it after the restart.
    const browser = await authorize(server.baseUrl, { client, ...account, resource, scope: 'mcp:read mcp:write' });
    const exchanged = await exchangeCode(server.baseUrl, client, browser, resource);
    expect(exchanged.status).to.equal(200);
    const tokens = exchanged.body as unknown as TokenSet;
    expect((await introspect(server.baseUrl, observer, tokens.access_token)).body.active).to.equal(true);
    const keysBefore = await jwks(server.baseUrl);
    // Control for the last step: without the session, the login form is shown and a wrong password fails.
    let controlError: unknown;
    try {
      await authorize(server.baseUrl, { client, email: account.email, password: 'not the password', resource, scope: 'mcp:read' });
    } catch (error) {
      controlError = error;
    }
    expect(String(controlError)).to.match(/unexpected 401/);

    await stop(server);
    server = undefined;
    const refused = await fetch(`http://127.0.0.1:${port}/jwks`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(refused, 'the first server is really gone').to.equal('refused');

    server = await startTestServer({ database, port: Number(port) });
    expect(server.baseUrl).to.equal(`http://127.0.0.1:${port}`);
    expect(await jwks(server.baseUrl), 'signing keys').to.deep.equal(keysBefore);

    const after = await introspect(server.baseUrl, observer, tokens.access_token);
    expect(after.body).to.include({ active: true, client_id: client.client_id, aud: resource });

    const refreshed = await refresh(server.baseUrl, client, tokens.refresh_token!);
    expect(refreshed.status).to.equal(200);
    const rotated = refreshed.body as unknown as TokenSet;
    expect((await introspect(server.baseUrl, observer, rotated.access_token)).body.active).to.equal(true);

    // The session cookie, signed with the persisted cookie keys, still signs the user in, and the
    // grant still covers the scopes: the flow runs through without a login or consent form (a wrong
    // password would fail any login form shown).
    const resumed = await authorize(server.baseUrl, {
      client,
      email: account.email,
      password: 'not the password',
      jar: browser.jar,
      resource,
      scope: 'mcp:read mcp:write',
    });
    expect((await exchangeCode(server.baseUrl, client, resumed, resource)).status).to.equal(200);
  });
});

