// RFC 7009 token revocation at /revoke, through HTTP, checked at /introspect and in the database.
import { expect } from 'chai';
import {
  connectClient,
  postForm,
  refresh,
  registerClient,
  revoke,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { type SignInAccount, startObservedServer, type TokenLiveness } from '../support/observed_server.ts';
import type { TestServer } from '../support/server.ts';

const CONFIDENTIAL = { token_endpoint_auth_method: 'client_secret_basic' };

describe('RFC 7009 revocation endpoint', () => {
  let server: TestServer;
  let account: SignInAccount;
  let resource: string;
  let active: TokenLiveness;

  before(async () => {
    ({ server, account, resource, active } = await startObservedServer());
  });
  after(() => server.close());

  const connect = (metadata: Record<string, unknown> = {}) => connectClient(server.baseUrl, account, { resource, metadata });

  async function grantOf(clientId: string): Promise<string | undefined> {
    const row = await server.db('oidc_grants').where({ client_id: clientId }).first();
    return row?.id;
  }

  it('answers 200 with an empty body for an unknown token', async () => {
    const { client } = await connect();
    for (const hint of [undefined, 'access_token', 'refresh_token']) {
      const result = await revoke(server.baseUrl, client, 'not-a-token-this-server-issued', hint);
      expect(result.status).to.equal(200);
      expect(result.body).to.deep.equal({});
    }
  });

  it('refuses a confidential client without its credentials: 401 invalid_client, token untouched', async () => {
    const { client, tokens } = await connect(CONFIDENTIAL);
    expect(client.client_secret).to.be.a('string');

    const withoutSecret = await revoke(server.baseUrl, { client_id: client.client_id }, tokens.refresh_token!);
    expect(withoutSecret.status).to.equal(401);
    expect(withoutSecret.body.error).to.equal('invalid_client');

    const wrongSecret = await revoke(server.baseUrl, { ...client, client_secret: 'wrong' }, tokens.refresh_token!);
    expect(wrongSecret.status).to.equal(401);
    expect(wrongSecret.body.error).to.equal('invalid_client');

    // No client identified at all: the library answers 400 invalid_request before client authentication.
    const anonymous = await revoke(server.baseUrl, undefined, tokens.refresh_token!);
    expect(anonymous.status).to.equal(400);
    expect(anonymous.body.error).to.equal('invalid_request');

    expect(await active(tokens.access_token)).to.equal(true);
    expect(await active(tokens.refresh_token!)).to.equal(true);
  });

  it("a public client presenting another client's token gets 200, and the token stays active", async () => {
    const owner = await connect();
    const stranger = await registerClient(server.baseUrl);
    for (const token of [owner.tokens.access_token, owner.tokens.refresh_token!]) {
      const result = await revoke(server.baseUrl, stranger, token);
      expect(result.status).to.equal(200);
      expect(result.body).to.deep.equal({});
    }
    expect(await active(owner.tokens.access_token)).to.equal(true);
    expect(await active(owner.tokens.refresh_token!)).to.equal(true);
    expect((await refresh(server.baseUrl, owner.client, owner.tokens.refresh_token!)).status).to.equal(200);
  });

  it("a confidential client presenting another client's token gets 400, and the token stays active", async () => {
    const owner = await connect(CONFIDENTIAL);
    const stranger = await registerClient(server.baseUrl, CONFIDENTIAL);
    for (const token of [owner.tokens.access_token, owner.tokens.refresh_token!]) {
      const result = await revoke(server.baseUrl, stranger, token);
      expect(result.status).to.equal(400);
      expect(result.body.error).to.equal('invalid_request');
    }
    expect(await active(owner.tokens.access_token)).to.equal(true);
    expect(await active(owner.tokens.refresh_token!)).to.equal(true);
  });

  it('finds and revokes a token whatever token_type_hint says', async () => {
    const first = await connect();
    const result = await revoke(server.baseUrl, first.client, first.tokens.refresh_token!, 'access_token');
    expect(result.status).to.equal(200);
    expect(await active(first.tokens.refresh_token!)).to.equal(false);
    expect((await refresh(server.baseUrl, first.client, first.tokens.refresh_token!)).body.error).to.equal('invalid_grant');

    const second = await connect();
    expect((await revoke(server.baseUrl, second.client, second.tokens.access_token, 'refresh_token')).status).to.equal(200);
    expect(await active(second.tokens.access_token)).to.equal(false);

    const third = await connect();
    expect((await revoke(server.baseUrl, third.client, third.tokens.access_token, 'no_such_hint')).status).to.equal(200);
    expect(await active(third.tokens.access_token)).to.equal(false);
  });

  it('revoking an access token ends it and its whole grant (refresh token included); other grants keep working', async () => {
    // The library deletes every token of the grant either way (revokeByGrantId on each model);
    // this configuration (revokeGrantPolicy) also removes the Grant row, so nothing of it survives.
    const { client, tokens } = await connect();
    const bystander = await connect();
    const grantId = await grantOf(client.client_id);
    expect(grantId).to.be.a('string');

    const result = await revoke(server.baseUrl, client, tokens.access_token, 'access_token');
    expect(result.status).to.equal(200);

    expect(await active(tokens.access_token)).to.equal(false);
    expect(await active(tokens.refresh_token!)).to.equal(false);
    const again = await refresh(server.baseUrl, client, tokens.refresh_token!);
    expect(again.status).to.equal(400);
    expect(again.body.error).to.equal('invalid_grant');
    expect(await server.db('oidc_tokens').where({ grant_id: grantId }).first()).to.equal(undefined);
    expect(await grantOf(client.client_id)).to.equal(undefined);

    expect(await active(bystander.tokens.access_token)).to.equal(true);
    expect((await refresh(server.baseUrl, bystander.client, bystander.tokens.refresh_token!)).status).to.equal(200);
  });

  it("revoking a refresh token ends the grant: its access tokens, earlier and rotated, are inactive", async () => {
    const { client, tokens } = await connect();
    const rotated = (await refresh(server.baseUrl, client, tokens.refresh_token!)).body as unknown as TokenSet;
    expect(rotated.refresh_token).to.be.a('string');
    expect(await active(tokens.access_token)).to.equal(true);
    expect(await active(rotated.access_token)).to.equal(true);

    expect((await revoke(server.baseUrl, client, rotated.refresh_token!, 'refresh_token')).status).to.equal(200);

    for (const token of [tokens.access_token, rotated.access_token, rotated.refresh_token!]) {
      expect(await active(token)).to.equal(false);
    }
    expect((await refresh(server.baseUrl, client, rotated.refresh_token!)).body.error).to.equal('invalid_grant');
    expect(await grantOf(client.client_id)).to.equal(undefined);
  });

  it('revoking twice is harmless: the second call is a 200 for an unknown token', async () => {
    const { client, tokens } = await connect();
    expect((await revoke(server.baseUrl, client, tokens.refresh_token!)).status).to.equal(200);
    const second = await revoke(server.baseUrl, client, tokens.refresh_token!);
    expect(second.status).to.equal(200);
    expect(second.body).to.deep.equal({});
  });

  it('requires the token parameter', async () => {
    const { client } = await connect();
    const result = await postForm(server.baseUrl, '/revoke', client, {});
    expect(result.status).to.equal(400);
    expect(result.body.error).to.equal('invalid_request');
  });
});
