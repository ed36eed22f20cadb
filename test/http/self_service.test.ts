// Self-service accounts over HTTP (no browser): sign-up and email verification, forgotten password,
// invitations, the mail limits, CSRF, no email enumeration, links stored only as hashes, and the
// settings that turn each page on. Mail goes over real SMTP to a server the test starts.
import { Writable } from 'node:stream';
import { expect } from 'chai';
import request from 'supertest';
import { authenticate, findAccountByEmail } from '../../src/storage/account_store.ts';
import { inviteAccount } from '../../src/accounts/self_service.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { productionProblems } from '../../src/production_policy.ts';
import { CLOCK_TOLERANCE } from '../../src/provider/configuration.ts';
import { issueAccountToken } from '../../src/storage/account_token_store.ts';
import { purgeExpired } from '../../src/storage/janitor.ts';
import { type MailCapture, startMailCapture } from '../support/mail_capture.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

type Agent = ReturnType<typeof request.agent>;

const NEW_PASSWORD = 'a fresh new passphrase';

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no csrf field on the page');
  return match[1]!;
}

let counter = 0;
function uniqueEmail(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}-${Date.now()}@example.test`;
}

/** The path and query of a mailed link (the agent talks to the same server). */
function pathOf(link: string): string {
  const url = new URL(link);
  return `${url.pathname}${url.search}`;
}

describe('self-service accounts (HTTP)', function () {
  this.timeout(60_000);
  let mail: MailCapture;
  let server: TestServer;

  before(async () => {
    mail = await startMailCapture();
    server = await startTestServer({
      env: { SIGNUP: 'open', SMTP_URL: mail.url, RATE_LIMIT_ACCOUNT_MAIL_PER_ADDRESS: '1000', BRAND_NAME: 'Acme Notes' },
    });
  });
  after(async () => {
    await server?.close();
    await mail?.close();
  });

  async function formOn(agent: Agent, path: string): Promise<string> {
    return csrfOf((await agent.get(path).expect(200)).text);
  }

  async function signUp(agent: Agent, email: string, password = TEST_PASSWORD) {
    const csrf = await formOn(agent, '/account/sign-up');
    return agent.post('/account/sign-up').type('form').send({ csrf, email, new_password: password, confirm_password: password });
  }

  async function signInStatus(agent: Agent, email: string, password: string): Promise<number> {
    const csrf = await formOn(agent, '/account');
    return (await agent.post('/account/sign-in').type('form').send({ csrf, email, password })).status;
  }

  it('signs up an unverified account, mails the link, refuses sign-in until the link is used, then signs in', async () => {
    const agent = request.agent(server.baseUrl);
    const email = uniqueEmail('signup');
    const answer = await signUp(agent, email);
    expect(answer.status).to.equal(200);
    expect(answer.text).to.include('Check your email');
    const verification = await mail.next(email);
    expect(verification.subject).to.equal('Confirm your email address for Acme Notes');
    expect((await findAccountByEmail(server.db, email))?.emailVerified).to.equal(false);

    // The right password is not enough yet; the link is sent again.
    expect(await signInStatus(agent, email, TEST_PASSWORD)).to.equal(403);
    const again = await mail.next(email);

    // Opening the link shows a button; the POST uses the link up.
    const link = pathOf(mail.linkIn(verification));
    const page = await agent.get(link).expect(200);
    expect(page.text).to.include('Confirm my email address');
    const token = new URL(link, server.baseUrl).searchParams.get('token')!;
    const confirmed = await agent.post('/account/verify-email').type('form').send({ csrf: csrfOf(page.text), token }).expect(200);
    expect(confirmed.text).to.include('Email address confirmed');
    expect((await findAccountByEmail(server.db, email))?.emailVerified).to.equal(true);
    // Used once, and the other link died with it.
    await agent.post('/account/verify-email').type('form').send({ csrf: csrfOf(page.text), token }).expect(400);
    const otherToken = new URL(mail.linkIn(again)).searchParams.get('token')!;
    await agent.post('/account/verify-email').type('form').send({ csrf: csrfOf(page.text), token: otherToken }).expect(400);

    expect(await signInStatus(agent, email, TEST_PASSWORD)).to.equal(303);
  });

  it('answers a sign-up with a taken address as any other, and mails its owner instead of creating anything', async () => {
    const existing = await createTestAccount(server.db, 'taken');
    const agent = request.agent(server.baseUrl);
    const answer = await signUp(agent, existing.email, 'another password here');
    expect(answer.status).to.equal(200);
    expect(answer.text).to.include('Check your email').and.include(`We have sent a link to ${existing.email}`);
    const notice = await mail.next(existing.email);
    expect(notice.subject).to.equal('You already have a Acme Notes account');
    expect(await authenticate(server.db, existing.email, 'another password here')).to.equal(undefined);
    expect(await authenticate(server.db, existing.email, TEST_PASSWORD)).to.not.equal(undefined);
  });

  it('refuses bad sign-up input with a readable page', async () => {
    const agent = request.agent(server.baseUrl);
    expect((await signUp(agent, 'not-an-email')).status).to.equal(400);
    const short = await signUp(agent, uniqueEmail('short'), 'short');
    expect(short.status).to.equal(400);
    expect(short.text).to.include('password must be at least 8 characters');
    const csrf = await formOn(agent, '/account/sign-up');
    const mismatch = await agent
      .post('/account/sign-up')
      .type('form')
      .send({ csrf, email: uniqueEmail('mismatch'), new_password: TEST_PASSWORD, confirm_password: `${TEST_PASSWORD}!` });
    expect(mismatch.status).to.equal(400);
    expect(mismatch.text).to.include('do not match');
  });

  it('refuses the self-service forms without this browser\'s CSRF token or from another site', async () => {
    const agent = request.agent(server.baseUrl);
    const csrf = await formOn(agent, '/account/forgot-password');
    const email = uniqueEmail('csrf');
    const signUpFields = { email, new_password: TEST_PASSWORD, confirm_password: TEST_PASSWORD };
    await agent.post('/account/sign-up').type('form').send(signUpFields).expect(403);
    await request(server.baseUrl).post('/account/sign-up').type('form').send({ ...signUpFields, csrf }).expect(403);
    await agent.post('/account/sign-up').set('Origin', 'https://evil.example').type('form').send({ ...signUpFields, csrf }).expect(403);
    await agent.post('/account/forgot-password').type('form').send({ email }).expect(403);
    await agent.post('/account/forgot-password').set('Sec-Fetch-Site', 'cross-site').type('form').send({ csrf, email }).expect(403);
    await agent.post('/account/reset-password').type('form').send({ token: 'x', new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD }).expect(403);
    await agent.post('/account/verify-email').type('form').send({ token: 'x' }).expect(403);
    expect(await findAccountByEmail(server.db, email)).to.equal(undefined);
  });

  it('answers a reset request for an unknown address exactly as for a known one, and mails only the known one', async () => {
    const known = await createTestAccount(server.db, 'known');
    const unknown = uniqueEmail('nobody');
    const answers = [];
    for (const email of [known.email, unknown]) {
      const agent = request.agent(server.baseUrl);
      const csrf = await formOn(agent, '/account/forgot-password');
      const answer = await agent.post('/account/forgot-password').type('form').send({ csrf, email });
      answers.push({ status: answer.status, text: answer.text.replace(email, 'EMAIL') });
    }
    expect(answers[0]).to.deep.equal(answers[1]);
    expect(answers[0]!.status).to.equal(200);
    expect((await mail.next(known.email)).subject).to.equal('Reset your Acme Notes password');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mail.mails.filter((sent) => sent.to.includes(unknown))).to.deep.equal([]);
  });

  async function requestReset(email: string): Promise<string> {
    const agent = request.agent(server.baseUrl);
    const csrf = await formOn(agent, '/account/forgot-password');
    await agent.post('/account/forgot-password').type('form').send({ csrf, email }).expect(200);
    return mail.linkIn(await mail.next(email));
  }

  async function useReset(link: string, password = NEW_PASSWORD) {
    const agent = request.agent(server.baseUrl);
    const page = await agent.get(pathOf(link));
    if (page.status !== 200) return page;
    const token = new URL(link).searchParams.get('token')!;
    return agent.post('/account/reset-password').type('form').send({ csrf: csrfOf(page.text), token, new_password: password, confirm_password: password });
  }

  it('resets the password by a single-use link stored only as a hash; the old password and the used link are refused', async () => {
    const account = await createTestAccount(server.db, 'reset');
    const link = await requestReset(account.email);
    const token = new URL(link).searchParams.get('token')!;
    // Nothing in the table opens the link: only the SHA-256 of the value is there.
    const rows = await server.db('account_tokens').select('*');
    expect(JSON.stringify(rows)).to.not.include(token);
    expect(rows.some((row: { account_id: string; purpose: string }) => row.account_id === account.id && row.purpose === 'reset-password')).to.equal(true);

    const done = await useReset(link);
    expect(done.status).to.equal(200);
    expect(done.text).to.include('Password changed');
    expect(await authenticate(server.db, account.email, TEST_PASSWORD)).to.equal(undefined);
    expect(await authenticate(server.db, account.email, NEW_PASSWORD)).to.not.equal(undefined);
    expect((await useReset(link, 'yet another passphrase')).status).to.equal(400);
    expect(await authenticate(server.db, account.email, NEW_PASSWORD)).to.not.equal(undefined);
  });

  it('refuses an expired reset link', async () => {
    const account = await createTestAccount(server.db, 'expired');
    const link = await requestReset(account.email);
    await server.db('account_tokens').where({ account_id: account.id }).update({ expires_at: new Date(Date.now() - 1000) });
    const answer = await useReset(link);
    expect(answer.status).to.equal(400);
    expect(answer.text).to.include('This link does not work');
    expect(await authenticate(server.db, account.email, TEST_PASSWORD)).to.not.equal(undefined);
  });

  it('sends no reset link to a disabled account', async () => {
    const account = await createTestAccount(server.db, 'disabled');
    await server.revocation.disableAccount(account.id, { actor: { type: 'operator', id: 'test' } });
    const agent = request.agent(server.baseUrl);
    const csrf = await formOn(agent, '/account/forgot-password');
    await agent.post('/account/forgot-password').type('form').send({ csrf, email: account.email }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mail.mails.filter((sent) => sent.to.includes(account.email))).to.deep.equal([]);
  });

  it('the janitor purges expired links', async () => {
    const account = await createTestAccount(server.db, 'janitor');
    await issueAccountToken(server.db, 'verify-email', { accountId: account.id }, 600);
    await issueAccountToken(server.db, 'reset-password', { accountId: account.id }, 600);
    await server.db('account_tokens').where({ account_id: account.id, purpose: 'verify-email' }).update({ expires_at: new Date(Date.now() - 60_000) });
    const purged = await purgeExpired(server.db, CLOCK_TOLERANCE);
    expect(purged.accountTokens).to.be.at.least(1);
    expect((await server.db('account_tokens').where({ account_id: account.id })).map((row: { purpose: string }) => row.purpose)).to.deep.equal(['reset-password']);
  });

  it('links to sign-up and the forgotten-password form from both sign-in forms, and shows the brand', async () => {
    const page = await request(server.baseUrl).get('/account').expect(200);
    expect(page.text).to.include('href="/account/sign-up"').and.include('href="/account/forgot-password"');
    expect(page.text).to.include('<title>Sign in to your account · Acme Notes</title>').and.not.include('Portcullis');
  });
});

describe('self-service settings', function () {
  this.timeout(60_000);

  it('keeps sign-up and password reset off by default (404, no links)', async () => {
    const server = await startTestServer();
    try {
      await request(server.baseUrl).get('/account/sign-up').expect(404);
      await request(server.baseUrl).get('/account/forgot-password').expect(404);
      await request(server.baseUrl).get('/account/reset-password?token=x').expect(404);
      const page = await request(server.baseUrl).get('/account').expect(200);
      expect(page.text).to.not.include('/account/sign-up').and.not.include('/account/forgot-password');
      expect(page.text).to.include('· Portcullis</title>');
    } finally {
      await server.close();
    }
  });

  it('without SMTP_URL outside production, writes each mail (link included) to the log instead', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const server = await startTestServer({ env: { SIGNUP: 'open' }, logger: createLogger('warn', sink) });
    try {
      const agent = request.agent(server.baseUrl);
      const email = uniqueEmail('devmail');
      const csrf = csrfOf((await agent.get('/account/sign-up').expect(200)).text);
      await agent.post('/account/sign-up').type('form').send({ csrf, email, new_password: TEST_PASSWORD, confirm_password: TEST_PASSWORD }).expect(200);
      let logged: { mail?: { to: string; text: string } } | undefined;
      for (let attempt = 0; attempt < 50 && !logged; attempt += 1) {
        logged = lines.map((line) => JSON.parse(line) as { mail?: { to: string; text: string } }).find((line) => line.mail?.to === email);
        if (!logged) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(logged?.mail?.text).to.include(`${server.baseUrl}/account/verify-email?token=`);
    } finally {
      await server.close();
    }
  });

  it('production refuses sign-up or password reset without SMTP_URL; BRAND_* values are validated', () => {
    const production = {
      NODE_ENV: 'production',
      ISSUER: 'https://auth.example.com',
      TRUST_PROXY: '1',
      MCP_RESOURCE: 'https://mcp.example.com/mcp',
      REGISTRATION_OPEN: 'true',
    };
    expect(productionProblems(loadConfig(production))).to.deep.equal([]);
    expect(productionProblems(loadConfig({ ...production, SIGNUP: 'open' })).join()).to.include('SMTP_URL must be set');
    expect(productionProblems(loadConfig({ ...production, PASSWORD_RESET: 'true' })).join()).to.include('SMTP_URL must be set');
    expect(productionProblems(loadConfig({ ...production, SIGNUP: 'invite', SMTP_URL: 'smtp://mail.example.com:587' }))).to.deep.equal([]);
    expect(loadConfig({ SMTP_URL: 'smtp://mail.example.com' }).selfService.passwordReset).to.equal(true);
    expect(loadConfig({}).selfService).to.deep.equal({ signup: 'off', passwordReset: false });
    expect(() => loadConfig({ BRAND_LOGO_URL: 'http://example.com/logo.png' })).to.throw(/BRAND_LOGO_URL: must be an https/);
    expect(() => loadConfig({ BRAND_LOGO_URL: 'data:image/png;base64,AAAA' })).to.throw(/BRAND_LOGO_URL/);
    expect(() => loadConfig({ BRAND_PRIMARY_COLOR: 'red; background: url(x)' })).to.throw(/BRAND_PRIMARY_COLOR/);
    expect(() => loadConfig({ BRAND_NAME: '<script>' })).to.throw(/BRAND_NAME/);
    expect(() => loadConfig({ SIGNUP: 'yes' })).to.throw(/SIGNUP/);
  });
});

describe('sign-up by invitation (HTTP)', function () {
  this.timeout(60_000);
  let mail: MailCapture;
  let server: TestServer;

  before(async () => {
    mail = await startMailCapture();
    server = await startTestServer({ env: { SIGNUP: 'invite', SMTP_URL: mail.url } });
  });
  after(async () => {
    await server?.close();
    await mail?.close();
  });

  it('takes no sign-up without an invitation, creates the invited address once, then refuses the used link', async () => {
    const agent = request.agent(server.baseUrl);
    const refused = await agent.get('/account/sign-up').expect(404);
    expect(refused.text).to.include('Sign-up is by invitation');
    // Without an invitation the form field is ignored: nothing is created.
    const csrf = csrfOf((await agent.get('/account/forgot-password').expect(200)).text);
    const stranger = uniqueEmail('stranger');
    await agent.post('/account/sign-up').type('form').send({ csrf, email: stranger, new_password: TEST_PASSWORD, confirm_password: TEST_PASSWORD }).expect(400);
    expect(await findAccountByEmail(server.db, stranger)).to.equal(undefined);

    const email = uniqueEmail('invited');
    const invitation = await inviteAccount(server.db, server.config.issuer, email);
    const token = new URL(invitation.link).searchParams.get('invitation')!;
    expect(JSON.stringify(await server.db('account_tokens').select('*'))).to.not.include(token);
    const form = await agent.get(pathOf(invitation.link)).expect(200);
    expect(form.text).to.include(`value="${email}" readonly`);
    const created = await agent
      .post('/account/sign-up')
      .type('form')
      .send({ csrf: csrfOf(form.text), invitation: token, email: stranger, new_password: TEST_PASSWORD, confirm_password: TEST_PASSWORD })
      .expect(200);
    expect(created.text).to.include('Check your email');
    expect(await findAccountByEmail(server.db, stranger)).to.equal(undefined);
    expect((await findAccountByEmail(server.db, email))?.emailVerified).to.equal(false);
    await mail.next(email);
    await agent.get(pathOf(invitation.link)).expect(400);
    await agent
      .post('/account/sign-up')
      .type('form')
      .send({ csrf: csrfOf(form.text), invitation: token, new_password: TEST_PASSWORD, confirm_password: TEST_PASSWORD })
      .expect(400);
  });

  it('invites nobody twice: an address with an account is refused', async () => {
    const existing = await createTestAccount(server.db, 'member');
    let error: unknown;
    await inviteAccount(server.db, server.config.issuer, existing.email).catch((caught: unknown) => (error = caught));
    expect(String(error)).to.include('already exists');
  });
});

describe('mail limits on the self-service forms', function () {
  this.timeout(60_000);
  let mail: MailCapture;
  let server: TestServer;

  before(async () => {
    mail = await startMailCapture();
    server = await startTestServer({
      env: { SIGNUP: 'open', SMTP_URL: mail.url, TRUST_PROXY: '1', RATE_LIMIT_ACCOUNT_MAIL_PER_RECIPIENT: '2', RATE_LIMIT_ACCOUNT_MAIL_PER_ADDRESS: '4' },
    });
  });
  after(async () => {
    await server?.close();
    await mail?.close();
  });

  async function forgot(email: string, address: string) {
    const agent = request.agent(server.baseUrl);
    const csrf = csrfOf((await agent.get('/account/forgot-password').expect(200)).text);
    return agent.post('/account/forgot-password').set('X-Forwarded-For', address).type('form').send({ csrf, email });
  }

  it('limits reset requests per recipient, known or not, the same way (429 with Retry-After)', async () => {
    const known = await createTestAccount(server.db, 'limited');
    const unknown = uniqueEmail('ghost');
    for (const email of [known.email, unknown]) {
      const statuses = [];
      for (let index = 0; index < 3; index += 1) statuses.push((await forgot(email, `198.51.100.${10 + index}`)).status);
      expect(statuses, email).to.deep.equal([200, 200, 429]);
    }
    const limited = await forgot(known.email, '198.51.100.99');
    expect(Number(limited.headers['retry-after'])).to.be.greaterThan(0);
    expect(limited.text).to.include('Too many requests');
    await mail.next(known.email);
    await mail.next(known.email);
  });

  it('limits mail-sending forms per client address across recipients, sign-up included', async () => {
    const address = '203.0.113.7';
    const statuses = [];
    for (let index = 0; index < 3; index += 1) statuses.push((await forgot(uniqueEmail('spray'), address)).status);
    const agent = request.agent(server.baseUrl);
    const csrf = csrfOf((await agent.get('/account/sign-up').expect(200)).text);
    for (let index = 0; index < 2; index += 1) {
      const email = uniqueEmail('spraysignup');
      const answer = await agent.post('/account/sign-up').set('X-Forwarded-For', address).type('form').send({ csrf, email, new_password: TEST_PASSWORD, confirm_password: TEST_PASSWORD });
      statuses.push(answer.status);
    }
    expect(statuses).to.deep.equal([200, 200, 200, 200, 429]);
    // Another address is not affected.
    expect((await forgot(uniqueEmail('other'), '203.0.113.8')).status).to.equal(200);
  });
});
