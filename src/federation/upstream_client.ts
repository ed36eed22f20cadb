// The relying-party side of an upstream sign-in, on openid-client 6: discovery, an authorization
// request with PKCE (S256), `state` and `nonce`, and a callback check that validates the response's
// `iss` (RFC 9207), the code exchange and the ID token (signature against the upstream's keys, issuer,
// audience, expiry, nonce). Everything that can go wrong at the upstream becomes an UpstreamFailure.
import * as oidc from 'openid-client';
import type { UpstreamProvider } from '../upstream_settings.ts';

/** Seconds any one request to an upstream may take. */
const UPSTREAM_TIMEOUT = 10;

export interface UpstreamAuthorization {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Who the upstream says signed in: its validated `iss` and `sub`, and the claims an account may take. */
export interface UpstreamUser {
  issuer: string;
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
}

/** refused: the upstream answered with an error (access_denied); invalid: its answer failed a check; unreachable: no usable answer. */
export class UpstreamFailure extends Error {
  override name = 'UpstreamFailure';
  readonly kind: 'refused' | 'invalid' | 'unreachable';
  readonly code: string | undefined;
  constructor(kind: UpstreamFailure['kind'], message: string, code?: string) {
    super(message);
    this.kind = kind;
    this.code = code;
  }
}

export interface UpstreamClient {
  readonly provider: UpstreamProvider;
  /** Where `provider` sends the browser back: registered at the upstream as the redirect URI. */
  readonly redirectUri: string;
  authorization(): Promise<UpstreamAuthorization>;
  /** Checks the callback (its query string) against what was sent and returns the upstream user. */
  complete(callbackQuery: string, sent: { state: string; nonce: string; codeVerifier: string }): Promise<UpstreamUser>;
}

function clientAuthentication(provider: UpstreamProvider): oidc.ClientAuth {
  if (provider.clientSecret === undefined) return oidc.None();
  return provider.tokenEndpointAuthMethod === 'client_secret_post'
    ? oidc.ClientSecretPost(provider.clientSecret)
    : oidc.ClientSecretBasic(provider.clientSecret);
}

/** What an upstream error means to the person signing in. */
function asFailure(error: unknown): UpstreamFailure {
  if (error instanceof UpstreamFailure) return error;
  if (error instanceof oidc.AuthorizationResponseError) {
    return new UpstreamFailure('refused', error.error_description ?? error.error, error.error);
  }
  if (error instanceof oidc.ResponseBodyError) return new UpstreamFailure('invalid', error.error_description ?? error.error, error.error);
  if (error instanceof oidc.ClientError) {
    const unusable = error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || error.code === 'OAUTH_RESPONSE_IS_NOT_JSON';
    // The cause says which check failed ("unexpected iss response parameter value"): for the log.
    const reason = error.cause instanceof Error ? error.cause.message : error.message;
    return new UpstreamFailure(unusable ? 'unreachable' : 'invalid', reason, error.code);
  }
  // fetch() failures (refused connection, DNS, TLS) are TypeErrors; timeouts are TimeoutError DOMExceptions.
  if (error instanceof TypeError || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))) {
    return new UpstreamFailure('unreachable', error.message);
  }
  throw error;
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function upstreamClient(provider: UpstreamProvider, issuer: string): UpstreamClient {
  const redirectUri = `${issuer}/upstream/${provider.id}/callback`;
  // Discovered once; a failed discovery is not kept, so the next sign-in tries again.
  let discovered: Promise<oidc.Configuration> | undefined;

  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc
      .discovery(new URL(provider.issuer), provider.clientId, undefined, clientAuthentication(provider), {
        timeout: UPSTREAM_TIMEOUT,
        // Plain http is refused in production (src/production_policy.ts); elsewhere it is allowed for local providers.
        ...(new URL(provider.issuer).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .then((config) => {
        oidc.enableNonRepudiationChecks(config);
        return config;
      });
    discovered.catch(() => {
      discovered = undefined;
    });
    return discovered;
  }

  return {
    provider,
    redirectUri,
    async authorization() {
      try {
        const config = await configuration();
        const codeVerifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        const url = oidc.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: provider.scope,
          response_type: 'code',
          code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        return { url, state, nonce, codeVerifier };
      } catch (error) {
        throw asFailure(error);
      }
    },
    async complete(callbackQuery, sent) {
      try {
        const config = await configuration();
        const tokens = await oidc.authorizationCodeGrant(config, new URL(`${redirectUri}?${callbackQuery}`), {
          pkceCodeVerifier: sent.codeVerifier,
          expectedState: sent.state,
          expectedNonce: sent.nonce,
          idTokenExpected: true,
        });
        const idToken = tokens.claims();
        if (!idToken) throw new UpstreamFailure('invalid', 'the upstream returned no ID token');
        let claims: Record<string, unknown> = idToken;
        // Many providers put email only in the userinfo response; it must name the same subject.
        if (stringClaim(claims, provider.emailClaim) === undefined && config.serverMetadata().userinfo_endpoint) {
          claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub)), ...idToken };
        }
        return {
          issuer: idToken.iss,
          subject: idToken.sub,
          email: stringClaim(claims, provider.emailClaim),
          emailVerified: claims.email_verified === true,
        };
      } catch (error) {
        throw asFailure(error);
      }
    },
  };
}
