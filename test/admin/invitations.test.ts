// Invitations for SIGNUP=invite, from the admin API (POST /admin/invitations) and the CLI (`users
// invite`): a single-use link naming the address, refused for an address that has an account.
import { expect } from 'chai';
import request from 'supertest';
import { adminResource, createOperatorClient } from '../../src/admin/operator_clients.ts';
import { createLogger } from '../../src/logger.ts';
import { createRevocationService } from '../../src/revocation/revocation_service.ts';
import { runCliInProcess, runCliJson } from '../support/cli.ts';
import { postForm } from '../support/oauth_flow.ts';
import { createTestAccount, startTestServer, type TestServer } from '../support/server.ts';

describe('invitations (admin API and CLI)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startTestServer({ env: { SIGNUP: 'invite' } });
    const credentials = await createOperatorClient(server.db, server.adapterFor('Client'), 'ops');
    const result = await postForm(server.baseUrl, '/token', { client_id: credentials.clientId, client_secret: credentials.clientSecret }, {
      grant_type: 'client_credentials',
      scope: 'admin',
      resource: adminResource(server.baseUrl),
    });
    token = String(result.body.access_token);
  });
  after(() => server.close());

  const invite = (body: unknown) => request(server.baseUrl).post('/admin/invitations').set('authorization', `Bearer ${token}`).send(body as object);

  it('POST /admin/invitations answers a working single-use link; 409 for a taken address, 400 for no address, 401 without a token', async () => {
    const created = await invite({ email: 'Invited.Person@Example.test' }).expect(201);
    expect(created.body.email).to.equal('invited.person@example.test');
    expect(created.body.link).to.match(new RegExp(`^${server.baseUrl}/account/sign-up\\?invitation=[A-Za-z0-9_-]{43}$`));
    expect(new Date(created.body.expires_at).getTime() - Date.now()).to.be.closeTo(7 * 24 * 3600 * 1000, 60_000);
    const form = await request(server.baseUrl).get(new URL(created.body.link).pathname + new URL(created.body.link).search).expect(200);
    expect(form.text).to.include('value="invited.person@example.test" readonly');

    const member = await createTestAccount(server.db, 'member');
    expect((await invite({ email: member.email }).expect(409)).body.error).to.equal('invalid_request');
    expect((await invite({ email: 'not an address' }).expect(400)).body.error).to.equal('invalid_request');
    await invite({}).expect(400);
    await request(server.baseUrl).post('/admin/invitations').send({ email: 'x@example.test' }).expect(401);
  });

  it('users invite prints the link (and --json the object)', async () => {
    const logger = createLogger('silent');
    const context = { config: server.config, db: server.db, logger, revocation: createRevocationService(server.db, logger) };
    const json = await runCliJson<{ email: string; link: string }>(context, ['users', 'invite', 'cli.invitee@example.test']);
    expect(json.email).to.equal('cli.invitee@example.test');
    const text = await runCliInProcess(context, ['users', 'invite', 'second.invitee@example.test']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/invitation for second\.invitee@example\.test, single use, until .*:\n.*\/account\/sign-up\?invitation=/);
    const refused = await runCliInProcess(context, ['users', 'invite', json.email.replace('cli', 'x').replace('@', '@@')]);
    expect(refused.code).to.not.equal(0);
  });
});
