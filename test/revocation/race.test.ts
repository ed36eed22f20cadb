// Race-freedom: a refresh (or a code exchange) in flight while its grant, client or account is revoked
// must either finish before the revocation (and be revoked with the rest) or fail. For every kind of
// revocation, many rounds start both at once with a small random head start for either side, then
// check that nothing of the revoked scope survived: no rows left, every token the refresh returned
// inactive at /introspect, and a further refresh refused. On PostgreSQL the rounds run in parallel
// over a connection pool (real concurrency, row locks); on the embedded database statements interleave.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Database } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { hashTokenValue } from '../../src/storage/token_hash.ts';
import {
  createRevocationService,
  type RevocationOutcome,
  type RevocationService,
} from '../../src/revocation/revocation_service.ts';
import { createTestDatabase, defaultKind } from '../support/database.ts';
import {
  type AuthorizationResult,
  exchangeCode,
  type HttpResult,
  pkcePair,
  REDIRECT_URI,
  refresh,
  registerClient,
  type RegisteredClient,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { startObservedServer, type TokenLiveness } from '../support/observed_server.ts';
import { expectTokenEndpointRefusal } from '../support/refusals.ts';
import type { TestServer } from '../support/server.ts';
import { mintAuthorizationCode, mintGrant as mintSupportGrant } from '../support/tokens.ts';
import { countRows, mintGrant, type MintedGrant, nonZero } from './helpers.ts';

const ITERATIONS = Number(process.env.RACE_ITERATIONS ?? 100);
const OPERATOR = { actor: { type: 'operator', id: 'race-test' } } as const;

interface Round {
  /** The client whose refresh token is raced against the revocation. */
  client: RegisteredClient;
  /** Grants the revocation must end; the first one's refresh token is raced. */
  victims: MintedGrant[];
  /** Grants it must leave alone. */
  bystanders: MintedGrant[];
  revoke(): Promise<RevocationOutcome>;
  /** Where no token may be left afterwards. */
  scope: { clientId?: string; accountId?: string };
  /** What the token endpoint answers the client afterwards. */
  refreshError: 'invalid_grant' | 'invalid_client';
}

interface Tally {
  refreshWon: number;
  refreshLost: number;
}

/** Why the token endpoint refused, from the provider's grant.error events (error_detail is not sent). */
const refusals = new Map<string, number>();

function report(name: string, tally: Tally, started: number): void {
  if (!process.env.RACE_REPORT) return;
  const why = [...refusals].map(([detail, count]) => `${count}× ${detail}`).join('; ');
  console.log(`      ${name}: request won ${tally.refreshWon}, lost ${tally.refreshLost} (${why}), ${Date.now() - started} ms`);
  refusals.clear();
}

/** Runs `total` rounds, `parallel` at a time. */
async function inBatches(total: number, parallel: number, round: (index: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < total; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, total - start) }, (_, offset) => round(start + offset)));
  }
}

/**
 * Starts a request and a revocation without awaiting in between. The revocation starts when the request
 * sends its k-th database statement (k random, 0–8; statements are recognised by the round's grant,
 * account or token hash among their bindings), or when the request ends if it sent fewer. A refresh
 * sends about seven such statements, so the revocation lands before, between any two of them, or
 * after. Statements rather than timers: the embedded database runs queries on the event loop and starves
 * timers while a request is busy, so statement boundaries are where anything can interleave there; on
 * PostgreSQL the two then run truly concurrently.
 */
async function race<A, B>(
  db: Database,
  markers: string[],
  request: () => Promise<A>,
  revocation: () => Promise<B>,
): Promise<[PromiseSettledResult<A>, PromiseSettledResult<B>]> {
  const k = randomInt(0, 9);
  let revoking: Promise<B> | undefined;
  const start = () => (revoking ??= revocation());
  let seen = 0;
  const onQuery = (query: { bindings?: unknown[] }) => {
    if (!query.bindings?.some((binding) => typeof binding === 'string' && markers.includes(binding))) return;
    seen += 1;
    if (seen === k) queueMicrotask(start);
  };
  if (k === 0) start();
  else db.on('query', onQuery);
  const requested = request().finally(() => {
    db.off('query', onQuery);
    start();
  });
  const [settled] = await Promise.allSettled([requested]);
  return [settled, (await Promise.allSettled([start()]))[0]];
}

/** What the statements of a request for this grant carry: the grant, its account, the token's hash. */
function markersOf(grant: { grantId: string; accountId: string }, token: string): string[] {
  return [grant.grantId, grant.accountId, hashTokenValue(token)];
}

describe('race-freedom of revocation', function () {
  this.timeout(120_000);
  const kind = defaultKind();
  const parallel = Number(process.env.RACE_PARALLEL ?? 20);
  let server: TestServer;
  let revocation: RevocationService;
  let resource: string;
  let active: TokenLiveness;
  let shared: RegisteredClient;

  before(async () => {
    // A pool wider than the rounds in flight, so revocations and requests really overlap on PostgreSQL.
    ({ server, resource, active } = await startObservedServer({ database: await createTestDatabase(kind, { poolMax: 30 }) }));
    revocation = createRevocationService(server.db, createLogger('silent'));
    shared = await registerClient(server.baseUrl);
    server.provider.on('grant.error', (_ctx, error: { error?: string; error_detail?: string }) => {
      const detail = `${error.error}: ${error.error_detail ?? '-'}`;
      refusals.set(detail, (refusals.get(detail) ?? 0) + 1);
    });
    server.provider.on('server_error', (_ctx, error) => {
      serverErrors.push(error);
    });
  });
  const serverErrors: unknown[] = [];
  afterEach(() => {
    expect(serverErrors, 'provider server errors').to.deep.equal([]);
    refusals.clear();
  });
  after(async () => {
    await server.close();
    await server.database.close();
  });

  /** An account row (no password hashing: nobody signs in with it). */
  async function account(): Promise<string> {
    const id = randomUUID();
    await server.db('accounts').insert({ id, email: `race-${randomBytes(6).toString('hex')}@example.test`, password_hash: 'x' });
    return id;
  }

  const mint = (client: RegisteredClient, accountId: string) => mintGrant(server.provider, { client, accountId, resource });

  async function expectNothingLeft(round: Round): Promise<void> {
    const grantIds = round.victims.map((grant) => grant.grantId);
    const tokens = await server.db('oidc_tokens')
      .where((query) => {
        query.whereIn('grant_id', grantIds);
        if (round.scope.clientId) query.orWhere('client_id', round.scope.clientId);
        if (round.scope.accountId) query.orWhere('account_id', round.scope.accountId);
      })
      .select('model', 'grant_id');
    expect(tokens, 'tokens left in the revoked scope').to.deep.equal([]);
    expect(await server.db('oidc_grants').whereIn('id', grantIds).select('id'), 'grants left').to.deep.equal([]);
    for (const bystander of round.bystanders) {
      expect(await server.db('oidc_tokens').where({ grant_id: bystander.grantId }), 'bystander tokens').to.have.length(2);
    }
  }

  async function runRound(round: Round, tally: Tally): Promise<void> {
    const raced = round.victims[0]!;
    const [refreshed, revoked] = await race(
      server.db,
      markersOf(raced, raced.refreshToken),
      () => refresh(server.baseUrl, round.client, raced.refreshToken),
      () => round.revoke(),
    );
    if (revoked.status === 'rejected') throw revoked.reason;
    if (refreshed.status === 'rejected') throw refreshed.reason;
    const response: HttpResult = refreshed.value;
    expect(response.status, JSON.stringify(response.body)).to.be.oneOf([200, 400, 401]);

    await expectNothingLeft(round);
    if (response.status === 200) {
      tally.refreshWon += 1;
      const minted = response.body as unknown as TokenSet;
      expect(await active(minted.access_token), 'access token minted during the race').to.equal(false);
      expect(await active(minted.refresh_token!), 'refresh token minted during the race').to.equal(false);
      expectTokenEndpointRefusal(await refresh(server.baseUrl, round.client, minted.refresh_token!), round.refreshError, 'refresh of a token minted during the race');
    } else {
      tally.refreshLost += 1;
      // Refused for the grant or for the client, whichever the revocation had reached.
      const error = response.body.error as 'invalid_grant' | 'invalid_client';
      expect(error).to.be.oneOf(['invalid_grant', 'invalid_client']);
      expectTokenEndpointRefusal(response, error, 'the raced refresh');
    }
    expect(await active(raced.accessToken)).to.equal(false);
    expectTokenEndpointRefusal(await refresh(server.baseUrl, round.client, raced.refreshToken), round.refreshError, 'a further refresh');
  }

  const scenarios: { name: string; round: () => Promise<Round> }[] = [
    {
      name: 'revokeGrant',
      async round() {
        const victim = await mint(shared, await account());
        const bystander = await mint(shared, await account());
        return {
          client: shared,
          victims: [victim],
          bystanders: [bystander],
          revoke: () => revocation.revokeGrant(victim.grantId, OPERATOR),
          scope: {},
          refreshError: 'invalid_grant',
        };
      },
    },
    {
      name: 'revokeClient',
      async round() {
        const client = await registerClient(server.baseUrl);
        const victims = [await mint(client, await account()), await mint(client, await account())];
        return {
          client,
          victims,
          bystanders: [await mint(shared, await account())],
          revoke: () => revocation.revokeClient(client.client_id, OPERATOR),
          scope: { clientId: client.client_id },
          refreshError: 'invalid_grant',
        };
      },
    },
    {
      name: 'revokeClient with accountIds',
      async round() {
        const client = await registerClient(server.baseUrl);
        const [first, second] = [await account(), await account()];
        const victims = [await mint(client, first), await mint(client, second)];
        return {
          client,
          victims,
          bystanders: [await mint(client, await account())],
          revoke: () => revocation.revokeClient(client.client_id, { ...OPERATOR, accountIds: [first, second] }),
          scope: {},
          refreshError: 'invalid_grant',
        };
      },
    },
    {
      name: 'revokeAccount',
      async round() {
        const accountId = await account();
        const client = await registerClient(server.baseUrl);
        const victims = [await mint(client, accountId), await mint(shared, accountId)];
        return {
          client,
          victims,
          bystanders: [await mint(client, await account())],
          revoke: () => revocation.revokeAccount(accountId, OPERATOR),
          scope: { accountId },
          refreshError: 'invalid_grant',
        };
      },
    },
    {
      name: 'deleteClient',
      async round() {
        const client = await registerClient(server.baseUrl);
        const victims = [await mint(client, await account()), await mint(client, await account())];
        return {
          client,
          victims,
          bystanders: [await mint(shared, await account())],
          revoke: () => revocation.deleteClient(client.client_id, OPERATOR),
          scope: { clientId: client.client_id },
          refreshError: 'invalid_client',
        };
      },
    },
    {
      name: 'disableClient',
      async round() {
        const client = await registerClient(server.baseUrl);
        const victims = [await mint(client, await account()), await mint(client, await account())];
        return {
          client,
          victims,
          bystanders: [await mint(shared, await account())],
          revoke: () => revocation.disableClient(client.client_id, OPERATOR),
          scope: { clientId: client.client_id },
          refreshError: 'invalid_client',
        };
      },
    },
  ];

  for (const scenario of scenarios) {
    it(`refresh racing ${scenario.name}: ${ITERATIONS} rounds, nothing of the revoked scope survives (${kind})`, async () => {
      const tally: Tally = { refreshWon: 0, refreshLost: 0 };
      const started = Date.now();
      await inBatches(ITERATIONS, parallel, async () => runRound(await scenario.round(), tally));
      expect(tally.refreshWon + tally.refreshLost).to.equal(ITERATIONS);
      report(scenario.name, tally, started);
    });
  }

  it(`code exchange racing revokeGrant: ${ITERATIONS} rounds, nothing survives (${kind})`, async () => {
    const tally: Tally = { refreshWon: 0, refreshLost: 0 };
    const started = Date.now();
    await inBatches(ITERATIONS, parallel, async () => {
      const accountId = await account();
      const fields = { clientId: shared.client_id, accountId, resource, scope: 'mcp:read' };
      const grantId = await mintSupportGrant(server.provider, fields);
      const { verifier, challenge } = pkcePair();
      const code = await mintAuthorizationCode(server.provider, { ...fields, grantId, redirectUri: REDIRECT_URI, codeChallenge: challenge });
      const authorization = { code, verifier } as AuthorizationResult;
      const [exchanged, revoked] = await race(
        server.db,
        markersOf({ grantId, accountId }, code),
        () => exchangeCode(server.baseUrl, shared, authorization, resource),
        () => revocation.revokeGrant(grantId, OPERATOR),
      );
      if (revoked.status === 'rejected') throw revoked.reason;
      if (exchanged.status === 'rejected') throw exchanged.reason;
      const response = exchanged.value;
      expect(response.status, JSON.stringify(response.body)).to.be.oneOf([200, 400]);
      expect(await server.db('oidc_tokens').where({ grant_id: grantId }), 'tokens left').to.deep.equal([]);
      expect(await server.db('oidc_grants').where({ id: grantId }).first()).to.equal(undefined);
      if (response.status === 200) {
        tally.refreshWon += 1;
        const minted = response.body as unknown as TokenSet;
        expect(await active(minted.access_token)).to.equal(false);
        expect(await active(minted.refresh_token!)).to.equal(false);
        expectTokenEndpointRefusal(await refresh(server.baseUrl, shared, minted.refresh_token!), 'invalid_grant', 'refresh of a token minted during the race');
      } else {
        tally.refreshLost += 1;
        expectTokenEndpointRefusal(response, 'invalid_grant', 'the raced exchange');
      }
      expectTokenEndpointRefusal(await exchangeCode(server.baseUrl, shared, authorization, resource), 'invalid_grant', 'a further exchange');
    });
    report('code exchange', tally, started);
  });

  const pairs: { name: string; run: (clientId: string) => [Promise<RevocationOutcome>, Promise<RevocationOutcome>] }[] = [
    { name: 'revokeClient twice', run: (id) => [revocation.revokeClient(id, OPERATOR), revocation.revokeClient(id, OPERATOR)] },
    { name: 'deleteClient twice', run: (id) => [revocation.deleteClient(id, OPERATOR), revocation.deleteClient(id, OPERATOR)] },
    { name: 'disableClient twice', run: (id) => [revocation.disableClient(id, OPERATOR), revocation.disableClient(id, OPERATOR)] },
    { name: 'revokeClient and deleteClient', run: (id) => [revocation.revokeClient(id, OPERATOR), revocation.deleteClient(id, OPERATOR)] },
  ];
  const pairRounds = Math.max(10, Math.round(ITERATIONS / 4));

  for (const pair of pairs) {
    it(`revoke racing revoke (${pair.name}): both succeed, their counts add up to what existed (${pairRounds} rounds)`, async () => {
      await inBatches(pairRounds, parallel, async () => {
        const registered = await registerClient(server.baseUrl);
        const client = await server.provider.Client.find(registered.client_id);
        for (let index = 0; index < 3; index += 1) await mint(registered, await account());
        // A token of no grant, as client credentials leave.
        await new server.provider.ClientCredentials({ client: client!, scope: 'mcp:read' }).save();
        const before = await countRows(server.db, { clientId: registered.client_id });
        expect(before).to.include({ Grant: 3, AccessToken: 3, RefreshToken: 3, ClientCredentials: 1 });

        const [first, second] = await Promise.allSettled(pair.run(registered.client_id));
        if (first.status === 'rejected') throw first.reason;
        if (second.status === 'rejected') throw second.reason;
        const after = await countRows(server.db, { clientId: registered.client_id });
        const removed: Record<string, number> = {};
        for (const counts of [first.value.counts, second.value.counts]) {
          for (const [model, count] of Object.entries(counts)) removed[model] = (removed[model] ?? 0) + count;
        }
        for (const model of ['Grant', 'AccessToken', 'RefreshToken', 'ClientCredentials']) {
          expect(after[model] ?? 0, `${model} left`).to.equal(0);
        }
        const gone = Object.fromEntries(
          Object.entries(before).map(([model, count]) => [model, count - (after[model] ?? 0)]).filter(([, count]) => count !== 0),
        );
        expect(nonZero(removed), 'counts of both runs = rows the database lost').to.deep.equal(gone);
      });
    });
  }
});
