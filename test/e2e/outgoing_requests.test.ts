// Server-side request forgery and amplification through the server's outgoing requests (issue 10,
// findings 6 and 7): a client's jwks_uri on a loopback port is never fetched, even with metadata
// documents on localhost allowed; a document that fails is fetched once per window, not twice per
// /authorize.
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pkcePair } from '../support/oauth_flow.ts';
import { startMetadataDocumentServer, publicClientDocument, type MetadataDocumentServer } from '../support/metadata_documents.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('outgoing requests (SSRF guard, document fetches)', () => {
  let server: TestServer;
  let documents: MetadataDocumentServer;
  let listener: Server;
  let listenerHits = 0;
  let listenerPort: number;

  before(async () => {
    documents = await startMetadataDocumentServer();
    listener = createServer((_req, res) => {
      listenerHits += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    listenerPort = (listener.address() as { port: number }).port;
    // Documents on localhost allowed, as in local development: the guard must still hold for the rest.
    server = await startTestServer({ env: { CLIENT_METADATA_ALLOW_LOOPBACK: 'true' } });
  });
  after(async () => {
    await server.close();
    await documents.close();
    listener.close();
  });

  async function register(metadata: Record<string, unknown>) {
    const response = await fetch(`${server.baseUrl}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], ...metadata }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  async function tokenRequestWithAssertion(clientId: string) {
    const { privateKey } = await generateKeyPair('ES256');
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(server.baseUrl)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const response = await fetch(`${server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'unknown',
        redirect_uri: 'https://app.example/cb',
        code_verifier: pkcePair().verifier,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  it('an http loopback jwks_uri with private_key_jwt is refused at registration, and nothing is fetched', async () => {
    listenerHits = 0;
    const registered = await register({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: `http://127.0.0.1:${listenerPort}/anything`,
    });
    expect(registered.status).to.equal(400);
    expect(registered.body).to.include({ error: 'invalid_client_metadata' });
    expect(registered.body.error_description).to.match(/jwks_uri must be an https URL/);
    expect(listenerHits).to.equal(0);
  });

  it('an https loopback jwks_uri is never fetched: the token request fails as invalid_client, the listener sees no request', async () => {
    const jwksHits = () => documents.hits.get('/jwks') ?? 0;
    documents.serve('/jwks', async (_req, res) => {
      const { publicKey } = await generateKeyPair('ES256');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [await exportJWK(publicKey)] }));
    });
    const registered = await register({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${documents.origin}/jwks` });
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    const token = await tokenRequestWithAssertion(registered.body.client_id);
    expect(token.status).to.equal(401);
    expect(token.body.error).to.equal('invalid_client');
    expect(jwksHits()).to.equal(0);
  });

  it('a metadata document on localhost is fetched when allowed (the one exception)', async () => {
    const url = `${documents.origin}/good.json`;
    documents.serve('/good.json', publicClientDocument(url));
    const client = await server.provider.Client.find(url);
    expect(client?.clientId).to.equal(url);
    expect(documents.hits.get('/good.json')).to.equal(1);
  });

  for (const [name, handler] of [
    ['answers 500', (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(500).end()],
    ['serves a document for another client_id', (_req: unknown, res: import('node:http').ServerResponse) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(publicClientDocument('https://elsewhere.example/c.json')))],
  ] as const) {
    it(`a document URL that ${name} is fetched once for several /authorize requests in a short window`, async () => {
      const path = `/failing-${randomUUID()}.json`;
      const url = documents.serve(path, handler);
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const query = new URLSearchParams({
          client_id: url,
          response_type: 'code',
          redirect_uri: 'http://127.0.0.1:9/callback',
          code_challenge: pkcePair().challenge,
          code_challenge_method: 'S256',
        });
        const response = await fetch(`${server.baseUrl}/authorize?${query}`, { redirect: 'manual' });
        expect(response.status, `attempt ${attempt}`).to.equal(400);
        expect(await response.text()).to.match(/invalid_client/);
      }
      expect(documents.hits.get(path)).to.equal(1);
    });
  }
});
