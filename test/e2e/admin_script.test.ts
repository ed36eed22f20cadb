// What an operator's script does with the provider API, and what a client does with RFC 7592:
// both must take every token along, in the database and at /introspect.
import { expect } from 'chai';
import {
  authorize,
  connectClient,
  exchangeCode,
  refresh,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { type SignInAccount, startObservedServer, type TokenLiveness } from '../support/observed_server.ts';
import type { TestServer } from '../support/server.ts';

describe('admin-script Grant.destroy() and RFC 7592 client DELETE', () => {
  let server: TestServer;
  let account: SignInAccount;
  let resource: string;
  let active: TokenLiveness;

  before(async () => {
    ({ server, account, resource, active } = await startObservedServer());
  });
  after(() => server.close());

  /** A connected client with a rotated refresh token: two access tokens, a consumed and a live refresh token. */
  async function connectedWithHistory(metadata: Record<string, unknown> = {}) {
    const { client, tokens } = await connectClient(server.baseUrl, account, { resource, metadata });
    const rotated = await refresh(server.baseUrl, client, tokens.refresh_token!);
    expect(rotated.status).to.equal(200);
    const latest = rotated.body as unknown as TokenSet;
    const grants = await server.db('oidc_grants').where({ client_id: client.client_id }).select('id');
    expect(grants).to.have.length(1);
    return { client, first: tokens, latest, grantId: grants[0].id as string };
  }

  it('provider.Grant.find(id) then destroy() removes every token of that grant, and only of that grant', async () => {
    const target = await connectedWithHistory();
    const bystander = await connectedWithHistory();
    const tokenRows = await server.db('oidc_tokens').where({ grant_id: target.grantId }).select('model');
    expect(tokenRows.map((row) => row.model)).to.include.members(['AccessToken', 'RefreshToken', 'AuthorizationCode']);
    expect(await active(target.latest.access_token)).to.equal(true);

    // As an admin script would, outside any request.
    const grant = await server.provider.Grant.find(target.grantId);
    expect(grant?.clientId).to.equal(target.client.client_id);
    await grant!.destroy();

    expect(await server.db('oidc_tokens').where({ grant_id: target.grantId }).first()).to.equal(undefined);
    expect(await server.db('oidc_grants').where({ id: target.grantId }).first()).to.equal(undefined);
    expect(await server.provider.Grant.find(target.grantId)).to.equal(undefined);
    for (const token of [target.first.access_token, target.latest.access_token, target.latest.refresh_token!]) {
      expect(await active(token)).to.equal(false);
    }
    expect(await server.provider.AccessToken.find(target.latest.access_token)).to.equal(undefined);
    expect(await server.provider.RefreshToken.find(target.latest.refresh_token!)).to.equal(undefined);
    const again = await refresh(server.baseUrl, target.client, target.latest.refresh_token!);
    expect(again.status).to.equal(400);
    expect(again.body.error).to.equal('invalid_grant');

    expect(await active(bystander.latest.access_token)).to.equal(true);
    expect((await refresh(server.baseUrl, bystander.client, bystander.latest.refresh_token!)).status).to.equal(200);
  });

  it('a destroyed grant cannot be saved again by a late writer', async () => {
    const target = await connectedWithHistory();
    const grant = await server.provider.Grant.find(target.grantId);
    await grant!.destroy();
    let error: unknown;
    try {
      await grant!.save();
    } catch (caught) {
      error = caught;
    }
    expect(error, 'saving a revoked grant').to.be.instanceOf(Error);
    expect(await server.db('oidc_grants').where({ id: target.grantId }).first()).to.equal(undefined);
  });

  it('RFC 7592 DELETE /reg/:client_id removes the client, its grants and all their tokens', async () => {
    const doomed = await connectedWithHistory({ token_endpoint_auth_method: 'client_secret_basic' });
    // A second grant of the doomed client, from another browser session.
    const again = await authorize(server.baseUrl, { client: doomed.client, ...account, resource, scope: 'mcp:read' });
    const secondGrant = (await exchangeCode(server.baseUrl, doomed.client, again, resource)).body as unknown as TokenSet;
    expect(secondGrant.access_token).to.be.a('string');
    expect(await server.db('oidc_grants').where({ client_id: doomed.client.client_id }).count('* as n')).to.satisfy(
      (rows: { n: string | number }[]) => Number(rows[0]!.n) === 2,
    );
    const otherClient = await connectClient(server.baseUrl, account, { resource });
    const bystander = await connectedWithHistory();
    const { registration_access_token: registrationToken, registration_client_uri: registrationUri } = doomed.client;
    expect(registrationToken).to.be.a('string');
    expect(registrationUri).to.equal(`${server.baseUrl}/reg/${doomed.client.client_id}`);
    expect(await active(doomed.latest.access_token)).to.equal(true);
    expect(await server.db('oidc_models').where({ model: 'RegistrationAccessToken', client_id: doomed.client.client_id }).first()).to.not.equal(undefined);

    const response = await fetch(registrationUri!, { method: 'DELETE', headers: { authorization: `Bearer ${registrationToken}` } });
    expect(response.status).to.equal(204);

    const clientId = doomed.client.client_id;
    expect(await server.db('oidc_models').where({ client_id: clientId }).first(), 'client, registration token').to.equal(undefined);
    expect(await server.db('oidc_models').where({ model: 'Client', id: clientId }).first(), 'client row').to.equal(undefined);
    expect(await server.db('oidc_grants').where({ client_id: clientId }).first(), 'grants').to.equal(undefined);
    expect(await server.db('oidc_tokens').where({ client_id: clientId }).first(), 'tokens').to.equal(undefined);
    expect(await server.db('oidc_tokens').where({ grant_id: doomed.grantId }).first(), 'tokens by grant').to.equal(undefined);
    for (const token of [doomed.first.access_token, doomed.latest.access_token, doomed.latest.refresh_token!, secondGrant.access_token, secondGrant.refresh_token!]) {
      expect(await active(token)).to.equal(false);
    }

    // The registration access token went with it.
    const read = await fetch(registrationUri!, { headers: { authorization: `Bearer ${registrationToken}` } });
    expect({ status: read.status, ...((await read.json()) as object) }).to.deep.equal({ status: 401, error: 'invalid_token', error_description: 'invalid token provided' });
    // Nothing of other clients was touched.
    expect(await active(otherClient.tokens.access_token)).to.equal(true);
    expect(await active(bystander.latest.access_token)).to.equal(true);
    expect((await refresh(server.baseUrl, bystander.client, bystander.latest.refresh_token!)).status).to.equal(200);
  });
});
