// The kit's HTTP answers, for Express and plain node:http alike: RFC 6750 challenges (a bare one when
// there are no credentials, invalid_token, insufficient_scope naming the scopes the call needs),
// 503 with Retry-After when the verifier has no verdict, and the RFC 9728 metadata document. Also:
// each verifier mode reports an outage as VerifierUnavailableError, never as a refused token.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import {
  bearerAuthenticator,
  createTokenVerifier,
  InvalidTokenError,
  protectedResourceMetadataHandler,
  requireBearerAuth,
  resourceMetadataUrl,
  toolCallScopes,
  VerifierUnavailableError,
} from '../../src/resource_server/index.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../src/retry_after.ts';
import { bearerChallenge } from '../support/mcp_server.ts';

const RESOURCE = 'https://mcp.example.test/mcp';
const METADATA_URL = 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp';
const TOOL_SCOPES = { read_things: 'things:read', write_things: ['things:read', 'things:write'] };

/** A verifier whose verdict is spelled by the token. */
const verifier = {
  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const hour = Math.floor(Date.now() / 1000) + 3600;
    if (token === 'archivist') return { token, clientId: 'c1', scopes: ['things:archive'], expiresAt: hour, resource: new URL(RESOURCE) };
    if (token === 'reader') return { token, clientId: 'c1', scopes: ['things:read'], expiresAt: hour, resource: new URL(RESOURCE) };
    if (token === 'stale') return { token, clientId: 'c1', scopes: ['things:read'], expiresAt: hour - 7200 };
    if (token === 'down') throw new VerifierUnavailableError('database unreachable');
    if (token === 'broken') throw new Error('a verifier of the caller’s failed');
    throw new InvalidTokenError('token is unknown, revoked or expired');
  },
};

const unavailable: unknown[] = [];
const options = {
  verifier,
  resourceMetadataUrl: resourceMetadataUrl(RESOURCE),
  requiredScopes: toolCallScopes(TOOL_SCOPES),
  onUnavailable: (error: unknown) => unavailable.push(error),
};

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function expressApp() {
  const app = express();
  app.use(protectedResourceMetadataHandler({ resource: RESOURCE, issuer: 'https://auth.example.test', scopesSupported: ['things:read', 'things:write', 'offline_access'] }));
  app.post('/mcp', express.json(), requireBearerAuth(options), (req, res) => {
    res.json({ auth: (req as typeof req & { auth: AuthInfo }).auth.clientId });
  });
  return app;
}

function nodeHandler() {
  const authenticate = bearerAuthenticator(options);
  const metadata = protectedResourceMetadataHandler({ resource: RESOURCE, issuer: 'https://auth.example.test', scopesSupported: ['things:read', 'things:write', 'offline_access'] });
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (metadata(req, res)) return;
    let text = '';
    for await (const chunk of req) text += chunk;
    const auth = await authenticate(req, res, text ? JSON.parse(text) : undefined);
    if (!auth) return;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ auth: auth.clientId }));
  };
}

const call = (tool: string) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: {} } });

for (const [framework, handler] of [
  ['Express', () => expressApp()],
  ['node:http', () => nodeHandler()],
] as const) {
  describe(`resource-server kit middleware (${framework})`, () => {
    let server: Server;
    let url: string;
    before(async () => ({ server, url } = await listen(handler() as (req: IncomingMessage, res: ServerResponse) => void)));
    after(() => server.close());

    const post = (authorization: string | undefined, body = call('read_things')) =>
      fetch(`${url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body,
      });

    it('no credentials (or another scheme): 401 with a bare challenge, no error code or description (RFC 6750 §3.1)', async () => {
      for (const authorization of [undefined, 'Basic Zm9vOmJhcg==']) {
        const response = await post(authorization);
        expect(response.status).to.equal(401);
        expect(response.headers.get('www-authenticate')).to.equal(`Bearer resource_metadata="${METADATA_URL}"`);
      }
    });

    it('a refused, malformed or expired token: 401 invalid_token naming the metadata', async () => {
      for (const authorization of ['Bearer revoked', 'Bearer !!!', 'Bearer stale', 'DPoP reader']) {
        const response = await post(authorization);
        expect(response.status, authorization).to.equal(401);
        expect(bearerChallenge(response.headers.get('www-authenticate')), authorization).to.include({ error: 'invalid_token', resource_metadata: METADATA_URL });
        expect(await response.json()).to.include({ error: 'invalid_token' });
      }
    });

    it('a call needing scopes the token lacks: 403 insufficient_scope naming every scope the call needs (step-up)', async () => {
      const response = await post('Bearer reader', call('write_things'));
      expect(response.status).to.equal(403);
      expect(bearerChallenge(response.headers.get('www-authenticate'))).to.deep.include({
        error: 'insufficient_scope',
        scope: 'things:read things:write',
        resource_metadata: METADATA_URL,
      });
    });

    it('the 403 keeps the scopes held: a client that re-authorizes with exactly the challenge (the current SDK) loses none', async () => {
      const response = await post('Bearer archivist', call('read_things'));
      expect(response.status).to.equal(403);
      expect(bearerChallenge(response.headers.get('www-authenticate'))).to.deep.include({ error: 'insufficient_scope', scope: 'things:archive things:read' });
    });

    it('no verdict (the verifier is unavailable, or failed): 503 with Retry-After, never 500 and never a pass', async () => {
      unavailable.length = 0;
      for (const authorization of ['Bearer down', 'Bearer broken']) {
        const response = await post(authorization);
        expect(response.status, authorization).to.equal(503);
        expect(response.headers.get('retry-after')).to.equal(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
        expect(response.headers.get('www-authenticate')).to.equal(null);
        expect(await response.json()).to.include({ error: 'temporarily_unavailable' });
      }
      expect(unavailable.map(String)).to.deep.equal(['VerificationUnavailable: database unreachable', 'Error: a verifier of the caller’s failed']);
    });

    it('a token with the scopes: the request goes through with its AuthInfo', async () => {
      const response = await post('Bearer reader');
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ auth: 'c1' });
    });

    it('serves RFC 9728 metadata at the path form and the root form, without offline_access', async () => {
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
        const response = await fetch(`${url}${path}`);
        expect(response.status).to.equal(200);
        expect(await response.json()).to.deep.equal({
          resource: RESOURCE,
          authorization_servers: ['https://auth.example.test'],
          scopes_supported: ['things:read', 'things:write'],
          bearer_methods_supported: ['header'],
        });
      }
    });
  });
}

describe('resource-server kit verifiers: a mistake is thrown at once, an outage is VerifierUnavailableError', () => {
  const failure = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: unknown) => error);

  it('a configuration mistake is thrown at once, not answered 503 later', () => {
    const mistakes = [
      { resource: 'not a url', databaseUrl: 'postgres://127.0.0.1/x' },
      { resource: RESOURCE, databaseUrl: 'mysql://127.0.0.1/x' },
      { resource: RESOURCE, issuer: 'https://auth.example.test', introspection: { clientId: 'rs', clientSecret: '' } },
      { resource: RESOURCE, issuer: '', introspection: { clientId: 'rs', clientSecret: 's' } },
    ];
    for (const options of mistakes) expect(() => createTokenVerifier(options), JSON.stringify(options)).to.throw(TypeError, /^createTokenVerifier: /);
  });

  it('database mode, the database unreachable', async function () {
    this.timeout(20_000);
    const kit = createTokenVerifier({ resource: RESOURCE, databaseUrl: 'postgres://postgres@127.0.0.1:9/portcullis' });
    expect(await failure(kit.verifyAccessToken('some-token'))).to.be.instanceOf(VerifierUnavailableError);
    await kit.close();
  });

  it('introspection mode, the authorization server unreachable, or answering 5xx at discovery or introspection', async () => {
    const unreachable = createTokenVerifier({ resource: RESOURCE, issuer: 'http://127.0.0.1:9', introspection: { clientId: 'rs', clientSecret: 's' } });
    expect(await failure(unreachable.verifyAccessToken('some-token'))).to.be.instanceOf(VerifierUnavailableError);
    let introspectStatus = 500;
    const { server, url } = await listen((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/oauth-authorization-server') {
        res.end(JSON.stringify({ issuer: url, introspection_endpoint: `${url}/introspect` }));
        return;
      }
      res.statusCode = introspectStatus;
      res.end(JSON.stringify({ error: 'server_error' }));
    });
    try {
      const failing = createTokenVerifier({ resource: RESOURCE, issuer: url, introspection: { clientId: 'rs', clientSecret: 's' } });
      expect(await failure(failing.verifyAccessToken('some-token'))).to.be.instanceOf(VerifierUnavailableError);
      introspectStatus = 503;
      expect(await failure(failing.verifyAccessToken('some-token'))).to.be.instanceOf(VerifierUnavailableError);
      const noDiscovery = createTokenVerifier({ resource: RESOURCE, issuer: `${url}/elsewhere`, introspection: { clientId: 'rs', clientSecret: 's' } });
      expect(await failure(noDiscovery.verifyAccessToken('some-token'))).to.be.instanceOf(VerifierUnavailableError);
    } finally {
      server.close();
    }
  });
});
