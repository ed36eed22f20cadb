// The operator's choices around upstream sign-in on a running server: PASSWORD_SIGN_IN=false leaves
// only the upstream buttons (and refuses a password posted anyway); the upstream routes count in the
// per-address authorization limit (RATE_LIMIT_AUTHORIZE), like /authorize.
import { expect } from 'chai';
import { authorizeUrl, CookieJar, registerClient } from '../support/oauth_flow.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';
import { browse, interactionUidOf } from './browser.ts';
import { writeProvidersFile } from './providers_file.ts';

describe('login options with upstream providers', () => {
  let server: TestServer;

  before(async () => {
    const file = writeProvidersFile(() => ({
      providers: [{ id: 'corp', displayName: 'Corp SSO', issuer: 'http://127.0.0.1:9', clientId: 'portcullis', clientSecret: 'secret' }],
    }));
    server = await startTestServer({ env: { UPSTREAM_PROVIDERS_FILE: file, PASSWORD_SIGN_IN: 'false', RATE_LIMIT_AUTHORIZE: '5' } });
  });
  after(() => server.close());

  it('PASSWORD_SIGN_IN=false: the login page has no password form, and a posted password is refused', async () => {
    const account = await createTestAccount(server.db);
    const client = await registerClient(server.baseUrl);
    const jar = new CookieJar();
    const page = await browse(new URL(authorizeUrl(server.baseUrl, client, server.config.resource)), { upstream: 'none', jar });
    expect(page.status).to.equal(200);
    expect(page.html).to.include('Sign in with Corp SSO');
    expect(page.html).not.to.include('name="password"');
    const uid = interactionUidOf(page)!;
    const posted = await fetch(`${server.baseUrl}/interaction/${uid}/login`, {
      method: 'POST',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: account.email, password: TEST_PASSWORD }).toString(),
      redirect: 'manual',
    });
    expect(posted.status).to.equal(403);
    expect(await posted.text()).to.include('Password sign-in is turned off here.');
  });

  it('the callback is rate limited per address (429 with Retry-After)', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      const response = await fetch(`${server.baseUrl}/upstream/corp/callback?state=guess-${attempt}&code=x`);
      statuses.push(response.status);
      if (response.status === 429) expect(Number(response.headers.get('retry-after'))).to.be.greaterThan(0);
    }
    // The test above spent one of the five on /authorize.
    expect(statuses.filter((status) => status === 400).length).to.be.within(3, 5);
    expect(statuses.at(-1)).to.equal(429);
  });
});
