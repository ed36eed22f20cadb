// The admin API's account lifecycle (as `portcullis users disable|enable|delete`), and its answers for
// a grant or token that does not exist: 404, with no audit row (RFC 7009's quiet 200 is for /revoke).
import { expect } from 'chai';
import request from 'supertest';
import { connectClient } from '../support/oauth_flow.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

describe('admin API: account lifecycle and unknown targets', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startTestServer();
    token = await operatorToken(server.baseUrl, await createOperator(server));
  });
  after(() => server.close());

  const admin = () => request(server.baseUrl);
  const auditRows = async () => Number((await server.db('revocation_audit').count({ n: '*' }))[0]!.n);

  it('revoking a grant or token that does not exist is a 404 and leaves no audit row', async () => {
    const before = await auditRows();
    const grant = await admin().post('/admin/grants/no-such-grant/revoke').set('authorization', `Bearer ${token}`).send({}).expect(404);
    expect(grant.body).to.deep.include({ error: 'not_found' });
    expect(grant.body.error_description).to.match(/no such grant/);
    const unknownToken = await admin().post('/admin/tokens/revoke').set('authorization', `Bearer ${token}`).send({ token: 'garbage' }).expect(404);
    expect(unknownToken.body.error_description).to.match(/no such token/);
    expect(await auditRows()).to.equal(before);
  });

  it('disable revokes and refuses sign-in; enable lets the account back; delete erases it', async () => {
    const account = await createTestAccount(server.db, 'admin-life');
    const resource = server.config.resource;
    const { client } = await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource });

    const disabled = await admin().post(`/admin/accounts/${account.email}/disable`).set('authorization', `Bearer ${token}`).send({ reason: 'abuse' }).expect(200);
    expect(disabled.body).to.deep.include({ action: 'disable_account', target: { accountId: account.id } });
    expect(disabled.body.counts).to.include({ Grant: 1, AccessToken: 1, RefreshToken: 1, Session: 1 });
    let refused: unknown;
    await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource, client }).catch((error: unknown) => (refused = error));
    expect(String(refused)).to.match(/unexpected 401/);

    await admin().post(`/admin/accounts/${account.id}/enable`).set('authorization', `Bearer ${token}`).send({}).expect(200);
    await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource, client });

    const deleted = await admin().delete(`/admin/accounts/${account.email}`).set('authorization', `Bearer ${token}`).send({}).expect(200);
    expect(deleted.body.counts).to.include({ Account: 1, Grant: 1 });
    expect(await server.db('accounts').where({ id: account.id }).first()).to.equal(undefined);
    await admin().delete(`/admin/accounts/${account.email}`).set('authorization', `Bearer ${token}`).send({}).expect(404);
  });
});
