// Self-service accounts in a real browser (headless Chromium, playwright-core), with mail over SMTP to
// a server the test starts: sign-up from an app's login page -> verification mail -> confirm -> sign
// in -> consent -> a working token; "Delete my account" then kills that token and erases the account;
// forgotten password -> mail -> reset, the old password, the used link and an expired link refused;
// sign-up by invitation. Every page shows the configured brand (name, logo, colour), never "Portcullis".
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { findAccountByEmail } from '../../src/storage/account_store.ts';
import { inviteAccount } from '../../src/accounts/self_service.ts';
import { issueAccountToken } from '../../src/storage/account_token_store.ts';
import { listAudit } from '../../src/storage/audit_store.ts';
import { browserAuthorization, type CallbackListener, launchChromium, startCallbackListener } from '../support/browser.ts';
import { type MailCapture, startMailCapture } from '../support/mail_capture.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { pkcePair, refresh, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const BRAND = { BRAND_NAME: 'Acme Notes', BRAND_PRIMARY_COLOR: '#aa3300', BRAND_LOGO_URL: 'https://logo.invalid/acme.png', BRAND_SUPPORT_URL: 'mailto:help@acme.example' };
const NEW_PASSWORD = 'a fresh new passphrase';

let counter = 0;
function uniqueEmail(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}-${Date.now()}@example.test`;
}

describe('self-service accounts in a browser (Chromium)', function () {
  this.timeout(120_000);

  let mail: MailCapture;
  let stack: McpTestStack;
  let invitations: TestServer;
  let browser: Browser;
  let callback: CallbackListener;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    mail = await startMailCapture();
    const env = { ...BRAND, SMTP_URL: mail.url };
    [stack, invitations, callback] = await Promise.all([
      startMcpTestStack({ env: { ...env, SIGNUP: 'open' } }),
      startTestServer({ env: { ...env, SIGNUP: 'invite' } }),
      startCallbackListener(),
    ]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    callback?.close();
    await stack?.close();
    await invitations?.close();
    await mail?.close();
  });

  /** CSP violations reported on the console by any page; each test expects none. */
  let consoleErrors: string[] = [];
  beforeEach(() => {
    consoleErrors = [];
  });
  afterEach(function () {
    if (this.currentTest?.state === 'passed') expect(consoleErrors, 'browser console errors').to.deep.equal([]);
  });

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    context.on('console', (message) => {
      if (message.type() === 'error' && /Content.Security.Policy/i.test(message.text())) consoleErrors.push(message.text());
    });
    return context;
  }

  /** The brand on this page: title, header, logo, support link and the primary colour on the buttons. */
  async function expectBranded(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `self-service-${name}.png`), fullPage: true });
    expect(await page.title(), name).to.match(/ · Acme Notes$/);
    expect(await page.locator('.brand').textContent(), name).to.equal('Acme Notes');
    expect(await page.locator('.brand img').getAttribute('src'), name).to.equal(BRAND.BRAND_LOGO_URL);
    expect(await page.getByRole('link', { name: 'Help and support' }).getAttribute('href'), name).to.equal(BRAND.BRAND_SUPPORT_URL);
    expect(await page.content(), name).to.not.include('Portcullis');
    const accent = await page.evaluate<string>("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()");
    expect(accent, name).to.equal('#aa3300');
  }

  const authorizeUrl = (client: RegisteredClient, challenge: string) => browserAuthorization(stack, callback).authorizeUrl(client, challenge);
  const exchange = (client: RegisteredClient, code: string, verifier: string) => browserAuthorization(stack, callback).exchange(client, code, verifier);

  /** Opens the link of the next mail to `email` in a new tab of `context`. */
  async function openMailedLink(context: BrowserContext, email: string, subject: RegExp): Promise<{ page: Page; link: string }> {
    const received = await mail.next(email);
    expect(received.subject).to.match(subject);
    const link = mail.linkIn(received);
    const page = await context.newPage();
    await page.goto(link);
    return { page, link };
  }

  it('signs up from the login page, confirms the mailed link, signs in, consents; deleting the account then kills the token and the data', async () => {
    const client = await registerClient(stack.baseUrl, { client_name: 'Notes Assistant', redirect_uris: [callback.url] });
    const { verifier, challenge } = pkcePair();
    const email = uniqueEmail('newcomer');
    const context = await newContext();
    const page = await context.newPage();

    await page.goto(authorizeUrl(client, challenge));
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectBranded(page, '01-login');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    await expectBranded(page, '02-sign-up');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
    await page.getByLabel('Password again').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await expectBranded(page, '03-check-mail');

    // Signing in before confirming is refused (and the link is sent again).
    await page.getByRole('link', { name: 'Back to sign in' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).to.include('Confirm your email address first');

    const { page: confirm } = await openMailedLink(context, email, /^Confirm your email address for Acme Notes$/);
    await expectBranded(confirm, '04-confirm-email');
    await confirm.getByRole('button', { name: 'Confirm my email address' }).click();
    await confirm.getByRole('heading', { name: 'Email address confirmed' }).waitFor();
    await expectBranded(confirm, '05-email-confirmed');
    await confirm.close();

    // Back in the app's tab: sign in, consent, a working token.
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Authorize Notes Assistant' }).waitFor();
    await expectBranded(page, '06-consent');
    const codeArrives = callback.nextCode();
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await exchange(client, await codeArrives, verifier);
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
    const account = (await findAccountByEmail(stack.db, email))!;
    // A pending reset link too: deleting the account must take it along.
    await issueAccountToken(stack.db, 'reset-password', { accountId: account.id }, 600);
    expect(await stack.db('account_tokens').where({ account_id: account.id })).to.have.length(1);

    // Delete my account: the password again (a wrong one first), then everything goes at once.
    await page.goto(`${stack.baseUrl}/account`);
    await expectBranded(page, '07-account');
    await page.getByRole('link', { name: 'Delete my account' }).click();
    await page.getByRole('heading', { name: 'Delete your account?' }).waitFor();
    await expectBranded(page, '08-confirm-delete');
    await page.getByLabel('Your password, to confirm').fill('not my password');
    await page.getByRole('button', { name: 'Delete my account' }).click();
    expect(await page.getByRole('alert').textContent()).to.include('not your password');
    expect(await findAccountByEmail(stack.db, email)).to.not.equal(undefined);
    await page.getByLabel('Your password, to confirm').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('heading', { name: 'Account deleted' }).waitFor();
    await expectBranded(page, '09-deleted');
    expect(await page.getByRole('status').textContent()).to.include('1 app authorization').and.include('1 access token');

    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(401);
    expect((await refresh(stack.baseUrl, client, tokens.refresh_token!)).body.error).to.equal('invalid_grant');
    expect(await findAccountByEmail(stack.db, email)).to.equal(undefined);
    expect(await stack.db('account_tokens').where({ account_id: account.id })).to.deep.equal([]);
    // Audited as the user's own act, with no personal data in the record.
    const [record] = (await listAudit(stack.db, { limit: 50 })).filter((entry) => entry.action === 'delete_account' && entry.target.accountId === account.id);
    expect(record?.actor).to.deep.equal({ type: 'user', id: account.id });
    expect(JSON.stringify(record)).to.not.include(email);
    // The browser is signed out: /account asks to sign in, and the old credentials fail.
    await page.goto(`${stack.baseUrl}/account`);
    await page.getByRole('heading', { name: 'Sign in to your account' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).to.include('Wrong email or password');
    await context.close();
  });

  it('resets a forgotten password by the mailed link; the old password, the used link and an expired link are refused', async () => {
    const account = await createTestAccount(stack.db, 'forgetful');
    const context = await newContext();
    const page = await context.newPage();

    await page.goto(`${stack.baseUrl}/account`);
    await expectBranded(page, '10-account-sign-in');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    await expectBranded(page, '11-forgot');
    await page.getByLabel('Email').fill(account.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();

    const { page: reset, link } = await openMailedLink(context, account.email, /^Reset your Acme Notes password$/);
    await reset.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await expectBranded(reset, '12-reset');
    await reset.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await reset.getByLabel('New password again').fill(NEW_PASSWORD);
    await reset.getByRole('button', { name: 'Set the new password' }).click();
    await reset.getByRole('heading', { name: 'Password changed' }).waitFor();
    await expectBranded(reset, '13-reset-done');

    // The used link is refused.
    await reset.goto(link);
    await reset.getByRole('heading', { name: 'This link does not work' }).waitFor();
    await expectBranded(reset, '14-link-refused');

    // The old password is refused, the new one works.
    await reset.getByRole('link', { name: 'Back to sign in' }).click();
    await reset.getByLabel('Email').fill(account.email);
    await reset.getByLabel('Password').fill(TEST_PASSWORD);
    await reset.getByRole('button', { name: 'Sign in' }).click();
    expect(await reset.getByRole('alert').textContent()).to.include('Wrong email or password');
    await reset.getByLabel('Password').fill(NEW_PASSWORD);
    await reset.getByRole('button', { name: 'Sign in' }).click();
    await reset.getByRole('heading', { name: 'Connected apps' }).waitFor();

    // An expired link is refused.
    await page.goto(`${stack.baseUrl}/account/forgot-password`);
    await page.getByLabel('Email').fill(account.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    const second = await mail.next(account.email);
    await stack.db('account_tokens').where({ account_id: account.id }).update({ expires_at: new Date(Date.now() - 1000) });
    await page.goto(mail.linkIn(second));
    await page.getByRole('heading', { name: 'This link does not work' }).waitFor();
    await context.close();
  });

  it('signs up by invitation only: the invited address, then a verified sign-in', async () => {
    const email = uniqueEmail('invited');
    const context = await newContext();
    const page = await context.newPage();

    await page.goto(`${invitations.baseUrl}/account/sign-up`);
    await page.getByRole('heading', { name: 'Sign-up is by invitation' }).waitFor();
    await page.goto(`${invitations.baseUrl}/account`);
    expect(await page.getByRole('link', { name: 'Create an account' }).count()).to.equal(0);

    const invitation = await inviteAccount(invitations.db, invitations.config.issuer, email);
    await page.goto(invitation.link);
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    await expectBranded(page, '15-invited-sign-up');
    expect(await page.getByLabel('Email').inputValue()).to.equal(email);
    expect(await page.getByLabel('Email').getAttribute('readonly')).to.not.equal(null);
    await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
    await page.getByLabel('Password again').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();

    const { page: confirm } = await openMailedLink(context, email, /^Confirm your email address for Acme Notes$/);
    await confirm.getByRole('button', { name: 'Confirm my email address' }).click();
    await confirm.getByRole('heading', { name: 'Email address confirmed' }).waitFor();
    await confirm.getByRole('link', { name: 'Back to sign in' }).click();
    await confirm.getByLabel('Email').fill(email);
    await confirm.getByLabel('Password').fill(TEST_PASSWORD);
    await confirm.getByRole('button', { name: 'Sign in' }).click();
    await confirm.getByRole('heading', { name: 'Connected apps' }).waitFor();

    // The invitation worked once.
    await page.goto(invitation.link);
    await page.getByRole('heading', { name: 'This link does not work' }).waitFor();
    await context.close();
  });

  it('shows the brand on the error page too', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${stack.baseUrl}/interaction/not-a-real-interaction`);
    await page.getByRole('heading', { name: 'Something went wrong' }).waitFor();
    await expectBranded(page, '16-error');
    await context.close();
  });
});
