// The "Connected apps" pages in a real browser: headless Chromium (Debian's package, never a
// download) driven by playwright-core. An app is authorized through the real login and consent pages,
// listed on /account, disconnected with a confirm step; its access token then gets 401 at the MCP
// server and its refresh token invalid_grant. A screenshot of each page goes to test-artifacts/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserAuthorization, type CallbackListener, launchChromium, startCallbackListener } from '../support/browser.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { pkcePair, refresh, registerClient, type RegisteredClient, type TokenSet } from '../support/oauth_flow.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

describe('connected apps in a browser (Chromium)', function () {
  this.timeout(120_000);

  let stack: McpTestStack;
  let browser: Browser;
  let callback: CallbackListener;
  let account: { id: string; email: string };
  const started = Date.now();

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [stack, callback] = await Promise.all([startMcpTestStack(), startCallbackListener()]);
    account = await createTestAccount(stack.db, 'browser');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    callback?.close();
    await stack?.close();
    console.log(`      browser suite: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** CSP violations reported on the console by any page; each test expects none. */
  let consoleErrors: string[] = [];
  beforeEach(() => {
    consoleErrors = [];
  });
  afterEach(function () {
    if (this.currentTest?.state === 'passed') expect(consoleErrors, 'browser console errors').to.deep.equal([]);
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content.Security.Policy/i.test(message.text())) consoleErrors.push(message.text());
    });
    return { context, page };
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  const authorizeUrl = (client: RegisteredClient, challenge: string) => browserAuthorization(stack, callback).authorizeUrl(client, challenge);
  const exchange = (client: RegisteredClient, code: string, verifier: string) => browserAuthorization(stack, callback).exchange(client, code, verifier);

  it('authorizes an app through login and consent, lists it, disconnects it; its tokens then fail', async () => {
    const client = await registerClient(stack.baseUrl, { client_name: 'Notes Assistant', redirect_uris: [callback.url], client_uri: 'https://notes.example/' });
    const { verifier, challenge } = pkcePair();
    const { context, page } = await newPage();

    // Login page (the provider's interaction).
    await page.goto(authorizeUrl(client, challenge));
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Sign in');
    await shot(page, '01-login');
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Consent page.
    await page.getByRole('heading', { name: 'Authorize Notes Assistant' }).waitFor();
    expect(await page.locator('ul.scopes').textContent()).to.include('mcp:read').and.include('mcp:write');
    await shot(page, '02-consent');
    const codeArrives = callback.nextCode();
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await exchange(client, await codeArrives, verifier);
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);

    // The account page, on the same browser session: no second sign-in.
    await page.goto(`${stack.baseUrl}/account`);
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
    const app = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Notes Assistant' }) });
    const details = await app.textContent();
    expect(details).to.include(stack.mcpUrl).and.include('mcp:read').and.include('mcp:write').and.include('First authorized').and.include('Last used');
    expect(await app.getByRole('link', { name: 'https://notes.example/' }).count()).to.equal(1);
    await shot(page, '03-account');

    // Disconnect, with a confirm step; the keyboard reaches the button.
    await app.getByRole('link', { name: 'Disconnect' }).click();
    await page.getByRole('heading', { name: 'Disconnect Notes Assistant?' }).waitFor();
    await shot(page, '04-confirm-disconnect');
    await page.getByRole('button', { name: 'Disconnect Notes Assistant' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Notes Assistant is disconnected' }).waitFor();
    const status = await page.getByRole('status').textContent();
    expect(status).to.include('1 app authorization').and.include('1 access token').and.include('1 refresh token');
    await shot(page, '05-disconnected');

    // The app's next MCP call gets 401; its refresh token is dead.
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(401);
    const refreshed = await refresh(stack.baseUrl, client, tokens.refresh_token!);
    expect(refreshed.status).to.equal(400);
    expect(refreshed.body.error).to.equal('invalid_grant');

    await page.getByRole('link', { name: 'Back to connected apps' }).click();
    expect(await page.getByText('No apps are connected to your account.').isVisible()).to.equal(true);
    await context.close();
  });

  it('signs in on /account (then /authorize skips the login), changes the password, disconnects all, signs out', async () => {
    const user = await createTestAccount(stack.db, 'browser');
    const { context, page } = await newPage();

    await page.goto(`${stack.baseUrl}/account`);
    await shot(page, '06-account-sign-in');
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
    expect(await page.getByText('No apps are connected to your account.').isVisible()).to.equal(true);

    // Two apps, authorized in this browser: straight to consent, the session from /account is reused.
    const apps: { client: RegisteredClient; tokens: TokenSet }[] = [];
    for (const name of ['Calendar Helper', 'Notes Assistant']) {
      const client = await registerClient(stack.baseUrl, { client_name: name, redirect_uris: [callback.url] });
      const { verifier, challenge } = pkcePair();
      await page.goto(authorizeUrl(client, challenge));
      await page.getByRole('heading', { name: `Authorize ${name}` }).waitFor();
      const codeArrives = callback.nextCode();
      await page.getByRole('button', { name: 'Allow' }).click();
      apps.push({ client, tokens: await exchange(client, await codeArrives, verifier) });
    }
    await page.goto(`${stack.baseUrl}/account`);
    expect(await page.locator('li.app').count()).to.equal(2);

    // Change password (wrong current password first: an error bound to the form).
    await page.getByRole('link', { name: 'Change password' }).click();
    await shot(page, '07-change-password');
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
    await page.getByLabel('New password again').fill('a brand new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await page.getByRole('alert').textContent()).to.include('current password is not correct');
    await page.getByLabel('Current password').fill(TEST_PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
    await page.getByLabel('New password again').fill('a brand new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Password changed' }).waitFor();
    // Other browsers are signed out by default; apps are disconnected only when the box is ticked.
    expect(await page.getByRole('status').textContent()).to.include('signed out everywhere else').and.include('keep their access');
    await shot(page, '08-password-changed');

    // Disconnect all, with a confirm step listing both apps.
    await page.goto(`${stack.baseUrl}/account`);
    await page.getByRole('link', { name: 'Disconnect all apps' }).click();
    await page.getByRole('heading', { name: 'Disconnect all apps?' }).waitFor();
    expect(await page.locator('main').textContent()).to.include('Calendar Helper').and.include('Notes Assistant');
    await shot(page, '09-confirm-disconnect-all');
    await page.getByRole('button', { name: 'Disconnect all apps' }).click();
    await page.getByRole('heading', { name: 'All apps are disconnected' }).waitFor();
    expect(await page.getByRole('status').textContent()).to.include('2 app authorizations').and.include('2 refresh tokens');
    await shot(page, '10-all-disconnected');
    for (const { client, tokens } of apps) {
      expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(401);
      expect((await refresh(stack.baseUrl, client, tokens.refresh_token!)).body.error).to.equal('invalid_grant');
    }

    // Sign out ends the provider session: /account asks to sign in again, and the old password fails.
    await page.goto(`${stack.baseUrl}/account`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await shot(page, '11-signed-out');
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).to.include('Wrong email or password');
    await context.close();
  });
});
