// Reuse detection under concurrency (RFC 9700 §4.14.2): of N simultaneous uses of one refresh token
// or one authorization code at most one succeeds, the rest get invalid_grant, nothing fails with a
// 5xx, and the grant ends revoked with every token it ever had.
import { expect } from 'chai';
import {
  authorize,
  connectClient,
  exchangeCode,
  type HttpResult,
  refresh,
  registerClient,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { type SignInAccount, startObservedServer, type TokenLiveness } from '../support/observed_server.ts';
import type { TestServer } from '../support/server.ts';

const PARALLEL = 20;
const ROUNDS = Number(process.env.CONCURRENCY_ROUNDS ?? 3);

describe('concurrent reuse of a refresh token or an authorization code', () => {
  let server: TestServer;
  let account: SignInAccount;
  let resource: string;
  let active: TokenLiveness;

  before(async () => {
    ({ server, account, resource, active } = await startObservedServer());
  });
  after(() => server.close());

  /** At most one 200, every other answer a 400 invalid_grant; returns the winner's tokens if any. */
  function judge(results: HttpResult[]): TokenSet[] {
    const statuses = results.map((result) => result.status);
    expect(statuses.every((status) => status === 200 || status === 400), `statuses ${statuses}`).to.equal(true);
    const winners = results.filter((result) => result.status === 200);
    expect(winners.length, `statuses ${statuses}`).to.be.at.most(1);
    for (const loser of results.filter((result) => result.status !== 200)) {
      expect(loser.body.error).to.equal('invalid_grant');
    }
    return winners.map((winner) => winner.body as unknown as TokenSet);
  }

  /** The grant is gone from the database, and every token ever issued under it is inactive. */
  async function expectGrantRevoked(clientId: string, grantId: string, tokens: string[]): Promise<void> {
    expect(await server.db('oidc_grants').where({ id: grantId }).first(), 'grant row').to.equal(undefined);
    expect(await server.db('oidc_tokens').where({ grant_id: grantId }).first(), 'token rows').to.equal(undefined);
    expect(await server.db('oidc_revoked_grants').where({ grant_id: grantId }).first(), 'tombstone').to.not.equal(undefined);
    for (const token of tokens) expect(await active(token), `token of client ${clientId}`).to.equal(false);
  }

  async function onlyGrantOf(clientId: string): Promise<string> {
    const rows = await server.db('oidc_grants').where({ client_id: clientId }).select('id');
    expect(rows).to.have.length(1);
    return rows[0].id as string;
  }

  for (let round = 1; round <= ROUNDS; round += 1) {
    it(`${PARALLEL} parallel refreshes of one refresh token (round ${round})`, async () => {
      const { client, tokens } = await connectClient(server.baseUrl, account, { resource });
      const grantId = await onlyGrantOf(client.client_id);

      const results = await Promise.all(
        Array.from({ length: PARALLEL }, () => refresh(server.baseUrl, client, tokens.refresh_token!)),
      );
      const winners = judge(results);

      const issued = [tokens.access_token, tokens.refresh_token!, ...winners.flatMap((set) => [set.access_token, set.refresh_token!])];
      await expectGrantRevoked(client.client_id, grantId, issued);
      for (const set of winners) {
        expect((await refresh(server.baseUrl, client, set.refresh_token!)).body.error).to.equal('invalid_grant');
      }
    });

    it(`${PARALLEL} parallel exchanges of one authorization code (round ${round})`, async () => {
      const client = await registerClient(server.baseUrl);
      const authorization = await authorize(server.baseUrl, { client, ...account, resource, scope: 'mcp:read mcp:write' });
      const grantId = await onlyGrantOf(client.client_id);

      const results = await Promise.all(
        Array.from({ length: PARALLEL }, () => exchangeCode(server.baseUrl, client, authorization, resource)),
      );
      const winners = judge(results);

      const issued = winners.flatMap((set) => [set.access_token, set.refresh_token!]);
      await expectGrantRevoked(client.client_id, grantId, issued);
      for (const set of winners) {
        expect((await refresh(server.baseUrl, client, set.refresh_token!)).body.error).to.equal('invalid_grant');
      }
    });
  }

  it('a single refresh or code exchange still succeeds (the race is what fails)', async () => {
    const client = await registerClient(server.baseUrl);
    const authorization = await authorize(server.baseUrl, { client, ...account, resource, scope: 'mcp:read' });
    const exchanged = await exchangeCode(server.baseUrl, client, authorization, resource);
    expect(exchanged.status).to.equal(200);
    const refreshed = await refresh(server.baseUrl, client, (exchanged.body as unknown as TokenSet).refresh_token!);
    expect(refreshed.status).to.equal(200);
    expect(await active((refreshed.body as unknown as TokenSet).access_token)).to.equal(true);
  });
});
