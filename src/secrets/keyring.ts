// Encryption of secrets at rest (server key material, client secrets) with keys that never enter the
// database. AES-256-GCM; the envelope names the key that sealed it, so after a rotation every key in
// the ring still opens its own data while new data is sealed with the first. Each value is bound to
// its place (`context`, e.g. the row it lives in) as additional data, so a sealed value copied into
// another row does not open there.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.ts';

/** Prefix of a sealed value: `pcs1.<key id>.<iv>.<ciphertext>.<tag>`, each part base64url. */
export const SEALED_PREFIX = 'pcs1.';
const KEY_BYTES = 32;
const IV_BYTES = 12;

/** A key that is missing or cannot open what is stored: a configuration problem (SECRETS_KEY). */
export class KeyringError extends ConfigError {
  override name = 'KeyringError';
}

/** A key's public name in envelopes: a digest of the key, so it identifies without revealing. */
function keyId(key: Buffer): string {
  return createHash('sha256').update('portcullis secrets key id\0').update(key).digest('base64url').slice(0, 11);
}

/** One key as written in SECRETS_KEY or a key file: 64 hex digits or base64/base64url of 32 bytes. */
export function parseSecretsKey(text: string): Buffer {
  const value = text.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(value)
    ? Buffer.from(value, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)
      ? Buffer.from(value, 'base64')
      : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES) throw new KeyringError('not 32 bytes in hex (64 digits) or base64');
  return bytes;
}

/** A new key in the form parseSecretsKey reads. */
export function newSecretsKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url');
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

export class Keyring {
  readonly #keys: { id: string; key: Buffer }[];

  /** `keys` newest first: the first seals, all open. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new KeyringError('no encryption key');
    this.#keys = keys.map((key) => ({ id: keyId(key), key }));
  }

  /** The id of the key new data is sealed with. */
  get currentKeyId(): string {
    return this.#keys[0]!.id;
  }

  seal(plaintext: string, context: string): string {
    const { id, key } = this.#keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [`${SEALED_PREFIX}${id}`, iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  open(sealed: string, context: string): string {
    const [, id, iv, ciphertext, tag] = sealed.split('.');
    if (!id || iv === undefined || ciphertext === undefined || tag === undefined) throw new KeyringError(`malformed encrypted value (${context})`);
    const entry = this.#keys.find((candidate) => candidate.id === id);
    if (!entry) throw new KeyringError(`${context} is encrypted with key ${id}, which is not among the configured secrets keys (SECRETS_KEY)`);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyringError(`${context} does not decrypt with key ${id} (altered, or moved from another row)`);
    }
  }

  /** Whether a sealed value was sealed with the current key (a rotation leaves it alone). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`${SEALED_PREFIX}${this.currentKeyId}.`);
  }
}
