// Database faults under load (PostgreSQL only: the fault is a TCP proxy the test owns between the
// servers and 127.0.0.1:5432; the shared cluster is never touched). While a mixed workload runs, the
// proxy is cut (connections dropped, new ones refused) and later stalled (connections open, nothing
// forwarded). Throughout: no 500, no stack or SQL in a body, no crash. While the database is gone the
// authorization server answers 503 temporarily_unavailable (JSON for API callers, an HTML page for
// browser routes) with Retry-After, the MCP server 503 or 401 and never 200, /readyz 503 and
// /healthz 200; a stalled database fails requests within the configured timeouts instead of hanging
// them; and both servers recover by themselves when the proxy forwards again.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { authorizeUrl, connectClient, postForm, registerClient, type RegisteredClient, REDIRECT_URI, type TokenSet } from '../support/oauth_flow.ts';
import { createProxiedDatabase, type ProxiedDatabase } from '../support/proxied_database.ts';
import { postgresUrl } from '../support/database.ts';
import { createIntrospector, createTestAccount, TEST_PASSWORD } from '../support/server.ts';

type Phase = 'up' | 'cutting' | 'down' | 'recovering' | 'recovered' | 'stalled';

interface Observation {
  /** The phase when the request was sent, and when its answer arrived. */
  phase: Phase;
  endPhase: Phase;
  op: string;
  status: number;
  body: string;
  contentType: string;
  retryAfter: string | null;
  ms: number;
}

const LEAK = /\bat [\w.<>]+ \(|node_modules|\/src\/|\bselect\b.+\bfrom\b|\binsert into\b|\bupdate "?\w+"? set\b|\bdelete from\b|KnexTimeoutError|ECONNREFUSED|Connection terminated/i;

(postgresUrl() ? describe : describe.skip)('database faults under load (TCP proxy to PostgreSQL)', function () {
  this.timeout(120_000);
  let database: ProxiedDatabase;
  let stack: McpTestStack;
  let account: { email: string; password: string };
  let observer: RegisteredClient;
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);

  before(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    database = await createProxiedDatabase();
    stack = await startMcpTestStack({ database });
    account = { email: (await createTestAccount(stack.db)).email, password: TEST_PASSWORD };
    observer = await createIntrospector(stack);
  });
  after(async () => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    await stack?.close();
    await database?.close();
  });

  async function observe(phase: () => Phase, op: string, request: () => Promise<Response>): Promise<Observation> {
    const started = performance.now();
    const at = phase();
    try {
      const response = await request();
      const body = await response.text();
      return {
        phase: at,
        endPhase: phase(),
        op,
        status: response.status,
        body,
        contentType: response.headers.get('content-type') ?? '',
        retryAfter: response.headers.get('retry-after'),
        ms: performance.now() - started,
      };
    } catch (error) {
      return { phase: at, endPhase: phase(), op, status: 0, body: String(error), contentType: '', retryAfter: null, ms: performance.now() - started };
    }
  }

  /**
   * One worker per operation kind, looping until stopped. The MCP worker uses a grant of its own: a cut
   * between a refresh's consume and its new token makes the refresh worker's next attempt a reuse,
   * which rightly revokes that worker's grant — and must not be mistaken for a failure to recover.
   */
  function startLoad(phase: () => Phase, client: RegisteredClient, tokens: TokenSet, mcpTokens: TokenSet) {
    const observations: Observation[] = [];
    let running = true;
    let refreshToken = tokens.refresh_token!;
    const loginPromptUrl = authorizeUrl(stack.baseUrl, client, stack.mcpUrl);
    const operations: Record<string, () => Promise<Response>> = {
      refresh: async () => {
        const response = await fetch(`${stack.baseUrl}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id }),
        });
        if (response.status === 200) {
          const body = (await response.clone().json()) as TokenSet;
          refreshToken = body.refresh_token!;
        }
        return response;
      },
      introspect: () =>
        fetch(`${stack.baseUrl}/introspect`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${observer.client_id}:${observer.client_secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ token: tokens.access_token }),
        }),
      authorize: () => fetch(loginPromptUrl, { redirect: 'manual', headers: { accept: 'text/html' } }),
      mcp: () =>
        fetch(stack.mcpUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${mcpTokens.access_token}`,
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
        }),
      register: () =>
        fetch(`${stack.baseUrl}/reg`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }),
        }),
      readyz: () => fetch(`${stack.baseUrl}/readyz`),
      healthz: () => fetch(`${stack.baseUrl}/healthz`),
    };
    const workers = Object.entries(operations).map(async ([op, request]) => {
      while (running) {
        observations.push(await observe(phase, op, request));
        await sleep(op === 'healthz' || op === 'readyz' ? 100 : 20);
      }
    });
    return {
      observations,
      async stop() {
        running = false;
        await Promise.all(workers);
      },
    };
  }

  function expectNoLeaksOrServerErrors(observations: Observation[]): void {
    const bad = observations.filter((o) => o.status === 0 || (o.status >= 500 && o.status !== 503));
    expect(bad.map((o) => `${o.phase} ${o.op} ${o.status} ${o.body.slice(0, 120)}`), 'transport failures or non-503 5xx').to.deep.equal([]);
    const leaks = observations.filter((o) => LEAK.test(o.body));
    expect(leaks.map((o) => `${o.phase} ${o.op} ${o.status} ${o.body.slice(0, 200)}`), 'stack traces or SQL in bodies').to.deep.equal([]);
    expect(crashes, 'unhandled rejections or exceptions').to.deep.equal([]);
  }

  function expectUnavailable(observations: Observation[], label: string): void {
    const counts = new Map<string, number>();
    for (const o of observations) {
      counts.set(o.op, (counts.get(o.op) ?? 0) + 1);
      const where = `${label}: ${o.op} ${o.status} ${o.body.slice(0, 160)}`;
      if (o.op === 'healthz') {
        expect(o.status, where).to.equal(200);
      } else if (o.op === 'mcp') {
        expect([401, 503], where).to.include(o.status);
      } else if (o.op === 'readyz') {
        expect(o.status, where).to.equal(503);
        expect(JSON.parse(o.body), where).to.include({ database: 'down' });
      } else {
        expect(o.status, where).to.equal(503);
        expect(o.retryAfter, where).to.match(/^\d+$/);
        if (o.op === 'authorize') {
          expect(o.contentType, where).to.match(/^text\/html/);
          expect(o.body, where).to.include('temporarily_unavailable');
        } else {
          expect(o.contentType, where).to.match(/^application\/json/);
          expect(JSON.parse(o.body), where).to.include({ error: 'temporarily_unavailable' });
        }
      }
    }
    for (const op of ['refresh', 'introspect', 'authorize', 'mcp', 'register', 'readyz', 'healthz']) {
      expect(counts.get(op) ?? 0, `${label}: requests of ${op}`).to.be.greaterThan(0);
    }
  }

  async function waitUntilReady(deadlineMs: number): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < deadlineMs) {
      const response = await fetch(`${stack.baseUrl}/readyz`);
      if (response.status === 200) return performance.now() - started;
      await sleep(100);
    }
    throw new Error('the server did not become ready again');
  }

  async function expectWorkingFlow(): Promise<void> {
    const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    const call = await callTool(stack.mcpUrl, tokens.access_token, 'whoami');
    expect(call.status).to.equal(200);
    expect(call.body.result.isError ?? false).to.equal(false);
    const refreshed = await postForm(stack.baseUrl, '/token', undefined, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: (await registerClient(stack.baseUrl)).client_id,
    });
    // Another client's refresh token: a verdict (400), not an outage.
    expect(refreshed.status).to.equal(400);
  }

  it('cut mid-load: 503 temporarily_unavailable (JSON / HTML), MCP never 200, then recovery without a restart', async () => {
    const { client, tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    let phase: Phase = 'up';
    const { tokens: mcpTokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    const load = startLoad(() => phase, client, tokens, mcpTokens);
    await sleep(1500);
    phase = 'cutting';
    database.proxy.cut();
    await sleep(2500);
    phase = 'down';
    await sleep(3000);
    phase = 'recovering';
    database.proxy.restore();
    const recoveryMs = await waitUntilReady(15_000);
    phase = 'recovered';
    await sleep(2000);
    await load.stop();

    const { observations } = load;
    expectNoLeaksOrServerErrors(observations);
    // Sent and answered while the database was gone (a request sent just before the restore may succeed).
    expectUnavailable(observations.filter((o) => o.phase === 'down' && o.endPhase === 'down'), 'database cut');
    expect(observations.filter((o) => o.phase === 'cutting' && o.op === 'mcp' && o.status === 200).length).to.be.at.most(6);
    // Recovered by itself: every surface answers normally again (a refresh chain broken by the cut
    // fails closed with 400 invalid_grant: the rotation's consume committed, its new token was lost).
    const after = observations.filter((o) => o.phase === 'recovered');
    for (const o of after) expect(o.status, `${o.op} after recovery: ${o.body.slice(0, 160)}`).to.be.lessThan(500);
    expect(after.filter((o) => o.op === 'mcp').every((o) => o.status === 200)).to.equal(true);
    expect(after.filter((o) => o.op === 'authorize').every((o) => o.status === 303)).to.equal(true);
    expect(after.filter((o) => o.op === 'register').every((o) => o.status === 201)).to.equal(true);
    await expectWorkingFlow();
    const downCount = observations.filter((o) => o.phase === 'down').length;
    console.log(`      cut: ${observations.length} requests, ${downCount} while down, ready again ${Math.round(recoveryMs)} ms after restore`);
  });

  it('stalled mid-load: requests fail within the timeouts (503), never hang, and recover', async () => {
    const { client, tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    let phase: Phase = 'up';
    const { tokens: mcpTokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    const load = startLoad(() => phase, client, tokens, mcpTokens);
    await sleep(1000);
    phase = 'stalled';
    database.proxy.stall();
    await sleep(8000);
    phase = 'recovering';
    database.proxy.restore();
    await waitUntilReady(20_000);
    phase = 'recovered';
    await sleep(1500);
    await load.stop();

    const { observations } = load;
    expectNoLeaksOrServerErrors(observations);
    const stalled = observations.filter((o) => o.phase === 'stalled' && o.endPhase === 'stalled');
    // acquire 1.5 s + statement 1.5 s (+2 s client margin): nothing waits much longer than that.
    const slowest = Math.max(...stalled.map((o) => o.ms));
    expect(slowest, 'slowest request while stalled, ms').to.be.lessThan(10_000);
    const unavailable = stalled.filter((o) => o.status === 503);
    expect(unavailable.length, 'requests answered 503 while stalled').to.be.greaterThan(5);
    // Sent during the stall and answered before it ended: no verdict was possible, so never a 200.
    const mcpDuringStall = stalled.filter((o) => o.op === 'mcp');
    expect(mcpDuringStall.length).to.be.greaterThan(0);
    expect(mcpDuringStall.filter((o) => o.status === 200).length, 'MCP 200s while stalled').to.equal(0);
    const after = observations.filter((o) => o.phase === 'recovered');
    for (const o of after) expect(o.status, `${o.op} after recovery: ${o.body.slice(0, 160)}`).to.be.lessThan(500);
    await expectWorkingFlow();
    console.log(`      stall: ${stalled.length} requests while stalled, ${unavailable.length} answered 503, slowest ${Math.round(slowest)} ms`);
  });

  it('a request started before the cut, that needs the database after it, still fails closed', async () => {
    // The database is gone before any lookup: a valid token must not be honoured on a guess.
    const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    database.proxy.cut();
    try {
      const mcp = await callTool(stack.mcpUrl, tokens.access_token, 'whoami');
      expect(mcp.status).to.equal(503);
      const introspected = await postForm(stack.baseUrl, '/introspect', observer, { token: tokens.access_token });
      expect(introspected.status).to.equal(503);
      expect(introspected.body).to.include({ error: 'temporarily_unavailable' });
    } finally {
      database.proxy.restore();
    }
    await waitUntilReady(15_000);
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
  });
});
