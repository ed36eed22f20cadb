import { expect } from 'chai';
import { type SignInAccount, startObservedServer } from '../support/observed_server.ts';
import type { TestServer } from '../support/server.ts';
import {
  authorize,
  connectClient,
  exchangeCode,
  introspect,
  refresh,
  registerClient,
  revoke,
  type RegisteredClient,
  type TokenSet,
} from '../support/oauth_flow.ts';

describe('authorization code flow over HTTP', () => {
  let server: TestServer;
  let account: SignInAccount;
  let resource: string;
  /** The MCP resource server's introspecting client: the only kind /introspect answers. */
  let resourceServer: RegisteredClient;

  before(async () => {
    ({ server, account, resource, observer: resourceServer } = await startObservedServer());
  });
  after(() => server.close());

  it('registers, authorizes with PKCE and resource, and issues opaque tokens bound to the resource', async () => {
    const { client, tokens } = await connectClient(server.baseUrl, account, { resource });
    expect(tokens.token_type).to.equal('Bearer');
    expect(tokens.expires_in).to.be.within(590, 600);
    expect(tokens.refresh_token).to.be.a('string');
    expect(tokens.scope).to.equal('mcp:read mcp:write');
    const active = await introspect(server.baseUrl, resourceServer, tokens.access_token);
    expect(active.body).to.include({ active: true, client_id: client.client_id, sub: account.id, aud: resource });
  });

  it('rotates refresh tokens, and reuse of a rotated one revokes the whole grant', async () => {
    const { client, tokens } = await connectClient(server.baseUrl, account, { resource });
    const first = await refresh(server.baseUrl, client, tokens.refresh_token!);
    expect(first.status).to.equal(200);
    const rotated = first.body as unknown as TokenSet;
    expect(rotated.refresh_token).to.be.a('string').and.not.equal(tokens.refresh_token);

    const reuse = await refresh(server.baseUrl, client, tokens.refresh_token!);
    expect(reuse.status).to.equal(400);
    expect(reuse.body.error).to.equal('invalid_grant');

    for (const token of [rotated.access_token, tokens.access_token]) {
      expect((await introspect(server.baseUrl, resourceServer, token)).body.active).to.equal(false);
    }
    expect((await refresh(server.baseUrl, client, rotated.refresh_token!)).body.error).to.equal('invalid_grant');
  });

  it('revoking a refresh token at /revoke makes the grant\'s access tokens inactive', async () => {
    const { client, tokens } = await connectClient(server.baseUrl, account, { resource });
    const revoked = await revoke(server.baseUrl, client, tokens.refresh_token!, 'refresh_token');
    expect(revoked.status).to.equal(200);
    expect((await introspect(server.baseUrl, resourceServer, tokens.access_token)).body.active).to.equal(false);
    expect((await refresh(server.baseUrl, client, tokens.refresh_token!)).body.error).to.equal('invalid_grant');
  });

  it('a denied consent returns access_denied to the client', async () => {
    const client = await registerClient(server.baseUrl);
    let error: unknown;
    try {
      await authorize(server.baseUrl, { client, ...account, resource, scope: 'mcp:read', deny: true });
    } catch (caught) {
      error = caught;
    }
    expect(String(error)).to.match(/access_denied/);
  });

  it('a code is single use', async () => {
    const client = await registerClient(server.baseUrl);
    const authorization = await authorize(server.baseUrl, { client, ...account, resource, scope: 'mcp:read' });
    expect((await exchangeCode(server.baseUrl, client, authorization, resource)).status).to.equal(200);
    const replay = await exchangeCode(server.baseUrl, client, authorization, resource);
    expect(replay.body.error).to.equal('invalid_grant');
  });
});
