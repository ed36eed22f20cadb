// The unauthenticated front door writes rows (issue 10, finding 7, without the rate limits): /authorize
// and PAR (/request) have capped query, body and `state` sizes, refused before anything is stored, and
// an Interaction lives minutes, not an hour.
import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { pkcePair, registerClient, REDIRECT_URI, type RegisteredClient } from '../support/oauth_flow.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('size limits on /authorize and PAR', () => {
  let server: TestServer;
  let client: RegisteredClient;

  before(async () => {
    server = await startTestServer();
    client = await registerClient(server.baseUrl);
  });
  after(() => server.close());

  function authorizationParams(extra: Record<string, string> = {}): URLSearchParams {
    return new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      scope: 'mcp:read',
      ...extra,
    });
  }

  async function interactionCount(): Promise<number> {
    const [row] = await server.db('oidc_models').where({ model: 'Interaction' }).count('* as n');
    return Number(row?.n);
  }

  async function pushed(body: string | URLSearchParams) {
    const response = await fetch(`${server.baseUrl}/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('GET /authorize with a state of 1 KiB works; one byte more is a 400 invalid_request and writes nothing', async () => {
    const accepted = await fetch(`${server.baseUrl}/authorize?${authorizationParams({ state: 's'.repeat(1024) })}`, { redirect: 'manual' });
    expect(accepted.status).to.equal(303);
    const before = await interactionCount();
    const refused = await fetch(`${server.baseUrl}/authorize?${authorizationParams({ state: 's'.repeat(1025) })}`, { redirect: 'manual' });
    expect(refused.status).to.equal(400);
    expect(await refused.text()).to.include('invalid_request').and.include('state must not be longer than 1024 bytes');
    // Other spellings the provider's router would serve: refused by this limit, or not served at all
    // (a canonical-path gate answers 404); never an interaction.
    for (const path of ['/AUTHORIZE', '/authorize/', '/Authorize/']) {
      const other = await fetch(`${server.baseUrl}${path}?${authorizationParams({ state: 's'.repeat(1025) })}`, { redirect: 'manual' });
      expect(other.status, path).to.be.oneOf([400, 404]);
    }
    // Multi-byte characters count as their UTF-8 bytes.
    const wide = await fetch(`${server.baseUrl}/authorize?${authorizationParams({ state: 'é'.repeat(513) })}`, { redirect: 'manual' });
    expect(wide.status).to.equal(400);
    expect(await interactionCount()).to.equal(before);
  });

  it('GET /authorize with a query string over 8 KiB is a 400 invalid_request', async () => {
    const before = await interactionCount();
    const refused = await fetch(`${server.baseUrl}/authorize?${authorizationParams({ ui_locales: 'x'.repeat(8 * 1024) })}`, { redirect: 'manual' });
    expect(refused.status).to.equal(400);
    expect(await refused.text()).to.include('query string larger than 8192 bytes');
    expect(await interactionCount()).to.equal(before);
  });

  it('PAR: a normal request is accepted; a long state is a 400 invalid_request (JSON)', async () => {
    const accepted = await pushed(authorizationParams({ state: 'short' }));
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(201);
    expect(accepted.body.request_uri).to.be.a('string');
    const refused = await pushed(authorizationParams({ state: 's'.repeat(1025) }));
    expect(refused.status).to.equal(400);
    expect(refused.body).to.deep.equal({ error: 'invalid_request', error_description: 'state must not be longer than 1024 bytes' });
  });

  it('PAR: a body over 16 KiB is a 413, with Content-Length or chunked', async () => {
    const big = authorizationParams({ ui_locales: 'x'.repeat(17 * 1024) }).toString();
    const declared = await pushed(big);
    expect(declared.status).to.equal(413);
    expect(declared.body).to.include({ error: 'invalid_request' });
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL('/request', server.baseUrl);
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let offset = 0; offset < big.length; offset += 4096) req.write(big.slice(offset, offset + 4096));
      req.end();
    });
    expect(chunked.status).to.equal(413);
    expect(JSON.parse(chunked.body)).to.include({ error: 'invalid_request', error_description: 'request body larger than 16384 bytes' });
  });

  it('an Interaction expires within 10 minutes', async () => {
    const started = await fetch(`${server.baseUrl}/authorize?${authorizationParams({ state: 'x' })}`, { redirect: 'manual' });
    expect(started.status).to.equal(303);
    const uid = new URL(started.headers.get('location')!, server.baseUrl).pathname.split('/').at(-1)!;
    const interaction = await server.adapterFor('Interaction').find(uid);
    expect(interaction, 'interaction').to.not.equal(undefined);
    expect(interaction!.exp! - interaction!.iat!).to.be.at.most(10 * 60);
  });
});
