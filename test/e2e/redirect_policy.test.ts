// One redirect policy for every way a client comes to exist (issue 10 finding 9, SEP-837): dynamic
// registration with application_type web, native or none, its RFC 7592 update, a Client ID Metadata
// Document, and a client written straight to the store (as the CLI does).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { authorizeUrl } from '../support/oauth_flow.ts';
import { publicClientDocument, startMetadataDocumentServer, type MetadataDocumentServer } from '../support/metadata_documents.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Kind = 'web' | 'native' | 'absent';
const ok = 'accepted';
const bad = 'invalid_redirect_uri';

// redirect URI → verdict for application_type web, native, and none sent.
const TABLE: [string, Record<Kind, string>][] = [
  ['https://app.example/cb', { web: ok, native: ok, absent: ok }],
  ['https://chatgpt.com/connector/oauth/abc123', { web: ok, native: ok, absent: ok }],
  ['http://127.0.0.1:9/callback', { web: bad, native: ok, absent: ok }],
  ['http://localhost:6274/oauth/callback', { web: bad, native: ok, absent: ok }],
  ['http://[::1]:8080/cb', { web: bad, native: ok, absent: ok }],
  ['com.example.app:/oauth2redirect', { web: bad, native: ok, absent: ok }],
  ['http://attacker.example/cb', { web: bad, native: bad, absent: bad }],
  ['http://127.0.0.1.attacker.example/cb', { web: bad, native: bad, absent: bad }],
  ['https://legit.example@attacker.example/cb', { web: bad, native: bad, absent: bad }],
  ['https://:@attacker.example/cb', { web: bad, native: bad, absent: bad }],
  ['http://user@127.0.0.1:9/cb', { web: bad, native: bad, absent: bad }],
  ['https://app.example/cb#fragment', { web: bad, native: bad, absent: bad }],
  ['javascript:alert(1)', { web: bad, native: bad, absent: bad }],
  ['data:text/html,hi', { web: bad, native: bad, absent: bad }],
];

describe('one redirect policy for every kind of client', () => {
  let server: TestServer;
  let documents: MetadataDocumentServer;

  before(async () => {
    documents = await startMetadataDocumentServer();
    server = await startTestServer({ env: { CLIENT_METADATA_ALLOW_LOOPBACK: 'true' } });
  });
  after(async () => {
    await server.close();
    await documents.close();
  });

  async function register(metadata: Record<string, unknown>) {
    const response = await fetch(`${server.baseUrl}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token_endpoint_auth_method: 'none', ...metadata }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  async function authorizeStatus(clientId: string, redirectUri: string) {
    const url = authorizeUrl(server.baseUrl, { client_id: clientId }, server.config.resource, undefined, { redirect_uri: redirectUri, scope: undefined, resource: undefined });
    const response = await fetch(url, { redirect: 'manual' });
    return { status: response.status, text: await response.text() };
  }

  describe('dynamic registration (RFC 7591)', () => {
    for (const [uri, verdicts] of TABLE) {
      for (const kind of ['web', 'native', 'absent'] as const) {
        it(`${uri} with application_type ${kind}: ${verdicts[kind]}`, async () => {
          const result = await register({ redirect_uris: [uri], ...(kind === 'absent' ? {} : { application_type: kind }) });
          if (verdicts[kind] === ok) {
            expect(result.status, JSON.stringify(result.body)).to.equal(201);
            expect(result.body.redirect_uris).to.deep.equal([uri]);
          } else {
            expect(result.status).to.equal(400);
            expect(result.body.error).to.equal(bad);
            expect(result.body.error_description).to.be.a('string').and.include(uri);
          }
        });
      }
    }

    it('classifies a client without application_type by its redirect URIs, and says so in the response', async () => {
      // The MCP SDK, MCP Inspector and mcp-remote register loopback http and send no application_type.
      expect((await register({ redirect_uris: ['http://localhost:33418/callback'] })).body.application_type).to.equal('native');
      // ChatGPT and Claude register https.
      expect((await register({ redirect_uris: ['https://chatgpt.com/connector_platform_oauth_redirect'] })).body.application_type).to.equal('web');
      // A desktop client with both (VS Code registers https and loopback): native, whose rules allow both.
      const mixed = await register({ redirect_uris: ['https://vscode.dev/redirect', 'http://127.0.0.1:33418/'] });
      expect(mixed.status).to.equal(201);
      expect(mixed.body.application_type).to.equal('native');
    });

    it('says why web clients may not use loopback http', async () => {
      const result = await register({ application_type: 'web', redirect_uris: ['http://localhost:3000/cb'] });
      expect(result.body.error_description).to.match(/web clients use https redirect URIs only/);
    });

    it('refuses post_logout_redirect_uris (no open redirect from /session/end)', async () => {
      const result = await register({ redirect_uris: ['https://app.example/cb'], post_logout_redirect_uris: ['https://attacker.example/phish'] });
      expect(result.status).to.equal(400);
      expect(result.body).to.include({ error: 'invalid_client_metadata' });
      expect(result.body.error_description).to.match(/post_logout_redirect_uris is not supported/);
    });

    it('refuses a jwks_uri that is not https', async () => {
      const result = await register({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://keys.example/jwks' });
      expect(result.status).to.equal(400);
      expect(result.body.error).to.equal('invalid_client_metadata');
    });
  });

  describe('registration update (RFC 7592)', () => {
    for (const [uri, expected] of [
      ['http://attacker.example/cb', bad],
      ['https://legit.example@attacker.example/cb', bad],
      ['https://app.example/other', ok],
    ] as const) {
      it(`updating to ${uri}: ${expected}`, async () => {
        const registered = await register({ redirect_uris: ['https://app.example/cb'] });
        const { registration_access_token: token, registration_client_uri: uriOfClient, client_id: clientId } = registered.body;
        const response = await fetch(uriOfClient, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ client_id: clientId, redirect_uris: [uri], token_endpoint_auth_method: 'none' }),
        });
        const body = (await response.json()) as Record<string, any>;
        if (expected === ok) {
          expect(response.status, JSON.stringify(body)).to.equal(200);
        } else {
          expect(response.status).to.equal(400);
          expect(body.error).to.equal(bad);
        }
        const stored = await server.provider.Client.find(clientId);
        expect(stored?.redirectUris).to.deep.equal(expected === ok ? [uri] : ['https://app.example/cb']);
      });
    }
  });

  describe('Client ID Metadata Documents', () => {
    for (const [uri, expected] of [
      ['http://127.0.0.1:9/callback', ok],
      ['https://app.example/cb', ok],
      ['http://attacker.example/cb', bad],
      ['https://legit.example@attacker.example/cb', bad],
    ] as const) {
      it(`a document listing ${uri}: ${expected}`, async () => {
        const url = documents.serve(`/${randomUUID()}.json`, {});
        documents.serve(new URL(url).pathname, publicClientDocument(url, { redirect_uris: [uri] }));
        const result = await authorizeStatus(url, uri);
        if (expected === ok) {
          expect(result.status, result.text).to.equal(303);
        } else {
          expect(result.status).to.equal(400);
          expect(result.text).to.include(bad);
        }
      });
    }

    it('a document with post_logout_redirect_uris still works, without them', async () => {
      const url = documents.serve(`/${randomUUID()}.json`, {});
      documents.serve(new URL(url).pathname, publicClientDocument(url, { post_logout_redirect_uris: ['https://attacker.example/phish'] }));
      const client = await server.provider.Client.find(url);
      expect(client?.postLogoutRedirectUris).to.deep.equal([]);
    });
  });

  describe('a client written to the store directly (as the CLI does)', () => {
    it('with an http redirect URI on a public host: refused when loaded, at /authorize too', async () => {
      const clientId = randomUUID();
      await server.adapterFor('Client').upsert(clientId, {
        client_id: clientId,
        redirect_uris: ['http://attacker.example/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }, undefined as never);
      const result = await authorizeStatus(clientId, 'http://attacker.example/cb');
      expect(result.status).to.equal(400);
      expect(result.text).to.include(bad);
      expect(result.text).to.not.include('attacker.example/cb?');
    });

    it('registered before this policy as web with a loopback redirect URI: still works, as native', async () => {
      const clientId = randomUUID();
      await server.adapterFor('Client').upsert(clientId, {
        client_id: clientId,
        application_type: 'web',
        redirect_uris: ['http://127.0.0.1:9/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }, undefined as never);
      expect((await authorizeStatus(clientId, 'http://127.0.0.1:9/callback')).status).to.equal(303);
      expect((await server.provider.Client.find(clientId))?.applicationType).to.equal('native');
    });
  });
});
