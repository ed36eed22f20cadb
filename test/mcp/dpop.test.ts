// Sender-constrained tokens (RFC 9449 DPoP) at every resource server. A real client library
// (openid-client 6 on oauth4webapi) binds its tokens through the real authorization flow and uses them
// with its own proofs; the attacks are proofs made by hand with jose: each must be refused with
// 401 invalid_dpop_proof, and a bound token sent as a bare Bearer token with 401 invalid_token.
// Both token-validation modes of the MCP server, and the admin API.
import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type Koa from 'koa';
import * as client from 'openid-client';
import { adminResource, createOperatorClient } from '../../src/admin/operator_clients.ts';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createConfiguredMcpApp } from '../../src/mcp/mcp_server.ts';
import { migrateToLatest, migrationConfig } from '../../src/db/migrate.ts';
import { recordProofUse } from '../../src/storage/dpop_proof_store.ts';
import { purgeExpired } from '../../src/storage/janitor.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { followAuthorization, REDIRECT_URI, connectClient } from '../support/oauth_flow.ts';
import { startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { createIntrospector, createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

const insecure = { execute: [client.allowInsecureRequests] };
const WHOAMI = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A DPoP client's key, and proofs made with it by hand (any claim or header can be wrong). */
type Key = Parameters<typeof exportJWK>[0];

interface ProofKey {
  privateKey: Key;
  jwk: JWK;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: await exportJWK(publicKey) };
}

/** The client library's key, for hand-made proofs signed with it. */
async function libraryKey(key: client.CryptoKeyPair): Promise<ProofKey> {
  return { privateKey: key.privateKey as Key, jwk: await exportJWK(key.publicKey as Key) };
}

const athOf = (token: string) => createHash('sha256').update(token).digest('base64url');

interface ProofClaims {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  ath?: string | undefined;
}

async function handProof(key: ProofKey, token: string, claims: ProofClaims & { typ?: string; jwk?: JWK }): Promise<string> {
  const payload = {
    htm: 'POST',
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    ath: athOf(token),
    ...claims,
  };
  delete (payload as { typ?: string }).typ;
  delete (payload as { jwk?: JWK }).jwk;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: claims.typ ?? 'dpop+jwt', jwk: claims.jwk ?? key.jwk })
    .sign(key.privateKey);
}

async function post(url: string, authorization: string | undefined, proofs: string[] = [], extra: Record<string, string> = {}, body = WHOAMI) {
  const headers = new Headers({ ...MCP_HEADERS, ...extra });
  if (authorization) headers.set('authorization', authorization);
  for (const proof of proofs) headers.append('dpop', proof);
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '', body: text ? JSON.parse(text) : {} };
}

function expectDpopError(response: { status: number; challenge: string }, error: string): void {
  expect(response.status, JSON.stringify(response)).to.equal(401);
  expect(response.challenge).to.match(/^DPoP /);
  expect(response.challenge).to.include(`error="${error}"`);
  expect(response.challenge).to.include('algs="ES256 Ed25519 EdDSA"');
}

/** The configuration an MCP server runs with in `mode` (introspection: a confidential resource-server client). */
async function mcpConfig(stack: McpTestStack, mode: 'database' | 'introspection', overrides: Partial<Config> = {}): Promise<Config> {
  if (mode === 'database') return { ...stack.config, ...overrides };
  const resourceServer = await createIntrospector(stack);
  return {
    ...stack.config,
    ...overrides,
    mcp: {
      ...stack.config.mcp,
      tokenValidation: 'introspection',
      introspection: { url: `${stack.baseUrl}/introspect`, clientId: resourceServer.client_id, clientSecret: resourceServer.client_secret },
    },
  };
}

function mcpApp(stack: McpTestStack, config: Config): Koa {
  return createConfiguredMcpApp({ config, provider: stack.provider, db: stack.db, logger: createLogger('silent') });
}

for (const mode of ['database', 'introspection'] as const) {
  describe(`DPoP at the MCP server (${mode} token validation)`, () => {
    let stack: McpTestStack;
    let account: { id: string; email: string; password: string };
    let dpopClient: client.Configuration;
    let key: client.CryptoKeyPair;
    let DPoP: client.DPoPHandle;
    let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    let boundToken: string;

    before(async () => {
      stack = await startMcpTestStack();
      account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
      const app = mcpApp(stack, await mcpConfig(stack, mode));
      stack.mcpServer.removeAllListeners('request');
      stack.mcpServer.on('request', app.callback());

      dpopClient = await client.dynamicClientRegistration(
        new URL(stack.baseUrl),
        { redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' },
        client.None(),
        insecure,
      );
      key = await client.randomDPoPKeyPair('ES256', { extractable: true });
      DPoP = client.getDPoPHandle(dpopClient, key);
      tokens = await authorizeWithDpop();
      boundToken = tokens.access_token;
    });
    after(() => stack.close());

    async function authorizeWithDpop(scope = 'mcp:read mcp:write') {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(dpopClient, {
        redirect_uri: REDIRECT_URI,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        resource: stack.mcpUrl,
        state,
      });
      const { callback } = await followAuthorization(url, account);
      return client.authorizationCodeGrant(dpopClient, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: stack.mcpUrl }, { DPoP });
    }

    /** The client library's own call: its proof for this method, URL and token. */
    async function libraryCall(token: string) {
      const response = await client.fetchProtectedResource(dpopClient, token, new URL(stack.mcpUrl), 'POST', WHOAMI, new Headers(MCP_HEADERS), { DPoP });
      return { status: response.status, body: (await response.json()) as any };
    }

    const proof = async (claims: ProofClaims & { typ?: string; jwk?: JWK } = {}, token = boundToken) =>
      handProof(await libraryKey(key), token, { htu: stack.mcpUrl, ...claims });

    it('the library binds its token (token_type DPoP, cnf.jkt) and calls /mcp with a proof: 200', async () => {
      expect(tokens.token_type).to.equal('dpop');
      const response = await libraryCall(boundToken);
      expect(response.status).to.equal(200);
      expect(response.body.result.structuredContent).to.include({ accountId: account.id, clientId: dpopClient.clientMetadata().client_id });
      // Our hand-made proofs are accepted too, so each refusal below is about the one thing changed.
      expect((await post(stack.mcpUrl, `DPoP ${boundToken}`, [await proof()])).status).to.equal(200);
    });

    it('the same bound token sent as Bearer, with or without a proof, is 401 invalid_token', async () => {
      for (const proofs of [[], [await proof()]]) {
        const response = await post(stack.mcpUrl, `Bearer ${boundToken}`, proofs);
        expect(response.status).to.equal(401);
        expect(response.challenge).to.match(/^Bearer /).and.include('error="invalid_token"');
        expect(response.body.error_description).to.match(/DPoP-bound/);
      }
    });

    it('a replayed proof (same jti) is refused, also when the copies arrive at once', async () => {
      const once = await proof();
      expect((await post(stack.mcpUrl, `DPoP ${boundToken}`, [once])).status).to.equal(200);
      expectDpopError(await post(stack.mcpUrl, `DPoP ${boundToken}`, [once]), 'invalid_dpop_proof');

      const racing = await proof();
      const statuses = (await Promise.all(Array.from({ length: 6 }, () => post(stack.mcpUrl, `DPoP ${boundToken}`, [racing])))).map((r) => r.status);
      expect(statuses.filter((status) => status === 200)).to.have.length(1);
      expect(statuses.filter((status) => status === 401)).to.have.length(5);
    });

    it('a proof for another method, URL, time or token is 401 invalid_dpop_proof', async () => {
      const now = Math.floor(Date.now() / 1000);
      const other = new URL(stack.mcpUrl);
      other.port = String(Number(other.port) + 1);
      const wrong: Record<string, ProofClaims> = {
        'wrong htm': { htm: 'GET' },
        'wrong htu (path)': { htu: new URL('/other', stack.mcpUrl).href },
        'wrong htu (port)': { htu: other.href },
        'wrong htu (https)': { htu: stack.mcpUrl.replace('http:', 'https:') },
        'stale iat': { iat: now - 120 },
        'iat in the future': { iat: now + 120 },
        'wrong ath': { ath: athOf('another token') },
        'no ath': { ath: undefined },
      };
      for (const [name, claims] of Object.entries(wrong)) {
        const response = await post(stack.mcpUrl, `DPoP ${boundToken}`, [await proof(claims)]);
        expect(response.status, name).to.equal(401);
        expectDpopError(response, 'invalid_dpop_proof');
      }
    });

    it('a proof by another key, a private or symmetric jwk, a wrong typ, none or two is 401 invalid_dpop_proof', async () => {
      const stranger = await proofKey();
      const privateJwk = await exportJWK(key.privateKey as Key);
      const secret = new TextEncoder().encode('a shared secret of thirty-two bytes!');
      const symmetric = await new SignJWT({ htm: 'POST', htu: stack.mcpUrl, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath: athOf(boundToken) })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } as JWK })
        .sign(secret);
      const cases: Record<string, string[]> = {
        'another key': [await handProof(stranger, boundToken, { htu: stack.mcpUrl })],
        'private jwk': [await proof({ jwk: privateJwk })],
        'symmetric (HS256)': [symmetric],
        'typ JWT': [await proof({ typ: 'JWT' })],
        'not a JWT': ['not.a.jwt'],
        none: [],
        two: [await proof(), await proof()],
      };
      for (const [name, proofs] of Object.entries(cases)) {
        const response = await post(stack.mcpUrl, `DPoP ${boundToken}`, proofs);
        expect(response.status, name).to.equal(401);
        expectDpopError(response, 'invalid_dpop_proof');
      }
    });

    it('htu is compared normalised: query, host case, default-port spelling and percent-encoding do not matter', async () => {
      const url = new URL(stack.mcpUrl);
      for (const htu of [`${stack.mcpUrl}?x=1#f`, `HTTP://127.0.0.1:${url.port}/%6Dcp`]) {
        expect((await post(stack.mcpUrl, `DPoP ${boundToken}`, [await proof({ htu })])).status, htu).to.equal(200);
      }
    });

    it("a client that does not use DPoP keeps its Bearer token working exactly as before", async () => {
      const { tokens: plain } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
      expect(plain.token_type).to.equal('Bearer');
      const response = await post(stack.mcpUrl, `Bearer ${plain.access_token}`);
      expect(response.status).to.equal(200);
      // Unauthenticated, the challenge offers both schemes.
      const bare = await post(stack.mcpUrl, undefined);
      expect(bare.status).to.equal(401);
      expect(bare.challenge).to.match(/^Bearer resource_metadata=/).and.include('DPoP algs="ES256 Ed25519 EdDSA"');
      // An unbound token with the DPoP scheme: there is no key to match the proof to (RFC 9449 §4.3 step 12).
      const unbound = await post(stack.mcpUrl, `DPoP ${plain.access_token}`, [await proof({}, plain.access_token)]);
      expectDpopError(unbound, 'invalid_token');
      expect(unbound.body.error_description).to.match(/not DPoP-bound/);
    });

    it('a refreshed token is bound to the same key and works with a proof; revocation takes effect on the next call', async () => {
      const own = await authorizeWithDpop();
      expect((await libraryCall(own.access_token)).status).to.equal(200);
      const refreshed = await client.refreshTokenGrant(dpopClient, own.refresh_token!, undefined, { DPoP });
      expect(refreshed.token_type).to.equal('dpop');
      expect((await libraryCall(refreshed.access_token)).status).to.equal(200);
      expect((await post(stack.mcpUrl, `Bearer ${refreshed.access_token}`)).status).to.equal(401);

      await client.tokenRevocation(dpopClient, refreshed.access_token, { token_type_hint: 'access_token' });
      const revoked = await post(stack.mcpUrl, `DPoP ${refreshed.access_token}`, [await proof({}, refreshed.access_token)]);
      expectDpopError(revoked, 'invalid_token');
    });

    it('403 insufficient_scope answers in the DPoP scheme', async () => {
      const readOnly = await authorizeWithDpop('mcp:read');
      const notesAdd = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'notes_add', arguments: { text: 'x' } } });
      const response = await post(stack.mcpUrl, `DPoP ${readOnly.access_token}`, [await proof({}, readOnly.access_token)], {}, notesAdd);
      expect(response.status).to.equal(403);
      expect(response.challenge).to.match(/^DPoP /).and.include('error="insufficient_scope"').and.include('scope="mcp:read mcp:write"');
    });

    it('advertises DPoP in its protected-resource metadata and lets browsers send the DPoP header', async () => {
      const metadata = (await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', stack.mcpUrl))).json()) as Record<string, unknown>;
      expect(metadata).to.deep.include({ dpop_signing_alg_values_supported: ['ES256', 'Ed25519', 'EdDSA'], dpop_bound_access_tokens_required: false });
      const discovery = (await (await fetch(`${stack.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(discovery.dpop_signing_alg_values_supported).to.deep.equal(metadata.dpop_signing_alg_values_supported);
      const preflight = await fetch(stack.mcpUrl, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, dpop' },
      });
      expect(preflight.headers.get('access-control-allow-headers')).to.match(/\bDPoP\b/);
    });

    it('behind TRUST_PROXY, htu is the forwarded external URL', async () => {
      const proxied = mcpApp(stack, await mcpConfig(stack, mode, { trustProxy: 1 }));
      stack.mcpServer.removeAllListeners('request');
      stack.mcpServer.on('request', proxied.callback());
      try {
        const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mcp.example.test' };
        const external = 'https://mcp.example.test/mcp';
        expect((await post(stack.mcpUrl, `DPoP ${boundToken}`, [await proof({ htu: external })], forwarded)).status).to.equal(200);
        expectDpopError(await post(stack.mcpUrl, `DPoP ${boundToken}`, [await proof()], forwarded), 'invalid_dpop_proof');
      } finally {
        stack.mcpServer.removeAllListeners('request');
        stack.mcpServer.on('request', mcpApp(stack, await mcpConfig(stack, mode)).callback());
      }
    });
  });
}

describe('DPoP replay is refused across MCP server processes sharing the database', () => {
  let stack: McpTestStack;

  before(async () => {
    stack = await startMcpTestStack();
  });
  after(() => stack.close());

  it('a proof accepted by one server instance is refused by another', async () => {
    const account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
    const config = { ...stack.config, trustProxy: 1 };
    const [first, second] = [mcpApp(stack, config), mcpApp(stack, config)];
    const dpopClient = await client.dynamicClientRegistration(
      new URL(stack.baseUrl),
      { redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' },
      client.None(),
      insecure,
    );
    const key = await client.randomDPoPKeyPair('ES256', { extractable: true });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(dpopClient, {
      redirect_uri: REDIRECT_URI,
      scope: 'mcp:read',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource: stack.mcpUrl,
      state: 's',
    });
    const { callback } = await followAuthorization(url, account);
    const tokens = await client.authorizationCodeGrant(dpopClient, callback, { pkceCodeVerifier: verifier, expectedState: 's' }, { resource: stack.mcpUrl }, { DPoP: client.getDPoPHandle(dpopClient, key) });
    const proof = await handProof(await libraryKey(key), tokens.access_token, { htu: 'https://mcp.example.test/mcp' });
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mcp.example.test' };

    stack.mcpServer.removeAllListeners('request');
    stack.mcpServer.on('request', first.callback());
    expect((await post(stack.mcpUrl, `DPoP ${tokens.access_token}`, [proof], forwarded)).status).to.equal(200);
    stack.mcpServer.removeAllListeners('request');
    stack.mcpServer.on('request', second.callback());
    expectDpopError(await post(stack.mcpUrl, `DPoP ${tokens.access_token}`, [proof], forwarded), 'invalid_dpop_proof');
  });
});

describe('DPoP at the admin API', () => {
  let server: TestServer;
  let operator: client.Configuration;
  let key: client.CryptoKeyPair;
  let DPoP: client.DPoPHandle;
  let clientsUrl: URL;

  before(async () => {
    server = await startTestServer();
    const credentials = await createOperatorClient(server.db, server.adapterFor('Client'), 'ops');
    operator = await client.discovery(new URL(server.baseUrl), credentials.clientId, undefined, client.ClientSecretBasic(credentials.clientSecret), {
      algorithm: 'oauth2',
      ...insecure,
    });
    key = await client.randomDPoPKeyPair('ES256', { extractable: true });
    DPoP = client.getDPoPHandle(operator, key);
    clientsUrl = new URL('/admin/clients', server.baseUrl);
  });
  after(() => server.close());

  async function get(authorization: string, proofs: string[]) {
    const headers = new Headers({ authorization });
    for (const proof of proofs) headers.append('dpop', proof);
    const response = await fetch(clientsUrl, { headers });
    return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '', body: (await response.json()) as any };
  }

  it('an operator token bound by client credentials works with a proof, not as Bearer, not replayed, not for another URL', async () => {
    const tokens = await client.clientCredentialsGrant(operator, { scope: 'admin', resource: adminResource(server.baseUrl) }, { DPoP });
    expect(tokens.token_type).to.equal('dpop');
    const listed = await client.fetchProtectedResource(operator, tokens.access_token, clientsUrl, 'GET', undefined, undefined, { DPoP });
    expect(listed.status).to.equal(200);

    const bearer = await get(`Bearer ${tokens.access_token}`, []);
    expect(bearer.status).to.equal(401);
    expect(bearer.body.error).to.equal('invalid_token');

    const ownKey = await libraryKey(key);
    const proof = await handProof(ownKey, tokens.access_token, { htm: 'GET', htu: clientsUrl.href });
    expect((await get(`DPoP ${tokens.access_token}`, [proof])).status).to.equal(200);
    const replayed = await get(`DPoP ${tokens.access_token}`, [proof]);
    expectDpopError(replayed, 'invalid_dpop_proof');
    expect(replayed.body.error).to.equal('invalid_dpop_proof');
    const elsewhere = await handProof(ownKey, tokens.access_token, { htm: 'GET', htu: new URL('/admin/grants', server.baseUrl).href });
    expectDpopError(await get(`DPoP ${tokens.access_token}`, [elsewhere]), 'invalid_dpop_proof');

    // An unbound operator token keeps working as Bearer.
    const plain = await client.clientCredentialsGrant(operator, { scope: 'admin', resource: adminResource(server.baseUrl) });
    expect(plain.token_type).to.equal('bearer');
    expect((await get(`Bearer ${plain.access_token}`, [])).status).to.equal(200);
  });
});

describe('the DPoP replay table', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.close());

  it('records a proof once, takes over an expired row, is purged by the janitor, and migrates down', async () => {
    const past = new Date(Date.now() - 60_000);
    const future = new Date(Date.now() + 60_000);
    expect(await recordProofUse(database.db, 'k1', future)).to.equal(true);
    expect(await recordProofUse(database.db, 'k1', future)).to.equal(false);
    expect(await recordProofUse(database.db, 'k2', past)).to.equal(true);
    expect(await recordProofUse(database.db, 'k2', future), 'an expired row no longer blocks').to.equal(true);
    expect(await recordProofUse(database.db, 'k2', future)).to.equal(false);
    expect(await recordProofUse(database.db, 'k3', past)).to.equal(true);
    expect((await purgeExpired(database.db, 0)).dpopProofs).to.equal(1);

    await database.db.migrate.down({ ...migrationConfig, name: '20261201010000_dpop_proofs.ts' });
    expect(await database.db.schema.hasTable('dpop_proofs')).to.equal(false);
    await migrateToLatest(database.db);
    expect(await database.db.schema.hasTable('dpop_proofs')).to.equal(true);
  });
});
