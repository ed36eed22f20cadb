// Client secrets at rest. A secret the library must be able to read back (dynamically registered
// clients: client_secret_jwt and HS* keys derive from it, RFC 7592 reads echo it) is encrypted with
// the secrets keyring. A secret that is only ever compared (clients the server creates for
// client_secret_basic/post: operators, resource servers) is stored as its SHA-256 — the secret is 256
// random bits, so a fast hash is enough — and the stored value says so by its prefix, which is the
// flag the provider's comparison reads.
import { createHash, timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { AdapterPayload } from 'oidc-provider';
import { isSealed, type Keyring } from './keyring.ts';

/** Prefix of a hashed client secret; base64url secrets never contain the dot. */
export const HASHED_SECRET_PREFIX = 'sha256.';

/** The value to store as `client_secret` for a server-created client that authenticates with basic/post only. */
export function hashedClientSecret(secret: string): string {
  return `${HASHED_SECRET_PREFIX}${createHash('sha256').update(secret).digest('base64url')}`;
}

function isHashed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(HASHED_SECRET_PREFIX);
}

/** What the adapter stores for the Client model and what it hands back to the library. */
export interface PayloadCodec {
  encode(id: string, payload: AdapterPayload): AdapterPayload;
  decode(id: string, payload: AdapterPayload): AdapterPayload;
}

/** Where a client's sealed secret belongs: a sealed value only opens in its own client's row. */
export function clientSecretContext(clientId: string): string {
  return `Client ${clientId} client_secret`;
}

export function clientSecretCodec(keyring: Keyring): PayloadCodec {
  return {
    encode(id, payload) {
      const secret = payload.client_secret;
      if (typeof secret !== 'string' || isHashed(secret) || isSealed(secret)) return payload;
      return { ...payload, client_secret: keyring.seal(secret, clientSecretContext(id)) };
    },
    decode(id, payload) {
      const secret = payload.client_secret;
      if (!isSealed(secret)) return payload;
      return { ...payload, client_secret: keyring.open(secret, clientSecretContext(id)) };
    },
  };
}

interface ComparableClient {
  clientSecret?: string;
  compareClientSecret(actual: string): boolean | Promise<boolean>;
}

/** Teaches the provider's client authentication (lib/shared/client_auth.js) to compare hashed secrets. */
export function acceptHashedClientSecrets(provider: Provider): void {
  const prototype = provider.Client.prototype as unknown as ComparableClient;
  const compareStored = prototype.compareClientSecret;
  prototype.compareClientSecret = function compareClientSecret(this: ComparableClient, actual: string) {
    if (!isHashed(this.clientSecret)) return compareStored.call(this, actual);
    const expected = Buffer.from(this.clientSecret);
    const presented = Buffer.from(hashedClientSecret(String(actual)));
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  };
}
