// Sign-in with upstream OpenID providers, end to end against real node-oidc-provider instances the
// test starts: the MCP SDK client connects through an upstream sign-in, calls a tool and is
// disconnected; accounts are linked by the upstream's iss + sub only; every refusal and every bad
// upstream answer ends on a readable page from which the sign-in can be tried again.
import { expect } from 'chai';
import { findAccountById } from '../../src/storage/account_store.ts';
import { createPasswordlessAccount } from '../../src/storage/account_store.ts';
import { availableKinds } from '../support/database.ts';
import { connectMcpClient, HeadlessOAuthProvider } from '../support/mcp_client.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { authorizeUrl, CookieJar, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { createTestAccount } from '../support/server.ts';
import { linkIdentity } from '../../src/storage/upstream_identity_store.ts';
import { browse, interactionUidOf, type Visit } from './browser.ts';
import { writeProvidersFile } from './providers_file.ts';
import { downIssuer, listenUpstream, type TestUpstream } from './upstream_provider.ts';

function structured(result: unknown): Record<string, any> {
  return (result as { structuredContent: Record<string, any> }).structuredContent;
}

/** A readable page: HTML, no stack trace, no raw error object. */
function expectReadablePage(visit: Visit, status: number, text: RegExp): void {
  expect(visit.status, visit.html.slice(0, 500)).to.equal(status);
  expect(visit.html).to.match(/^<!doctype html>/);
  expect(visit.html).to.match(text);
  expect(visit.html).not.to.match(/\n\s+at |Error:|stack/);
}

for (const kind of availableKinds()) {
  describe(`upstream sign-in (${kind})`, function () {
    this.timeout(60_000);
    let stack: McpTestStack;
    let provisioning: TestUpstream; // autoProvision: true, listed first
    let closed: TestUpstream; // autoProvision: false
    let another: TestUpstream; // autoProvision: true, another issuer with the same users
    let client: RegisteredClient;

    before(async () => {
      [provisioning, closed, another] = await Promise.all([listenUpstream('alpha'), listenUpstream('beta'), listenUpstream('gamma')]);
      const downAt = await downIssuer();
      const file = writeProvidersFile(
        (pathOf) => ({
          providers: [
            { id: 'alpha', displayName: 'Alpha ID', issuer: provisioning.issuer, clientId: provisioning.clientId, clientSecret: { env: 'ALPHA_SECRET' }, autoProvision: true },
            { id: 'beta', displayName: 'Beta ID', issuer: closed.issuer, clientId: closed.clientId, clientSecret: closed.clientSecret, tokenEndpointAuthMethod: 'client_secret_post' },
            { id: 'gamma', displayName: 'Gamma ID', issuer: another.issuer, clientId: another.clientId, clientSecret: { file: pathOf('gamma.secret') }, autoProvision: true },
            { id: 'down', displayName: 'Down ID', issuer: downAt, clientId: 'nobody', clientSecret: 'nothing', autoProvision: true },
          ],
        }),
        { 'gamma.secret': `${another.clientSecret}\n` },
      );
      stack = await startMcpTestStack({ kind, env: { UPSTREAM_PROVIDERS_FILE: file, ALPHA_SECRET: provisioning.clientSecret } });
      await Promise.all(
        [provisioning, closed, another].map((upstream, index) => upstream.attach(`${stack.baseUrl}/upstream/${['alpha', 'beta', 'gamma'][index]}/callback`)),
      );
      client = await registerClient(stack.baseUrl);
    });
    after(async () => {
      await stack?.close();
      await Promise.all([provisioning, closed, another].map((upstream) => upstream?.close()));
    });

    const start = () => new URL(authorizeUrl(stack.baseUrl, client, stack.mcpUrl));
    const identities = (issuer: string) => stack.db('upstream_identities').where({ issuer }).select('subject', 'account_id');

    it('the login page offers each upstream above the password form', async () => {
      const page = await browse(start(), { upstream: 'none' });
      expect(page.status).to.equal(200);
      const buttons = [...page.html.matchAll(/Sign in with ([^<]+)</g)].map((match) => match[1]);
      expect(buttons).to.deep.equal(['Alpha ID', 'Beta ID', 'Gamma ID', 'Down ID']);
      expect(page.html.indexOf('/upstream/alpha')).to.be.lessThan(page.html.indexOf('name="password"'));
    });

    it('MCP SDK client: signs in upstream (a new account), consents, calls a tool, and is disconnected', async () => {
      provisioning.next = { sub: 'alice', email: 'Alice@Example.test', email_verified: true };
      // The login page's first form is "Sign in with Alpha ID": the headless browser presses it.
      const oauth = new HeadlessOAuthProvider({ email: 'unused', password: 'unused' });
      const mcp = await connectMcpClient(stack.mcpUrl, oauth);
      const who = structured(await mcp.callTool({ name: 'whoami', arguments: {} }));
      expect(who.email).to.equal('alice@example.test');
      expect(await identities(provisioning.issuer)).to.deep.equal([{ subject: 'alice', account_id: who.accountId }]);
      const account = await findAccountById(stack.db, who.accountId);
      expect(account?.email).to.equal('alice@example.test');

      // The upstream sign-in started a session here too: the user disconnects the app on /account.
      const confirm = await fetch(`${stack.baseUrl}/account/disconnect-all`, { headers: { cookie: oauth.jar.header() } });
      const html = await confirm.text();
      expect(confirm.status, html).to.equal(200);
      oauth.jar.store(confirm);
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
      const disconnected = await fetch(`${stack.baseUrl}/account/disconnect-all`, {
        method: 'POST',
        headers: { cookie: oauth.jar.header(), origin: stack.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf }).toString(),
        redirect: 'manual',
      });
      expect(disconnected.status).to.be.oneOf([200, 303]);
      const after = await callTool(stack.mcpUrl, oauth.tokens()!.access_token, 'whoami');
      expect(after.status).to.equal(401);
      await mcp.close();
    });

    it('links by iss + sub: the same upstream user signs in to the same account, whatever its email now', async () => {
      provisioning.next = { sub: 'alice', email: 'alice.renamed@example.test', email_verified: true };
      const visit = await browse(start(), { upstream: 'alpha' });
      expect(visit.code, visit.html.slice(0, 300)).to.be.a('string');
      expect(await identities(provisioning.issuer)).to.have.length(1);
      expect(await stack.db('accounts').where({ email: 'alice.renamed@example.test' }).first()).to.equal(undefined);
    });

    it('the same sub and email at another upstream do not link to that account', async () => {
      another.next = { sub: 'alice', email: 'alice@example.test', email_verified: true };
      const accountsBefore = await stack.db('accounts').count({ n: '*' });
      const visit = await browse(start(), { upstream: 'gamma' });
      expectReadablePage(visit, 403, /An account with the email alice@example\.test exists here, but it is not linked to your Gamma ID identity/);
      expect(visit.html).to.match(/href="\/interaction\/[^"]+">Back to sign-in/);
      expect(await identities(another.issuer)).to.deep.equal([]);
      expect(await stack.db('accounts').count({ n: '*' })).to.deep.equal(accountsBefore);
    });

    it("an upstream email equal to a local account's does not link to it", async () => {
      const local = await createTestAccount(stack.db, 'local');
      provisioning.next = { sub: 'mallory', email: local.email, email_verified: true };
      const visit = await browse(start(), { upstream: 'alpha' });
      expectReadablePage(visit, 403, /is not linked to your Alpha ID identity/);
      expect((await identities(provisioning.issuer)).map((row) => row.subject)).to.deep.equal(['alice']);
    });

    it('an unverified upstream email makes no account', async () => {
      provisioning.next = { sub: 'carol', email: 'carol@example.test', email_verified: false };
      const visit = await browse(start(), { upstream: 'alpha' });
      expectReadablePage(visit, 403, /did not share a verified email address/);
      expect(await stack.db('accounts').where({ email: 'carol@example.test' }).first()).to.equal(undefined);
    });

    it('without auto-provisioning a new upstream user is refused, until an operator links an account', async () => {
      closed.next = { sub: 'dave', email: 'dave@example.test', email_verified: true };
      const refused = await browse(start(), { upstream: 'beta' });
      expectReadablePage(refused, 403, /There is no account here for your Beta ID identity/);
      expect(refused.html).to.match(/Ask the operator of this service/);
      expect(await stack.db('accounts').where({ email: 'dave@example.test' }).first()).to.equal(undefined);

      const account = await createPasswordlessAccount(stack.db, 'dave@example.test');
      await linkIdentity(stack.db, { issuer: closed.issuer, subject: 'dave', accountId: account!.id, upstreamId: 'beta' });
      const visit = await browse(start(), { upstream: 'beta' });
      expect(visit.code, visit.html.slice(0, 300)).to.be.a('string');
    });

    it('a disabled account is refused', async () => {
      provisioning.next = { sub: 'erin', email: 'erin@example.test', email_verified: true };
      expect((await browse(start(), { upstream: 'alpha' })).code).to.be.a('string');
      const [link] = await stack.db('upstream_identities').where({ issuer: provisioning.issuer, subject: 'erin' });
      await stack.revocation.disableAccount(link.account_id, { actor: { type: 'operator' } });
      const visit = await browse(start(), { upstream: 'alpha' });
      expectReadablePage(visit, 403, /The account linked to your identity is disabled/);
    });

    it('access_denied at the upstream: a readable page, and the same interaction can be retried', async () => {
      provisioning.next = 'deny';
      const jar = new CookieJar();
      const denied = await browse(start(), { upstream: 'alpha', jar });
      expectReadablePage(denied, 403, /Alpha ID did not sign you in \(access_denied\)/);
      const uid = interactionUidOf(denied)!;
      provisioning.next = { sub: 'alice', email: 'alice@example.test', email_verified: true };
      const retried = await browse(new URL(`/interaction/${uid}`, stack.baseUrl), { upstream: 'alpha', jar });
      expect(retried.code, retried.html.slice(0, 300)).to.be.a('string');
    });

    /** A sign-in whose callback URL is changed by `alter` before the browser visits it. */
    function withAlteredCallback(alter: (callback: URL) => URL | Promise<URL>, jar = new CookieJar()): Promise<Visit> {
      return browse(start(), { upstream: 'alpha', jar, route: (url) => (url.pathname === '/upstream/alpha/callback' ? alter(url) : url) });
    }

    it('an altered state: a readable page; the interaction is still good', async () => {
      provisioning.next = { sub: 'alice', email: 'alice@example.test', email_verified: true };
      const jar = new CookieJar();
      let uid: string | undefined;
      const visit = await browse(start(), {
        upstream: 'alpha',
        jar,
        route: (url) => {
          uid ??= /^\/interaction\/([^/]+)$/.exec(url.pathname)?.[1];
          if (url.pathname !== '/upstream/alpha/callback') return url;
          const altered = new URL(url);
          altered.searchParams.set('state', 'forged-state');
          return altered;
        },
      });
      expectReadablePage(visit, 400, /does not belong to a sign-in in progress/);
      const retried = await browse(new URL(`/interaction/${uid}`, stack.baseUrl), { upstream: 'alpha', jar });
      expect(retried.code, retried.html.slice(0, 300)).to.be.a('string');
    });

    it('an altered iss (RFC 9207): a readable page', async () => {
      const visit = await withAlteredCallback((url) => {
        const altered = new URL(url);
        altered.searchParams.set('iss', another.issuer);
        return altered;
      });
      expectReadablePage(visit, 502, /The answer from Alpha ID failed a security check/);
      expect(visit.html).to.match(/Back to sign-in/);
    });

    it('an ID token with another nonce: a readable page', async () => {
      const visit = await withAlteredCallback(async (url) => {
        await stack.db('upstream_sign_ins').update({ nonce: 'not-the-nonce-sent' });
        return url;
      });
      expectReadablePage(visit, 502, /failed a security check/);
    });

    it('the callback in a browser that did not start the sign-in: a readable page', async () => {
      const visit = await withAlteredCallback((url) => {
        throw Object.assign(new Error('stop'), { callback: url });
      }).catch((error: { callback?: URL }) => error.callback);
      const elsewhere = await fetch(visit as URL, { redirect: 'manual' });
      const html = await elsewhere.text();
      expectReadablePage({ status: elsewhere.status, html, url: visit as URL }, 400, /started in another browser or tab/);
    });

    it('a callback is answered once only', async () => {
      let callback: URL | undefined;
      const jar = new CookieJar();
      const first = await withAlteredCallback((url) => (callback = url), jar);
      expect(first.code).to.be.a('string');
      const replay = await fetch(callback!, { redirect: 'manual', headers: { cookie: jar.header() } });
      expectReadablePage({ status: replay.status, html: await replay.text(), url: callback! }, 400, /expired, was used already, or was altered/);
    });

    it('an upstream that is down: a readable page with the way back', async () => {
      const visit = await browse(start(), { upstream: 'down' });
      expectReadablePage(visit, 502, /Down ID could not be reached/);
      expect(visit.html).to.match(/Back to sign-in/);
    });

    /** Presses "Sign in with <upstream>" on the /account sign-in page and follows through. */
    async function accountSignIn(upstream: string, jar: CookieJar): Promise<Visit> {
      const home = await fetch(`${stack.baseUrl}/account`, { headers: { cookie: jar.header() } });
      jar.store(home);
      const html = await home.text();
      expect(html).to.include(`action="/account/upstream/${upstream}"`);
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
      const started = await fetch(`${stack.baseUrl}/account/upstream/${upstream}`, {
        method: 'POST',
        headers: { cookie: jar.header(), origin: stack.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf }).toString(),
        redirect: 'manual',
      });
      jar.store(started);
      expect(started.status).to.equal(303);
      return browse(new URL(started.headers.get('location')!), { upstream: 'none', jar, jarHost: new URL(stack.baseUrl).host });
    }

    it('on /account: "Sign in with …" starts a session there, showing the connected apps', async () => {
      provisioning.next = { sub: 'alice', email: 'alice@example.test', email_verified: true };
      const jar = new CookieJar();
      const visit = await accountSignIn('alpha', jar);
      expect(visit.status, visit.html.slice(0, 300)).to.equal(200);
      expect(visit.url.pathname).to.equal('/account');
      expect(visit.html).to.include('alice@example.test').and.include('/account/sign-out');
    });

    it('on /account: a refusal is a readable page leading back to /account', async () => {
      closed.next = { sub: 'frank', email: 'frank@example.test', email_verified: true };
      const visit = await accountSignIn('beta', new CookieJar());
      expectReadablePage(visit, 403, /There is no account here for your Beta ID identity/);
      expect(visit.html).to.include('href="/account">Back to sign-in');
    });

    it('on /account: the start needs the form\'s CSRF token', async () => {
      const forged = await fetch(`${stack.baseUrl}/account/upstream/alpha`, {
        method: 'POST',
        headers: { origin: stack.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
        redirect: 'manual',
      });
      expect(forged.status).to.equal(403);
      expect(forged.headers.get('location')).to.equal(null);
    });

    it('the callback route has one spelling (canonical path gate), and unknown upstreams are 404', async () => {
      for (const path of ['/Upstream/alpha/callback', '/upstream/alpha/callback/', '/upstream/ALPHA/callback', '/upstream//callback']) {
        expect((await fetch(`${stack.baseUrl}${path}?state=x`)).status, path).to.equal(404);
      }
      expect((await fetch(`${stack.baseUrl}/upstream/nope/callback?state=x`)).status).to.equal(404);
    });
  });
}
