// The access token a request presents, authenticated with its sender constraint: the one step every
// resource server (the MCP server, the admin API) runs before looking at scopes. Two schemes:
// - `Bearer` (RFC 6750): the token alone; refused when the token is DPoP-bound (RFC 9449 §7.2), so a
//   bound token copied from a log is useless.
// - `DPoP` (RFC 9449 §7.1): the token plus exactly one DPoP proof for this request, whose key is the
//   one the token is bound to (`cnf.jkt`). An unbound token sent this way is refused too (§4.3 step
//   12 has no key to match; the provider's own /me refuses it the same way), so a client learns that
//   its token was not bound instead of believing it is protected.
// A proof is accepted once: its (key, jti) is recorded in the database until it would fail its iat
// check anyway, so a replay is refused by every process sharing the database.
import type { Context } from 'koa';
import type { Database } from '../db/connect.ts';
import { recordProofUse } from '../storage/dpop_proof_store.ts';
import { type AccessTokenVerifier, type AuthInfo, InvalidTokenError, VerificationUnavailable } from './access_token_verifier.ts';
import { InvalidDpopProof, verifyDpopProof } from './dpop_proof.ts';

export type TokenScheme = 'Bearer' | 'DPoP';

/**
 * The request carried no credentials of ours (no Authorization header, or another scheme such as
 * Basic). Still an InvalidTokenError to callers that do not care, but RFC 6750 §3.1 says its challenge
 * SHOULD carry no error code: the client may simply not know yet that a token is needed.
 */
export class MissingCredentials extends InvalidTokenError {}

export interface TokenRequest {
  /** The Authorization header, '' when absent. */
  authorization: string;
  /** Every DPoP header the request carried. */
  proofs: string[];
  method: string;
  /** The request's external URL: behind a trusted proxy, with the forwarded scheme and host. */
  url: string;
}

export interface AuthenticatedToken {
  auth: AuthInfo;
  scheme: TokenScheme;
}

// RFC 6750 b64token / RFC 9110 token68, one space-separated credential.
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

function credentials(authorization: string): { scheme: TokenScheme; token: string } | undefined {
  const match = CREDENTIALS.exec(authorization);
  if (!match) return undefined;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/** The scheme the request used, when it used one of ours: the scheme its challenge should answer in. */
export function presentedScheme(authorization: string): TokenScheme | undefined {
  return credentials(authorization)?.scheme;
}

/** What a resource server's Koa request presents (Koa applies TRUST_PROXY to protocol and host). */
export function tokenRequest(ctx: Context): TokenRequest {
  const header = ctx.req.headersDistinct.dpop ?? [];
  // The path as the client sent it (originalUrl: before any mount or rewrite changed ctx.path).
  const target = ctx.originalUrl.split(/[?#]/, 1)[0]!;
  const path = target.startsWith('/') ? target : (URL.parse(target)?.pathname ?? ctx.path);
  return {
    authorization: ctx.get('authorization'),
    proofs: header.flatMap((value) => value.split(',')).map((value) => value.trim()),
    method: ctx.method,
    url: `${ctx.protocol}://${ctx.host}${path}`,
  };
}

/** Without `db` (no DPoP proof replay store: the resource-server kit) only the Bearer scheme is accepted. */
export function requestTokenAuthenticator({ verifier, db }: { verifier: AccessTokenVerifier; db?: Database }) {
  return async function authenticateRequestToken(request: TokenRequest): Promise<AuthenticatedToken> {
    const presented = credentials(request.authorization);
    if (!presented) {
      const message = 'an access token is required (Authorization: Bearer or DPoP)';
      // "Bearer !!!" is a malformed token (invalid_token); no header or "Basic …" is no token at all.
      if (/^(Bearer|DPoP)(\s|$)/i.test(request.authorization)) throw new InvalidTokenError(message);
      throw new MissingCredentials(message);
    }
    const { scheme, token } = presented;
    if (scheme === 'Bearer') {
      const auth = await verifier.verifyAccessToken(token);
      if (auth.jkt) throw new InvalidTokenError('this token is DPoP-bound: present it with the DPoP scheme and a DPoP proof');
      return { auth, scheme };
    }
    if (!db) throw new InvalidTokenError('this resource server accepts Bearer tokens only');

    if (request.proofs.length !== 1) throw new InvalidDpopProof('exactly one DPoP proof header is required');
    // The proof first: a forged or stale one costs no database round trip.
    const proof = await verifyDpopProof(request.proofs[0]!, { method: request.method, url: request.url, accessToken: token });
    const auth = await verifier.verifyAccessToken(token);
    if (!auth.jkt) throw new InvalidTokenError('this token is not DPoP-bound: present it with the Bearer scheme');
    if (auth.jkt !== proof.thumbprint) throw new InvalidDpopProof('proof key is not the key the token is bound to');
    let firstUse: boolean;
    try {
      firstUse = await recordProofUse(db, proof.replayKey, proof.acceptableUntil);
    } catch (error) {
      throw new VerificationUnavailable('DPoP replay check failed', { cause: error });
    }
    if (!firstUse) throw new InvalidDpopProof('proof was already used (jti replay)');
    return { auth, scheme };
  };
}
