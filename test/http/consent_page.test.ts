// The consent page shows the truth about who asks (issue 10, finding 8): a metadata document
// client's real host, where the browser is sent next for every client, and "unverified" on names a
// dynamically registered client picked for itself. Everything a client says is escaped.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { authorizeUrl, pkcePair, registerClient } from '../support/oauth_flow.ts';
import { publicClientDocument, startMetadataDocumentServer, type MetadataDocumentServer } from '../support/metadata_documents.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';
import { mintGrant } from '../support/tokens.ts';

describe('consent page: who is asking, and where you go next', () => {
  let server: TestServer;
  let documents: MetadataDocumentServer;
  let account: { id: string; email: string };

  before(async () => {
    documents = await startMetadataDocumentServer();
    server = await startTestServer({ env: { CLIENT_METADATA_ALLOW_LOOPBACK: 'true' } });
    account = await createTestAccount(server.db);
  });
  after(async () => {
    await server.close();
    await documents.close();
  });

  /** Signs in through /authorize and returns the consent page's HTML. */
  async function consentPage(clientId: string, redirectUri: string): Promise<string> {
    const agent = request.agent(server.baseUrl);
    const url = new URL(authorizeUrl(server.baseUrl, { client_id: clientId }, server.config.resource, 'mcp:read', { redirect_uri: redirectUri, resource: undefined }));
    let response = await agent.get(`${url.pathname}${url.search}`);
    for (let hop = 0; hop < 10; hop += 1) {
      if (response.status === 303 || response.status === 302) {
        response = await agent.get(new URL(response.headers.location!, server.baseUrl).pathname);
        continue;
      }
      expect(response.status, response.text.slice(0, 300)).to.equal(200);
      if (response.text.includes('/confirm')) return response.text;
      const login = response.text.match(/action="([^"]+\/login)"/)?.[1];
      expect(login, 'login form').to.be.a('string');
      response = await agent.post(login!).type('form').send({ email: account.email, password: TEST_PASSWORD });
    }
    throw new Error('no consent page');
  }

  it('a registered client named "ChatGPT" with its logo: the name is marked unverified, and the real redirect host is shown', async () => {
    const client = await registerClient(server.baseUrl, {
      client_name: 'ChatGPT',
      logo_uri: 'https://chatgpt.com/logo.png',
      client_uri: 'https://chatgpt.com',
      redirect_uris: ['https://attacker.example/connector/oauth/cb'],
    });
    const html = await consentPage(client.client_id, 'https://attacker.example/connector/oauth/cb');
    expect(html).to.include('Authorize ChatGPT <span class="tag">unverified</span>');
    expect(html).to.include('<strong>Unverified name.</strong> “ChatGPT” was chosen by whoever registered this application');
    expect(html).to.include('After you choose, you are sent to <strong>attacker.example</strong>.');
  });

  it('a metadata document client named "ChatGPT": the host serving the document is shown, and where the browser goes', async () => {
    const url = `${documents.origin}/${randomUUID()}/chatgpt.json`;
    documents.serve(new URL(url).pathname, publicClientDocument(url, { client_name: 'ChatGPT', logo_uri: 'https://chatgpt.com/logo.png' }));
    const html = await consentPage(url, 'http://127.0.0.1:9/callback');
    const host = new URL(documents.origin).host;
    expect(html).to.include(`Identified by <strong>${host}</strong>: its name and logo come from <code>${url}</code>.`);
    expect(html).to.include('an application on this device (<strong>127.0.0.1:9</strong>)');
    expect(html).to.not.include('unverified');
  });

  it('/account names a metadata document client as consent does: its name, identified by the host', async () => {
    const url = `${documents.origin}/${randomUUID()}/helper.json`;
    documents.serve(new URL(url).pathname, publicClientDocument(url, { client_name: 'Notes Helper' }));
    const host = new URL(documents.origin).host;
    const identified = `Identified by <strong>${host}</strong>: its name and logo come from <code>${url}</code>.`;
    const consent = await consentPage(url, 'http://127.0.0.1:9/callback');
    expect(consent).to.include('Authorize Notes Helper').and.include(identified);

    const grantId = await mintGrant(server.provider, { clientId: url, accountId: account.id, resource: server.config.resource });
    const agent = request.agent(server.baseUrl);
    const form = (await agent.get('/account').expect(200)).text;
    const csrf = /name="csrf" value="([^"]+)"/.exec(form)![1]!;
    await agent.post('/account/sign-in').type('form').send({ csrf, email: account.email, password: TEST_PASSWORD }).expect(303);
    const page = (await agent.get('/account').expect(200)).text;
    expect(page).to.include(`<h2 id="app-${grantId}">Notes Helper</h2>`).and.include(identified);
  });

  it('the sign-in page says the same: an unverified name, or the document host', async () => {
    const registered = await registerClient(server.baseUrl, { client_name: 'ChatGPT', redirect_uris: ['https://attacker.example/cb'] });
    const url = `${documents.origin}/${randomUUID()}/chatgpt.json`;
    documents.serve(new URL(url).pathname, publicClientDocument(url, { client_name: 'ChatGPT' }));
    for (const [clientId, redirectUri, expected] of [
      [registered.client_id, 'https://attacker.example/cb', '<strong>“ChatGPT” (unverified name)</strong> wants to access your account.'],
      [url, 'http://127.0.0.1:9/callback', `<strong>ChatGPT (from ${new URL(documents.origin).host})</strong> wants to access your account.`],
    ] as const) {
      const agent = request.agent(server.baseUrl);
      const query = new URLSearchParams({
        client_id: clientId, response_type: 'code', redirect_uri: redirectUri,
        code_challenge: pkcePair().challenge, code_challenge_method: 'S256', scope: 'mcp:read',
      });
      const started = await agent.get(`/authorize?${query}`).expect(303);
      const login = await agent.get(new URL(started.headers.location!, server.baseUrl).pathname).expect(200);
      expect(login.text).to.include(expected);
    }
  });

  it('a native client with a private-use scheme: names the scheme', async () => {
    const client = await registerClient(server.baseUrl, { application_type: 'native', redirect_uris: ['com.example.app:/oauth2redirect'] });
    const html = await consentPage(client.client_id, 'com.example.app:/oauth2redirect');
    expect(html).to.include('the app that opens <code>com.example.app:</code> links');
  });

  it('escapes everything a client says about itself', async () => {
    const hostile = `<script>alert(1)</script>"'&<img src=x onerror=alert(2)>`;
    const client = await registerClient(server.baseUrl, {
      client_name: hostile,
      client_uri: 'https://app.example/"><script>alert(3)</script>',
      redirect_uris: ['https://app.example/cb'],
    });
    const html = await consentPage(client.client_id, 'https://app.example/cb');
    expect(html).to.not.include('<script>');
    expect(html).to.not.include('<img src=x');
    expect(html).to.include('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;img src=x onerror=alert(2)&gt;');
  });
});
