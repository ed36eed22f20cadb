// Sign-in with an upstream provider in a real browser (Chromium, Debian's package): the login page's
// "Sign in with …" button, the upstream (a node-oidc-provider the test starts, completing its own
// login), Portcullis's consent page, the code at the client's redirect URI; and an upstream refusal
// ending on a readable page whose "Back to sign-in" leads to the same login page. Screenshots go to
// test-artifacts/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Browser, chromium } from 'playwright-core';
import { authorizeUrl, REDIRECT_URI, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { writeProvidersFile } from '../federation/providers_file.ts';
import { listenUpstream, type TestUpstream } from '../federation/upstream_provider.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

describe('upstream sign-in in a browser (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let upstream: TestUpstream;
  let browser: Browser;
  let client: RegisteredClient;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (no browser is ever downloaded)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    upstream = await listenUpstream('alpha');
    const file = writeProvidersFile(() => ({
      providers: [{ id: 'alpha', displayName: 'Alpha ID', issuer: upstream.issuer, clientId: upstream.clientId, clientSecret: upstream.clientSecret, autoProvision: true }],
    }));
    server = await startTestServer({ env: { UPSTREAM_PROVIDERS_FILE: file } });
    await upstream.attach(`${server.baseUrl}/upstream/alpha/callback`);
    client = await registerClient(server.baseUrl, { client_name: 'Browser test app' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await upstream?.close();
  });

  async function openLoginPage() {
    const context = await browser.newContext();
    const page = await context.newPage();
    const codes: string[] = [];
    // The client's redirect URI answers in the test itself: the code is what the app would receive.
    await page.route(`${REDIRECT_URI}**`, async (route) => {
      codes.push(new URL(route.request().url()).searchParams.get('code') ?? '');
      await route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Connected</title><p>Connected.</p>' });
    });
    await page.goto(authorizeUrl(server.baseUrl, client, server.config.resource));
    return { context, page, codes };
  }

  it('signs in with the upstream, consents, and the app gets a code', async () => {
    upstream.next = { sub: 'browser-user', email: 'browser.user@example.test', email_verified: true };
    const { context, page, codes } = await openLoginPage();
    await page.getByRole('button', { name: 'Sign in with Alpha ID' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'upstream-login.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign in with Alpha ID' }).click();
    await page.getByRole('heading', { name: /Authorize Browser test app/ }).waitFor();
    expect(await page.textContent('main')).to.include('browser.user@example.test');
    await page.screenshot({ path: join(ARTIFACTS, 'upstream-consent.png'), fullPage: true });
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Connected.').waitFor();
    expect(codes).to.have.length(1);
    expect(codes[0]).to.be.a('string').and.not.equal('');
    await context.close();
  });

  it('an upstream refusal ends on a readable page, and "Back to sign-in" returns to the login page', async () => {
    upstream.next = 'deny';
    const { context, page } = await openLoginPage();
    await page.getByRole('button', { name: 'Sign in with Alpha ID' }).click();
    await page.getByRole('heading', { name: 'Sign-in not completed' }).waitFor();
    expect(await page.getByRole('alert').textContent()).to.equal('Alpha ID did not sign you in (access_denied).');
    await page.screenshot({ path: join(ARTIFACTS, 'upstream-refused.png'), fullPage: true });
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByRole('button', { name: 'Sign in with Alpha ID' }).waitFor();
    expect(await page.getByLabel('Password').isVisible()).to.equal(true);
    await context.close();
  });
});
