// Another Portcullis as the upstream provider: discovery, a confidential client registered there by
// dynamic registration, its own password login and consent pages, and the email from its ID token.
import { expect } from 'chai';
import { availableKinds } from '../support/database.ts';
import { authorizeUrl, registerClient } from '../support/oauth_flow.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';
import { browse } from './browser.ts';
import { writeProvidersFile } from './providers_file.ts';
import { freePort } from './upstream_provider.ts';

for (const kind of availableKinds()) {
  describe(`another Portcullis as the upstream provider (${kind})`, function () {
    this.timeout(60_000);
    let upstream: TestServer;
    let server: TestServer;

    before(async () => {
      upstream = await startTestServer({ kind });
      const port = await freePort();
      const registered = await registerClient(upstream.baseUrl, {
        client_name: 'Portcullis downstream',
        redirect_uris: [`http://127.0.0.1:${port}/upstream/home/callback`],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'openid email',
      });
      const file = writeProvidersFile(() => ({
        providers: [
          {
            id: 'home',
            displayName: 'Home Portcullis',
            issuer: upstream.baseUrl,
            clientId: registered.client_id,
            clientSecret: registered.client_secret,
            autoProvision: true,
            // Portcullis does not verify email addresses (email_verified: false): trusted here by choice.
            requireVerifiedEmail: false,
          },
        ],
      }));
      server = await startTestServer({ kind, port, env: { UPSTREAM_PROVIDERS_FILE: file } });
    });
    after(async () => {
      await server?.close();
      await upstream?.close();
    });

    it('signs a person in with their account at the other Portcullis, making a linked account here', async () => {
      const person = await createTestAccount(upstream.db, 'upstream-person');
      const client = await registerClient(server.baseUrl);
      const visit = await browse(new URL(authorizeUrl(server.baseUrl, client, server.config.resource)), {
        upstream: 'home',
        credentials: { email: person.email, password: TEST_PASSWORD },
      });
      expect(visit.code, `${visit.status} ${visit.url} ${visit.html.slice(0, 400)}`).to.be.a('string');
      const [link] = await server.db('upstream_identities').select('issuer', 'subject', 'account_id');
      expect(link).to.include({ issuer: upstream.baseUrl, subject: person.id });
      const account = await server.db('accounts').where({ id: link.account_id }).first();
      expect(account.email).to.equal(person.email);
      expect(account.password_hash).to.equal(null);
    });
  });
}
