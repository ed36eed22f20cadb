// Abuse limits: failed sign-ins per account and per address, and requests per address to /token,
// /revoke, /reg and the admin API, answered 429 with Retry-After. The counters live in the database,
// so two server instances with their own connection pools on one database share them (on PostgreSQL:
// two pools, the way two processes would; on the embedded database the one connection is shared).
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import knex from 'knex';
import request from 'supertest';
import { authorizeUrl, CookieJar, REDIRECT_URI, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createTestDatabase, postgresUrl, type TestDatabase } from '../support/database.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

const LIMITS = {
  RATE_LIMIT_WINDOW: '4',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '3',
  RATE_LIMIT_LOGIN_PER_ADDRESS: '8',
  RATE_LIMIT_TOKEN: '15',
  RATE_LIMIT_REVOKE: '6',
  RATE_LIMIT_REGISTRATION: '5',
  RATE_LIMIT_ADMIN: '6',
  RATE_LIMIT_AUTHORIZE: '12',
};
/** The shortest window there is, for the tests that wait for one to end; one failed sign-in allowed, so a lockout takes two requests. */
const BRIEF_LIMITS = { ...LIMITS, RATE_LIMIT_WINDOW: '1', RATE_LIMIT_LOGIN_PER_ACCOUNT: '1' };

/** A fresh interaction at the login prompt on `server` (requests carry `headers`): its login form URL and cookies. */
async function loginForm(server: TestServer, client: RegisteredClient, headers: Record<string, string> = {}): Promise<{ url: string; jar: CookieJar }> {
  const jar = new CookieJar();
  const started = await fetch(authorizeUrl(server.baseUrl, client, server.config.resource), { redirect: 'manual', headers });
  jar.store(started);
  await started.body?.cancel();
  return { url: new URL(`${started.headers.get('location')!}/login`, server.baseUrl).href, jar };
}

describe('rate limits shared across server instances (429 + Retry-After)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let second: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  let brief: TestServer;

  before(async () => {
    database = await createTestDatabase();
    second = database;
    if (database.kind === 'postgres') {
      // A second pool on the same schema: what a second process would have.
      const searchPath = ((await database.db.raw('show search_path')).rows[0] as { search_path: string }).search_path;
      const db = knex({ client: 'pg', connection: { connectionString: postgresUrl()!, options: `-c search_path=${searchPath}` }, pool: { min: 0, max: 4 } });
      second = { kind: 'postgres', db, close: () => db.destroy() };
    }
    a = await startTestServer({ database, env: LIMITS });
    b = await startTestServer({ database: second, env: LIMITS });
    brief = await startTestServer({ database, env: BRIEF_LIMITS });
  });
  after(async () => {
    await brief?.close();
    await a?.close();
    await b?.close();
    if (second !== database) await second.close();
    await database?.close();
  });

  beforeEach(async () => {
    await database.db('rate_limits').delete();
  });

  async function signIn(form: { url: string; jar: CookieJar }, email: string, password: string) {
    const response = await fetch(form.url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.jar.header() },
      body: new URLSearchParams({ email, password }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
  }

  it('failed sign-ins per account: the 4th attempt is refused on either instance, even with the right password', async () => {
    const account = await createTestAccount(a.db);
    const client = await registerClient(a.baseUrl);
    const formA = await loginForm(a, client);
    const formB = await loginForm(b, client);
    expect((await signIn(formA, account.email, 'wrong 1')).status).to.equal(401);
    expect((await signIn(formB, account.email, 'wrong 2')).status).to.equal(401);
    expect((await signIn(formA, account.email.toUpperCase(), 'wrong 3')).status).to.equal(401);
    for (const form of [formA, formB]) {
      const refused = await signIn(form, account.email, TEST_PASSWORD);
      expect(refused.status).to.equal(429);
      expect(Number(refused.retryAfter)).to.be.within(1, 4);
      expect(refused.text).to.include('Too many failed sign-in attempts');
    }
    // Another account from the same address is not locked out by this one.
    const other = await createTestAccount(a.db);
    expect((await signIn(await loginForm(a, client), other.email, TEST_PASSWORD)).status).to.equal(303);
  });

  it('a locked-out account signs in again once the window ends', async () => {
    const account = await createTestAccount(brief.db);
    const form = await loginForm(brief, await registerClient(brief.baseUrl));
    expect((await signIn(form, account.email, 'wrong')).status).to.equal(401);
    const refused = await signIn(form, account.email, TEST_PASSWORD);
    expect([refused.status, refused.retryAfter]).to.deep.equal([429, '1']);
    await sleep(1100);
    expect((await signIn(form, account.email, TEST_PASSWORD)).status).to.equal(303);
  });

  it('the connected-apps sign-in (/account) shares the per-account counter with the login form', async () => {
    const account = await createTestAccount(a.db);
    const client = await registerClient(a.baseUrl);
    const form = await loginForm(a, client);
    for (let attempt = 1; attempt <= 3; attempt += 1) expect((await signIn(form, account.email, `wrong ${attempt}`)).status).to.equal(401);
    const agent = request.agent(b.baseUrl);
    const page = await agent.get('/account').expect(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const refused = await agent
      .post('/account/sign-in')
      .set('origin', b.baseUrl)
      .type('form')
      .send({ csrf, email: account.email, password: TEST_PASSWORD });
    expect(refused.status, refused.text.slice(0, 300)).to.equal(429);
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 4);
  });

  it('failed sign-ins per address: spread over many accounts, the address is stopped', async () => {
    const client = await registerClient(a.baseUrl);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const server = attempt % 2 ? a : b;
      statuses.push((await signIn(await loginForm(server, client), `nobody${attempt}@example.test`, 'guess')).status);
    }
    expect(statuses.slice(0, 8)).to.deep.equal(Array(8).fill(401));
    expect(statuses.slice(8)).to.deep.equal([429, 429]);
  });

  for (const [endpoint, limit] of [
    ['/token', 15],
    ['/revoke', 6],
    ['/reg', 5],
  ] as const) {
    it(`POST ${endpoint}: ${limit} per window per address across both instances, then 429 JSON with Retry-After`, async () => {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < limit + 2; i += 1) {
        const server = i % 2 ? a : b;
        last = await fetch(`${server.baseUrl}${endpoint}`, {
          method: 'POST',
          headers: { 'content-type': endpoint === '/reg' ? 'application/json' : 'application/x-www-form-urlencoded' },
          body:
            endpoint === '/reg'
              ? JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' })
              : 'grant_type=refresh_token&refresh_token=nope&client_id=nope&token=nope',
        });
        statuses.push(last.status);
        if (i < limit + 1) await last.body?.cancel();
      }
      expect(statuses.slice(0, limit).every((status) => status !== 429), `statuses ${statuses}`).to.equal(true);
      expect(statuses.slice(limit)).to.deep.equal([429, 429]);
      expect(Number(last!.headers.get('retry-after'))).to.be.within(1, 4);
      expect(await last!.json()).to.include({ error: 'too_many_requests' });
    });
  }

  it('GET /authorize and POST /request (PAR): 12 per window per address together, then 429 and no more Interaction rows', async () => {
    const client = await registerClient(a.baseUrl);
    const params = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      scope: 'mcp:read',
      resource: a.config.resource,
    });
    const interactions = async () => Number(((await database.db('oidc_models').where({ model: 'Interaction' }).count({ n: '*' })) as { n: string | number }[])[0]!.n);
    const before = await interactions();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 14; i += 1) {
      const server = i % 2 ? a : b;
      last =
        i % 3 === 2
          ? await fetch(`${server.baseUrl}/request`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params })
          : await fetch(`${server.baseUrl}/authorize?${params}`, { redirect: 'manual' });
      statuses.push(last.status);
      if (i < 13) await last.body?.cancel();
    }
    expect(statuses.slice(0, 12).every((status) => status !== 429), `statuses ${statuses}`).to.equal(true);
    expect(statuses.slice(12)).to.deep.equal([429, 429]);
    expect(Number(last!.headers.get('retry-after'))).to.be.within(1, 4);
    expect(await last!.json()).to.include({ error: 'too_many_requests' });
    // Only the /authorize requests under the limit stored an Interaction (8 of the first 12).
    expect((await interactions()) - before).to.equal(8);
  });

    it('the admin API: limited per address, valid token or not', async () => {
    const token = await operatorToken(a.baseUrl, await createOperator(a, 'limits'));
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const server = i % 2 ? a : b;
      // Each instance's admin audience is its own issuer; the limit is shared all the same.
      const response = await fetch(`${server.baseUrl}/admin/clients`, { headers: { authorization: `Bearer ${token}` } });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    expect(statuses.slice(0, 6).every((status) => status !== 429), `statuses ${statuses}`).to.equal(true);
    expect(statuses.slice(6)).to.deep.equal([429, 429]);
    // The OpenAPI description is not limited.
    expect((await fetch(`${a.baseUrl}/admin/openapi.json`)).status).to.equal(200);
  });

  it('the janitor purges ended windows', async () => {
    const { purgeExpired } = await import('../../src/storage/janitor.ts');
    await fetch(`${brief.baseUrl}/revoke`, { method: 'POST', body: 'token=x' });
    expect(await database.db('rate_limits').count({ n: '*' })).to.satisfy((rows: { n: string | number }[]) => Number(rows[0]!.n) === 1);
    expect((await purgeExpired(database.db, 0)).rateLimits, 'a window that has not ended').to.equal(0);
    await sleep(1100);
    expect((await purgeExpired(database.db, 0)).rateLimits).to.equal(1);
  });

  it('the counters are an unlogged table (no WAL flush per counted request); that migration has a working down', async () => {
    const scratch = await createTestDatabase();
    const persistence = async () => ((await scratch.db.raw(`select relpersistence from pg_class where oid = 'rate_limits'::regclass`)).rows[0] as { relpersistence: string }).relpersistence;
    try {
      const { migrationConfig } = await import('../../src/db/migrate.ts');
      expect(await persistence()).to.equal('u');
      await scratch.db.migrate.down({ ...migrationConfig, name: '20261201030000_rate_limits_unlogged.ts' });
      expect(await persistence()).to.equal('p');
      await scratch.db.migrate.latest(migrationConfig);
      expect(await persistence()).to.equal('u');
    } finally {
      await scratch.close();
    }
  });

  it("the migration's down drops the table, and up restores it", async () => {
    const scratch = await createTestDatabase();
    try {
      const { migrationConfig } = await import('../../src/db/migrate.ts');
      await scratch.db.migrate.down({ ...migrationConfig, name: '20261128000000_rate_limits.ts' });
      expect(await scratch.db.schema.hasTable('rate_limits')).to.equal(false);
      await scratch.db.migrate.latest(migrationConfig);
      expect(await scratch.db.schema.hasTable('rate_limits')).to.equal(true);
    } finally {
      await scratch.close();
    }
  });
});

describe('rate limits behind a trusted proxy (TRUST_PROXY=1): the client address is the right-most X-Forwarded-For entry', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      env: { TRUST_PROXY: '1', RATE_LIMIT_WINDOW: '60', RATE_LIMIT_REGISTRATION: '3', RATE_LIMIT_LOGIN_PER_ADDRESS: '4', RATE_LIMIT_LOGIN_PER_ACCOUNT: '0' },
    });
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await server.db('rate_limits').delete();
  });

  /** What the one trusted proxy forwards: the client's own (forged) header, then the address it saw. */
  const forwarded = (forged: string, seen: string) => ({ 'x-forwarded-for': `${forged}, ${seen}` });

  async function register(headers: Record<string, string>): Promise<number> {
    const response = await fetch(`${server.baseUrl}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }),
    });
    await response.body?.cancel();
    return response.status;
  }

  it('forged left-most values all land in one bucket: the registration limit holds', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push(await register(forwarded(`198.51.100.${i}, 10.0.0.${i}`, '203.0.113.7')));
    expect(statuses.slice(0, 3).every((status) => status !== 429), `statuses ${statuses}`).to.equal(true);
    expect(statuses.slice(3)).to.deep.equal([429, 429]);
    const keys = (await server.db('rate_limits').select('key')).map((row: { key: string }) => row.key);
    expect(keys).to.deep.equal(['registration:203.0.113.7']);
    // Another address the proxy saw is another client, with its own count.
    expect(await register(forwarded('203.0.113.7', '203.0.113.8'))).to.not.equal(429);
  });

  it('forged left-most values do not escape the failed sign-in limit per address', async () => {
    const client = await registerClient(server.baseUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const headers = forwarded(`198.51.100.${i}`, '203.0.113.9');
      const { url, jar } = await loginForm(server, client, headers);
      const response = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), ...headers },
        body: new URLSearchParams({ email: `nobody${i}@example.test`, password: 'guess' }),
      });
      await response.body?.cancel();
      statuses.push(response.status);
    }
    expect(statuses).to.deep.equal([401, 401, 401, 401, 429, 429]);
  });
});

describe('failed sign-in limits count an attempt before the password is checked (parallel guesses)', function () {
  this.timeout(120_000);
  const PER_ACCOUNT = 10;
  const GUESSES = 60;
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      env: { RATE_LIMIT_WINDOW: '60', RATE_LIMIT_LOGIN_PER_ACCOUNT: String(PER_ACCOUNT), RATE_LIMIT_LOGIN_PER_ADDRESS: '1000' },
    });
  });
  after(async () => {
    await server?.close();
  });

  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

  /** Statuses by kind: a 401 or 303 means the password was checked; 429 means it was not. */
  function tally(statuses: number[]) {
    return {
      checked: statuses.filter((status) => status === 401 || status === 303).length,
      refused: statuses.filter((status) => status === 429).length,
    };
  }

  async function accountCount(email: string): Promise<number> {
    const { hashTokenValue } = await import('../../src/storage/token_hash.ts');
    const row = (await server.db('rate_limits').where({ key: `login-account:${hashTokenValue(email)}` }).first()) as { count: number } | undefined;
    return Number(row?.count ?? 0);
  }

  it(`the login form: of ${GUESSES} parallel wrong guesses at most ${PER_ACCOUNT} reach the password check, then the right one is refused`, async () => {
    const account = await createTestAccount(server.db);
    const client = await registerClient(server.baseUrl);
    const { url, jar } = await loginForm(server, client);
    const signIn = async (password: string) => {
      const response = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
        body: new URLSearchParams({ email: account.email, password }),
      });
      await response.body?.cancel();
      return response.status;
    };
    const statuses = await Promise.all(Array.from({ length: GUESSES }, (_, i) => signIn(`wrong ${i}`)));
    expect(tally(statuses), `statuses ${statuses}`).to.deep.equal({ checked: PER_ACCOUNT, refused: GUESSES - PER_ACCOUNT });
    expect(await signIn(TEST_PASSWORD)).to.equal(429);
    expect(await accountCount(account.email)).to.equal(GUESSES + 1);
  });

  it('the /account sign-in: the same gate', async () => {
    const account = await createTestAccount(server.db);
    const agent = request.agent(server.baseUrl);
    const csrf = csrfOf((await agent.get('/account').expect(200)).text);
    const signIn = async (password: string) =>
      (await agent.post('/account/sign-in').set('origin', server.baseUrl).type('form').send({ csrf, email: account.email, password })).status;
    const statuses = await Promise.all(Array.from({ length: GUESSES }, (_, i) => signIn(`wrong ${i}`)));
    expect(tally(statuses), `statuses ${statuses}`).to.deep.equal({ checked: PER_ACCOUNT, refused: GUESSES - PER_ACCOUNT });
    expect(await signIn(TEST_PASSWORD)).to.equal(429);
  });

  it(`/account/password: of ${GUESSES} parallel wrong current passwords at most ${PER_ACCOUNT} are checked, then the right one is refused`, async () => {
    const account = await createTestAccount(server.db);
    const agent = request.agent(server.baseUrl);
    const form = csrfOf((await agent.get('/account').expect(200)).text);
    await agent.post('/account/sign-in').set('origin', server.baseUrl).type('form').send({ csrf: form, email: account.email, password: TEST_PASSWORD }).expect(303);
    // A successful sign-in gives its attempt back: the whole budget is left for the guesses.
    expect(await accountCount(account.email)).to.equal(0);
    const csrf = csrfOf((await agent.get('/account/password').expect(200)).text);
    const change = async (current: string) => {
      const response = await agent
        .post('/account/password')
        .set('origin', server.baseUrl)
        .type('form')
        .send({ csrf, current_password: current, new_password: 'a brand new passphrase', confirm_password: 'a brand new passphrase' });
      return response;
    };
    const statuses = (await Promise.all(Array.from({ length: GUESSES }, (_, i) => change(`wrong ${i}`)))).map((response) => response.status);
    expect(tally(statuses), `statuses ${statuses}`).to.deep.equal({ checked: PER_ACCOUNT, refused: GUESSES - PER_ACCOUNT });
    const refused = await change(TEST_PASSWORD);
    expect(refused.status).to.equal(429);
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    expect(refused.text).to.include('Too many failed attempts');
    const { authenticate } = await import('../../src/storage/account_store.ts');
    expect(await authenticate(server.db, account.email, TEST_PASSWORD), 'the password is unchanged').to.not.equal(undefined);
  });
});
