// A real upstream OpenID provider for the federation tests: a second node-oidc-provider on its own
// port, in-memory adapter, one confidential client (Portcullis), and an interaction that completes
// itself as whoever the test names next — or answers access_denied.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

export interface UpstreamUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
}

export interface TestUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who signs in at the next interaction, or `deny` for an access_denied answer. */
  next: UpstreamUser | 'deny';
  /** Starts answering as an OpenID provider for a client redirecting to `redirectUri`. */
  attach(redirectUri: string): Promise<void>;
  close(): Promise<void>;
}

/** Listens now (so its issuer is known before Portcullis starts); attach() makes it a provider. */
export async function listenUpstream(name: string): Promise<TestUpstream> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const users = new Map<string, UpstreamUser>();
  const upstream: TestUpstream = {
    issuer,
    clientId: `portcullis-at-${name}`,
    clientSecret: `secret-of-${name}-${Math.random().toString(36).slice(2)}`,
    next: { sub: 'nobody' },
    async attach(redirectUri) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: upstream.clientId,
            client_secret: upstream.clientSecret,
            redirect_uris: [redirectUri],
            response_types: ['code'],
            grant_types: ['authorization_code'],
          },
        ],
        jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: `${name}-key` }] as never },
        // Cookie names of its own: the tests' one cookie jar also holds Portcullis's cookies.
        cookies: { keys: [`cookie-key-${name}`], names: { session: `${name}_session`, interaction: `${name}_interaction`, resume: `${name}_resume` } },
        ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
        claims: { openid: ['sub'], email: ['email', 'email_verified'] },
        scopes: ['openid', 'email'],
        pkce: { required: () => true },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
        async findAccount(_ctx, sub) {
          const user = users.get(sub);
          return user && { accountId: sub, claims: () => ({ ...user }) };
        },
      });
      provider.use(async (ctx, next) => {
        if (!/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        let result;
        if (upstream.next === 'deny') {
          result = { error: 'access_denied', error_description: 'the user declined' };
        } else if (details.prompt.name === 'login') {
          users.set(upstream.next.sub, upstream.next);
          result = { login: { accountId: upstream.next.sub } };
        } else {
          const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
          const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
          if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
          if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
          result = { consent: { grantId: await grant.save() } };
        }
        const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
        ctx.status = 303;
        ctx.redirect(returnTo);
      });
      server.on('request', provider.callback());
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
  return upstream;
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** An issuer nothing answers at: an upstream that is down. */
export async function downIssuer(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}
