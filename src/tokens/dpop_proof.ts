// A DPoP proof (RFC 9449) checked the way §4.3 and §7.1 ask a resource server to: a `dpop+jwt` signed
// with an asymmetric algorithm by the public key it embeds, for this method and URL, recent, and for
// this access token (`ath`). Replay (the `jti` seen before) is the caller's next step, with the key
// returned here. Signature, JWK import and thumbprint are jose's (what the provider's own
// helpers/validate_dpop.js uses at /token and /me).
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, errors, jwtVerify } from 'jose';
import { DPOP_SIGNING_ALGS } from '../scopes.ts';

/** Seconds a proof stays acceptable after its `iat`: no server nonce, so this bounds its life. */
export const DPOP_PROOF_MAX_AGE = 60;

/** Seconds of clock difference tolerated between client and server, either way. */
export const DPOP_CLOCK_SKEW = 15;

/** The proof is missing, malformed or does not match the request: 401 `invalid_dpop_proof`. */
export class InvalidDpopProof extends Error {
  override name = 'InvalidDpopProof';
}

export interface ProofTarget {
  /** The request method, as received. */
  method: string;
  /** The request's external URL (query and fragment are ignored). */
  url: string;
  /** The access token presented with the proof. */
  accessToken: string;
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: compare it to the token's `cnf.jkt`. */
  thumbprint: string;
  /** Identifies this proof for replay detection: the same key and jti is the same proof. */
  replayKey: string;
  /** After this the proof fails its iat check anyway: how long its replay key must be remembered. */
  acceptableUntil: Date;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_PROOF_LENGTH = 8192;

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** RFC 3986 §6.2.2–6.2.3 normalisation: case, default port, dot segments, percent-encoding; no query. */
function normalisedTarget(value: string): string | undefined {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  url.search = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const character = String.fromCharCode(Number.parseInt(escape.slice(1), 16));
    return /[A-Za-z0-9\-._~]/.test(character) ? character : escape.toUpperCase();
  });
  return url.href;
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'proof is too old (iat)';
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iat') {
    return error.reason === 'missing' ? 'proof has no iat' : 'proof iat is in the future';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return `proof algorithm must be one of ${DPOP_SIGNING_ALGS.join(', ')}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'proof signature does not verify with its jwk';
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'typ') return 'proof typ must be dpop+jwt';
  return 'proof is not a valid dpop+jwt signed by the public jwk in its header';
}

export async function verifyDpopProof(proof: string, target: ProofTarget): Promise<VerifiedProof> {
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) throw new InvalidDpopProof('proof is not a compact JWS');
  let verified;
  try {
    // EmbeddedJWK refuses a jwk that is not a public key (private members, symmetric keys).
    verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: DPOP_SIGNING_ALGS,
      maxTokenAge: DPOP_PROOF_MAX_AGE,
      clockTolerance: DPOP_CLOCK_SKEW,
    });
  } catch (error) {
    throw new InvalidDpopProof(describe(error), { cause: error });
  }
  const { payload, protectedHeader } = verified;
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 512) {
    throw new InvalidDpopProof('proof must have a jti');
  }
  if (payload.htm !== target.method) throw new InvalidDpopProof('proof htm does not match the request method');
  const htu = typeof payload.htu === 'string' ? normalisedTarget(payload.htu) : undefined;
  if (htu === undefined || htu !== normalisedTarget(target.url)) {
    throw new InvalidDpopProof('proof htu does not match the request URL');
  }
  if (payload.ath !== sha256(target.accessToken)) throw new InvalidDpopProof('proof ath does not match the access token');
  const thumbprint = await calculateJwkThumbprint(protectedHeader.jwk!, 'sha256');
  return {
    thumbprint,
    replayKey: sha256(`${thumbprint}.${payload.jti}`),
    acceptableUntil: new Date((payload.iat! + DPOP_PROOF_MAX_AGE + DPOP_CLOCK_SKEW) * 1000),
  };
}
