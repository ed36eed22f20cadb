// The four seed cases of revocation, each one call of the revocation service, with the effect checked
// where clients see it (/introspect from an unrelated confidential client, refresh at /token, /authorize)
// and the reported counts checked against the rows the database lost. Then the audit trail: every
// path that revokes — /revoke, reuse detection, RFC 7592 DELETE, a script, an operator — leaves
// exactly one row with the right actor, action, target and counts.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { createLogger } from '../../src/logger.ts';
import {
  createRevocationService,
  type RevocationOptions,
  type RevocationOutcome,
  type RevocationService,
} from '../../src/revocation/revocation_service.ts';
import {
  authorize,
  authorizeUrl,
  CookieJar,
  exchangeCode,
  refresh,
  REDIRECT_URI,
  registerClient,
  type RegisteredClient,
  revoke,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { startObservedServer, type TokenLiveness } from '../support/observed_server.ts';
import { expectTokenEndpointRefusal } from '../support/refusals.ts';
import { createTestAccount, TEST_PASSWORD, type TestServer } from '../support/server.ts';
import { countRows, lost, nonZero } from './helpers.ts';

interface TestAccount {
  id: string;
  email: string;
  password: string;
}

interface AuditRow {
  id: string | number;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target: Record<string, unknown>;
  reason: string | null;
  counts: Record<string, number>;
}

const OPERATOR = { type: 'operator', id: 'test-operator' } as const;

describe('revocation at every level: the seed cases', () => {
  let server: TestServer;
  let revocation: RevocationService;
  let resource: string;
  let active: TokenLiveness;

  before(async () => {
    ({ server, resource, active } = await startObservedServer());
    revocation = createRevocationService(server.db, createLogger('silent'));
  });
  after(() => server.close());

  async function newAccount(): Promise<TestAccount> {
    return { ...(await createTestAccount(server.db)), password: TEST_PASSWORD };
  }

  /** The full browser flow for an account on an existing client; the jar keeps its session. */
  async function connect(client: RegisteredClient, account: TestAccount, jar = new CookieJar()): Promise<TokenSet & { grantId: string }> {
    const authorization = await authorize(server.baseUrl, { client, ...account, resource, scope: 'mcp:read mcp:write', jar });
    const result = await exchangeCode(server.baseUrl, client, authorization, resource);
    expect(result.status, JSON.stringify(result.body)).to.equal(200);
    const grant = await server.db('oidc_grants').where({ client_id: client.client_id, account_id: account.id }).orderBy('created_at', 'desc').first();
    return { ...(result.body as unknown as TokenSet), grantId: grant.id };
  }

  async function expectAlive(tokens: TokenSet): Promise<void> {
    expect(await active(tokens.access_token), 'access token active').to.equal(true);
    expect(await active(tokens.refresh_token!), 'refresh token active').to.equal(true);
  }

  async function expectDead(client: RegisteredClient, tokens: TokenSet, refreshError: 'invalid_grant' | 'invalid_client' = 'invalid_grant'): Promise<void> {
    expect(await active(tokens.access_token), 'access token active').to.equal(false);
    expect(await active(tokens.refresh_token!), 'refresh token active').to.equal(false);
    expectTokenEndpointRefusal(await refresh(server.baseUrl, client, tokens.refresh_token!), refreshError, 'refresh');
  }

  async function latestAuditId(): Promise<number> {
    const row = await server.db('revocation_audit').max('id as id').first();
    return Number(row?.id ?? 0);
  }

  async function auditSince(id: number): Promise<AuditRow[]> {
    return server.db<AuditRow>('revocation_audit').where('id', '>', id).orderBy('id');
  }

  /**
   * Runs a revocation as a dry run, for real, and again: the dry run changes nothing and reports what
   * the real run then reports; the real run's counts are exactly the rows the database lost and it
   * leaves one audit row; the repeat finds nothing left to revoke.
   */
  async function measured(run: (options: RevocationOptions) => Promise<RevocationOutcome>): Promise<RevocationOutcome> {
    const before = await countRows(server.db);
    const auditBefore = await latestAuditId();

    const dry = await run({ actor: OPERATOR, dryRun: true });
    expect(dry.dryRun).to.equal(true);
    expect(await countRows(server.db), 'a dry run changes nothing').to.deep.equal(before);
    expect(await auditSince(auditBefore), 'a dry run is not audited').to.have.length(0);

    const real = await run({ actor: OPERATOR, reason: 'test' });
    const after = await countRows(server.db);
    expect(nonZero(real.counts), 'reported counts = rows lost').to.deep.equal(lost(before, after));
    expect(nonZero(dry.counts), 'dry run counts = real counts').to.deep.equal(nonZero(real.counts));

    const audit = await auditSince(auditBefore);
    expect(audit, 'one audit row').to.have.length(1);
    expect(audit[0]).to.include({ actor_type: 'operator', actor_id: OPERATOR.id, action: real.action, reason: 'test' });
    expect(audit[0]!.target).to.deep.equal(real.target);
    expect(audit[0]!.counts).to.deep.equal(real.counts);
    expect(Number(audit[0]!.id)).to.equal(real.auditId);

    const again = await run({ actor: OPERATOR });
    expect(nonZero(again.counts), 'a second run finds nothing').to.deep.equal({});
    expect(await countRows(server.db)).to.deep.equal(after);
    return real;
  }

  /** Starts /authorize for a client and follows redirects until a page or the client's redirect URI. */
  async function landing(clientId: string, jar = new CookieJar()): Promise<{ status: number; html: string; location?: string }> {
    let url = new URL(authorizeUrl(server.baseUrl, { client_id: clientId }, resource, 'mcp:read', { state: randomBytes(4).toString('hex') }));
    for (let hop = 0; hop < 10; hop += 1) {
      const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
      jar.store(response);
      const location = response.headers.get('location');
      if (!location) return { status: response.status, html: await response.text() };
      await response.body?.cancel();
      if (location.startsWith(REDIRECT_URI)) return { status: response.status, html: '', location };
      url = new URL(location, url);
    }
    throw new Error('too many redirects');
  }

  async function expectCannotAuthorize(clientId: string): Promise<void> {
    const page = await landing(clientId);
    expect(page.location, 'no redirect back to the client').to.equal(undefined);
    expect(page.status).to.equal(400);
    expect(page.html).to.include('invalid_client');
    expect(page.html).not.to.match(/action="[^"]*\/login"/);
  }

  describe('the four seed cases', () => {
    it('a user disconnects one app: only that grant dies (revokeGrant, then revokeAccount with clientId)', async () => {
      const [alice, bob] = [await newAccount(), await newAccount()];
      const [notes, calendar] = [await registerClient(server.baseUrl), await registerClient(server.baseUrl)];
      const aliceNotes = await connect(notes, alice);
      const aliceCalendar = await connect(calendar, alice);
      const bobNotes = await connect(notes, bob);

      const outcome = await measured((options) => revocation.revokeGrant(aliceNotes.grantId, options));
      expect(outcome.counts).to.include({ Grant: 1, AccessToken: 1, RefreshToken: 1 });
      await expectDead(notes, aliceNotes);
      await expectAlive(aliceCalendar);
      await expectAlive(bobNotes);

      const byAccount = await measured((options) => revocation.revokeAccount(alice.id, { ...options, clientId: calendar.client_id }));
      expect(byAccount.counts).to.include({ Grant: 1 });
      expect(byAccount.counts, 'disconnecting one app keeps the sessions').not.to.have.property('Session');
      await expectDead(calendar, aliceCalendar);
      await expectAlive(bobNotes);
    });

    it('the owner revokes two of three users (revokeClient with accountIds): the third still works', async () => {
      const client = await registerClient(server.baseUrl);
      const users = [await newAccount(), await newAccount(), await newAccount()];
      const tokens = [];
      for (const user of users) tokens.push(await connect(client, user));

      const outcome = await measured((options) =>
        revocation.revokeClient(client.client_id, { ...options, accountIds: [users[0]!.id, users[1]!.id] }),
      );
      expect(outcome.counts).to.include({ Grant: 2, AccessToken: 2, RefreshToken: 2 });
      await expectDead(client, tokens[0]!);
      await expectDead(client, tokens[1]!);
      await expectAlive(tokens[2]!);
      const refreshed = await refresh(server.baseUrl, client, tokens[2]!.refresh_token!);
      expect(refreshed.status).to.equal(200);
      expect(await active((refreshed.body as unknown as TokenSet).access_token)).to.equal(true);
    });

    it('the owner deletes the client: every token is inactive, the registration is gone, its client_id cannot authorize', async () => {
      const client = await registerClient(server.baseUrl);
      const other = await registerClient(server.baseUrl);
      const [ann, ben] = [await newAccount(), await newAccount()];
      const annTokens = await connect(client, ann);
      const benTokens = await connect(client, ben);
      const otherTokens = await connect(other, ann);

      const outcome = await measured((options) => revocation.deleteClient(client.client_id, options));
      expect(outcome.counts).to.include({ Client: 1, RegistrationAccessToken: 1, Grant: 2, AccessToken: 2, RefreshToken: 2 });
      await expectDead(client, annTokens, 'invalid_client');
      await expectDead(client, benTokens, 'invalid_client');
      await expectAlive(otherTokens);

      expect(await server.db('oidc_models').where({ model: 'Client', id: client.client_id }).first()).to.equal(undefined);
      const registration = await fetch(client.registration_client_uri!, {
        headers: { authorization: `Bearer ${client.registration_access_token}` },
      });
      expect({ status: registration.status, ...((await registration.json()) as object) }).to.deep.equal({
        status: 401,
        error: 'invalid_token',
        error_description: 'invalid token provided',
      });
      await expectCannotAuthorize(client.client_id);
    });

    it('a compromised app is disabled: no authorize, no token endpoint, tokens dead; enabled again it can authorize, old tokens stay dead', async () => {
      const client = await registerClient(server.baseUrl);
      const [cat, dan] = [await newAccount(), await newAccount()];
      const catTokens = await connect(client, cat);
      const danTokens = await connect(client, dan);

      const outcome = await measured((options) => revocation.disableClient(client.client_id, options));
      expect(outcome.counts).to.include({ Grant: 2, AccessToken: 2, RefreshToken: 2 });
      expect(outcome.counts, 'the registration is kept').not.to.have.property('Client');
      await expectCannotAuthorize(client.client_id);
      // The token endpoint does not know the client: invalid_client, whatever the grant.
      await expectDead(client, catTokens, 'invalid_client');
      await expectDead(client, danTokens, 'invalid_client');

      const enabled = await revocation.enableClient(client.client_id, { actor: OPERATOR });
      expect(nonZero(enabled.counts)).to.deep.equal({});
      const again = await connect(client, cat);
      expect(await active(again.access_token)).to.equal(true);
      for (const old of [catTokens, danTokens]) {
        expect(await active(old.access_token)).to.equal(false);
        expect(await active(old.refresh_token!)).to.equal(false);
      }
      expectTokenEndpointRefusal(await refresh(server.baseUrl, client, catTokens.refresh_token!), 'invalid_grant');
    });

    it('a malicious user: revokeAccount spans clients and ends the account\'s sessions; other users keep working', async () => {
      const [mallory, victor] = [await newAccount(), await newAccount()];
      const [first, second] = [await registerClient(server.baseUrl), await registerClient(server.baseUrl)];
      const jar = new CookieJar();
      const onFirst = await connect(first, mallory, jar);
      const onSecond = await connect(second, mallory, jar);
      const victorTokens = await connect(first, victor);
      expect(await server.db('oidc_models').where({ model: 'Session', account_id: mallory.id })).to.have.length(1);
      const signedIn = await landing(first.client_id, jar);
      expect(signedIn.html, 'the session signs mallory in without a login form').not.to.match(/action="[^"]*\/login"/);

      const outcome = await measured((options) => revocation.revokeAccount(mallory.id, options));
      expect(outcome.counts).to.include({ Grant: 2, AccessToken: 2, RefreshToken: 2, Session: 1 });
      await expectDead(first, onFirst);
      await expectDead(second, onSecond);
      await expectAlive(victorTokens);
      expect(await countRows(server.db, { accountId: mallory.id })).to.deep.equal({});
      const signedOut = await landing(first.client_id, jar);
      expect(signedOut.status).to.equal(200);
      expect(signedOut.html, 'the browser session is gone: login again').to.match(/action="[^"]*\/login"/);
    });
  });

  describe('the audit trail: one row per revocation, whatever the path', () => {
    async function singleAudit(auditBefore: number): Promise<AuditRow> {
      const rows = await auditSince(auditBefore);
      expect(rows.map((row) => `${row.action} ${JSON.stringify(row.counts)}`), 'exactly one audit row').to.have.length(1);
      return rows[0]!;
    }

    /** Runs `work` and counts the grant-revoking statements (revocation_store.revokeGrants) it sent. */
    async function countingRevocations<T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> {
      let statements = 0;
      const onQuery = (query: { sql: string }) => {
        if (query.sql.includes('insert into oidc_revoked_grants')) statements += 1;
      };
      server.db.on('query', onQuery);
      try {
        return { result: await work(), statements };
      } finally {
        server.db.off('query', onQuery);
      }
    }

    it('/revoke by the client: actor client, revoke_token, counts of the whole grant', async () => {
      const client = await registerClient(server.baseUrl);
      const tokens = await connect(client, await newAccount());
      const before = await countRows(server.db);
      const auditBefore = await latestAuditId();
      expect((await revoke(server.baseUrl, client, tokens.refresh_token!, 'refresh_token')).status).to.equal(200);
      const row = await singleAudit(auditBefore);
      expect(row).to.include({ actor_type: 'client', actor_id: client.client_id, action: 'revoke_token' });
      expect(row.target).to.include({ grantId: tokens.grantId, clientId: client.client_id, model: 'RefreshToken' });
      expect(row.counts).to.deep.equal(lost(before, await countRows(server.db)));
      expect(row.counts).to.include({ Grant: 1, RefreshToken: 1, AccessToken: 1 });
      await expectDead(client, tokens);
    });

    it('refresh-token reuse: actor system, revoke_grant, the grant with every token it had', async () => {
      const client = await registerClient(server.baseUrl);
      const tokens = await connect(client, await newAccount());
      const rotated = await refresh(server.baseUrl, client, tokens.refresh_token!);
      expect(rotated.status).to.equal(200);
      const before = await countRows(server.db);
      const auditBefore = await latestAuditId();
      // The library answers one reuse with a token destroy, revokeByGrantId per model and a Grant destroy:
      // they are one revocation (one set-based statement), not five.
      const revocations = await countingRevocations(() => refresh(server.baseUrl, client, tokens.refresh_token!));
      expect(revocations.statements, 'revocation statements for one reuse').to.equal(1);
      expectTokenEndpointRefusal(revocations.result, 'invalid_grant', 'reuse');
      const row = await singleAudit(auditBefore);
      expect(row).to.include({ actor_type: 'system' });
      // The library destroys the token and revokes the grant at once; either way the event is the grant's revocation.
      expect(row.action).to.equal('revoke_grant');
      expect(row.target).to.include({ grantId: tokens.grantId });
      expect(row.counts).to.deep.equal(lost(before, await countRows(server.db)));
      expect(row.counts).to.include({ Grant: 1, RefreshToken: 2, AccessToken: 2 });
      await expectDead(client, rotated.body as unknown as TokenSet);
    });

    it('authorization code replay: actor system, revoke_grant', async () => {
      const client = await registerClient(server.baseUrl);
      const account = await newAccount();
      const authorization = await authorize(server.baseUrl, { client, ...account, resource, scope: 'mcp:read' });
      const first = await exchangeCode(server.baseUrl, client, authorization, resource);
      expect(first.status).to.equal(200);
      const before = await countRows(server.db);
      const auditBefore = await latestAuditId();
      expectTokenEndpointRefusal(await exchangeCode(server.baseUrl, client, authorization, resource), 'invalid_grant', 'replay');
      const row = await singleAudit(auditBefore);
      expect(row).to.include({ actor_type: 'system', action: 'revoke_grant' });
      expect(row.counts).to.deep.equal(lost(before, await countRows(server.db)));
      expect(row.counts).to.include({ Grant: 1, AuthorizationCode: 1, AccessToken: 1 });
      await expectDead(client, first.body as unknown as TokenSet);
    });

    it('RFC 7592 DELETE: actor client, delete_client, registration and tokens gone', async () => {
      const client = await registerClient(server.baseUrl);
      const tokens = await connect(client, await newAccount());
      const before = await countRows(server.db);
      const auditBefore = await latestAuditId();
      const deleted = await fetch(client.registration_client_uri!, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${client.registration_access_token}` },
      });
      expect(deleted.status).to.equal(204);
      const row = await singleAudit(auditBefore);
      expect(row).to.include({ actor_type: 'client', actor_id: client.client_id, action: 'delete_client' });
      expect(row.target).to.deep.equal({ clientId: client.client_id });
      expect(row.counts).to.deep.equal(lost(before, await countRows(server.db)));
      expect(row.counts).to.include({ Client: 1, RegistrationAccessToken: 1, Grant: 1, AccessToken: 1, RefreshToken: 1 });
      await expectDead(client, tokens, 'invalid_client');
    });

    it('a script calling provider.Grant.find(id) then destroy(): actor operator, the grant and its tokens', async () => {
      const client = await registerClient(server.baseUrl);
      const tokens = await connect(client, await newAccount());
      const before = await countRows(server.db);
      const auditBefore = await latestAuditId();
      const grant = await server.provider.Grant.find(tokens.grantId);
      expect(grant).to.not.equal(undefined);
      await grant!.destroy();
      const row = await singleAudit(auditBefore);
      expect(row).to.include({ actor_type: 'operator', action: 'revoke_grant' });
      expect(row.target).to.deep.equal({ grantId: tokens.grantId });
      expect(row.counts).to.deep.equal(lost(before, await countRows(server.db)));
      expect(row.counts).to.include({ Grant: 1, AccessToken: 1, RefreshToken: 1 });
      await expectDead(client, tokens);
      expect(await server.provider.Grant.find(tokens.grantId)).to.equal(undefined);
      // A late save of the same Grant object (a consent racing the revocation) is refused by the tombstone.
      let resaved: unknown;
      await grant!.save().catch((error: unknown) => {
        resaved = error;
      });
      expect(String(resaved)).to.match(/invalid_grant|revoked/);
      expect(await server.db('oidc_grants').where({ id: tokens.grantId }).first()).to.equal(undefined);
    });

    it('never writes an empty row for a library event', async () => {
      const empty = await server.db('revocation_audit').whereRaw("counts = '{}'::jsonb").whereNot('actor_type', 'operator');
      expect(empty).to.deep.equal([]);
    });
  });
});
