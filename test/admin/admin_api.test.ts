import { expect } from 'chai';
import request from 'supertest';
import { adminResource } from '../../src/admin/operator_clients.ts';
import { connectClient, postForm, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { observe, type TokenLiveness } from '../support/observed_server.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

describe('admin API', () => {
  let server: TestServer;
  let operator: RegisteredClient;
  let active: TokenLiveness;

  async function userTokens(email: string, clientMetadata: Record<string, unknown> = {}) {
    return connectClient(server.baseUrl, { email, password: TEST_PASSWORD }, { resource: server.config.resource, metadata: clientMetadata });
  }

  before(async () => {
    server = await startTestServer();
    operator = await createOperator(server);
    ({ active } = await observe(server));
  });
  after(() => server.close());

  it('serves its OpenAPI description without a token', async () => {
    const response = await request(server.baseUrl).get('/admin/openapi.json').expect(200);
    expect(response.body.openapi).to.equal('3.1.0');
    expect(response.body.paths).to.have.property('/admin/clients/{clientId}/revoke');
  });

  it('refuses missing, foreign-audience and non-operator tokens', async () => {
    const none = await request(server.baseUrl).get('/admin/clients').expect(401);
    expect(none.headers['www-authenticate']).to.match(/^Bearer /);
    expect(none.body.error).to.equal('invalid_token');

    const account = await createTestAccount(server.db);
    const { tokens } = await userTokens(account.email);
    const foreign = await request(server.baseUrl).get('/admin/clients').set('authorization', `Bearer ${tokens.access_token}`).expect(401);
    expect(foreign.headers['www-authenticate']).to.include('error="invalid_token"');

    // A dynamically registered client cannot make itself an operator.
    const impostor = await registerClient(server.baseUrl, {
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    });
    const refused = await postForm(server.baseUrl, '/token', impostor, {
      grant_type: 'client_credentials',
      scope: 'admin',
      resource: adminResource(server.baseUrl),
    });
    expect(refused.status).to.equal(400);
    expect(refused.body.error).to.equal('unauthorized_client');
  });

  it("revokes two of a client's three users; the third keeps working", async () => {
    const [a, b, c] = await Promise.all([createTestAccount(server.db), createTestAccount(server.db), createTestAccount(server.db)]);
    const app = await registerClient(server.baseUrl, { client_name: 'shared app' });
    const sessions = [];
    for (const account of [a!, b!, c!]) {
      sessions.push(await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, {
        resource: server.config.resource,
        client: app,
      }));
    }
    const token = await operatorToken(server.baseUrl, operator);
    const dry = await request(server.baseUrl)
      .post(`/admin/clients/${app.client_id}/revoke`)
      .set('authorization', `Bearer ${token}`)
      .send({ accounts: [a!.email, b!.id], dry_run: true, reason: 'owner request' })
      .expect(200);
    expect(dry.body.dryRun).to.equal(true);
    const real = await request(server.baseUrl)
      .post(`/admin/clients/${app.client_id}/revoke`)
      .set('authorization', `Bearer ${token}`)
      .send({ accounts: [a!.email, b!.id], reason: 'owner request' })
      .expect(200);
    expect(real.body.counts).to.deep.equal(dry.body.counts);
    expect(real.body.counts).to.include({ Grant: 2, AccessToken: 2, RefreshToken: 2 });

    expect(await Promise.all(sessions.map(({ tokens }) => active(tokens.access_token)))).to.deep.equal([false, false, true]);

    const audit = await request(server.baseUrl).get('/admin/audit?limit=1').set('authorization', `Bearer ${token}`).expect(200);
    expect(audit.body.records[0]).to.include({ action: 'revoke_client', reason: 'owner request' });
    expect(audit.body.records[0].actor).to.deep.equal({ type: 'operator', id: operator.client_id });
  });

  it('deletes a client with everything it was issued', async () => {
    const account = await createTestAccount(server.db);
    const { client, tokens } = await userTokens(account.email);
    const token = await operatorToken(server.baseUrl, operator);
    const deleted = await request(server.baseUrl)
      .delete(`/admin/clients/${client.client_id}`)
      .set('authorization', `Bearer ${token}`)
      .send({ reason: 'app deleted' })
      .expect(200);
    expect(deleted.body.counts).to.include({ Client: 1, Grant: 1, AccessToken: 1, RefreshToken: 1 });
    expect(await active(tokens.access_token)).to.equal(false);
    await request(server.baseUrl).get(`/admin/clients/${client.client_id}`).set('authorization', `Bearer ${token}`).expect(404);
  });

  it('answers bad input with OAuth-style JSON errors', async () => {
    const token = await operatorToken(server.baseUrl, operator);
    const bad = await request(server.baseUrl)
      .post('/admin/tokens/revoke')
      .set('authorization', `Bearer ${token}`)
      .send({ token: 42 })
      .expect(400);
    expect(bad.body.error).to.equal('invalid_request');
    const unknown = await request(server.baseUrl)
      .post('/admin/accounts/nobody@example.test/revoke')
      .set('authorization', `Bearer ${token}`)
      .send({})
      .expect(404);
    expect(unknown.body.error).to.equal('not_found');
    const malformed = await request(server.baseUrl)
      .post('/admin/tokens/revoke')
      .set('authorization', `Bearer ${token}`)
      .set('content-type', 'application/json')
      .send('{"token":')
      .expect(400);
    expect(malformed.body).to.have.property('error');
    expect(JSON.stringify(malformed.body)).not.to.match(/at .*\.ts:\d+/);
  });

  it('a disabled operator client loses access at once', async () => {
    const spare = await createOperator(server, 'spare');
    const spareToken = await operatorToken(server.baseUrl, spare);
    await request(server.baseUrl).get('/admin/clients').set('authorization', `Bearer ${spareToken}`).expect(200);
    await request(server.baseUrl)
      .post(`/admin/clients/${spare.client_id}/disable`)
      .set('authorization', `Bearer ${await operatorToken(server.baseUrl, operator)}`)
      .send({ reason: 'rotated' })
      .expect(200);
    const refused = await request(server.baseUrl).get('/admin/clients').set('authorization', `Bearer ${spareToken}`).expect(401);
    expect(refused.body).to.deep.equal({ error: 'invalid_token', error_description: 'token is unknown, revoked or expired' });
  });
});
