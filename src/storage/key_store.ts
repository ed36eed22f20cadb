// Signing keys and cookie keys: generated once, kept in the database so every process (and every
// restart) signs and reads cookies with the same keys. The library's development keys are never used.
// Rotation (`portcullis keys rotate`) adds a new key of each kind and retires the previous ones: a
// retired key stays loaded for a grace period (its signatures still verify, its public half is still
// published in the JWKS) and is deleted on a later rotation. Running processes pick the change up
// through key_refresh.ts. Key material is stored encrypted with the secrets keyring (src/secrets):
// a database dump holds no private key.
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database } from '../db/connect.ts';
import type { Keyring } from '../secrets/keyring.ts';

export interface ServerKeys {
  /** Private JWKs, active newest first, then retired ones in their grace period: the provider signs with the first. */
  signingKeys: JWK[];
  /** Cookie keys in the same order: the provider signs with the first and accepts all. */
  cookieKeys: string[];
}

/** Seconds a retired key stays loaded (verifiable, published) by default. */
export const DEFAULT_KEY_GRACE_SECONDS = 24 * 60 * 60;

/** The channel a rotation is announced on (PostgreSQL NOTIFY); processes also poll. */
export const SERVER_KEYS_CHANNEL = 'portcullis_server_keys';

interface KeyMaterial {
  jwk?: JWK;
  secret?: string;
}

interface KeyRow {
  id: string;
  kind: 'signing' | 'cookie';
  material: KeyMaterial;
  retired_at?: Date | null;
}

/** What a server_keys row's material column holds: sealed material, or (rows from before encryption) plain. */
export type StoredKeyMaterial = { sealed: string } | KeyMaterial;

/** Where a row's sealed material belongs: it opens in that row only. */
export function keyMaterialContext(id: string): string {
  return `server_keys ${id} material`;
}

export function sealKeyMaterial(keyring: Keyring, id: string, material: KeyMaterial): { sealed: string } {
  return { sealed: keyring.seal(JSON.stringify(material), keyMaterialContext(id)) };
}

export function openKeyMaterial(keyring: Keyring, id: string, stored: StoredKeyMaterial): KeyMaterial {
  if (!('sealed' in stored)) return stored;
  return JSON.parse(keyring.open(stored.sealed, keyMaterialContext(id))) as KeyMaterial;
}

const SIGNING_ALGORITHM = 'RS256';

async function newSigningKey(): Promise<KeyRow> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' };
  return { id: kid, kind: 'signing', material: { jwk } };
}

function newCookieKey(): KeyRow {
  return { id: randomUUID(), kind: 'cookie', material: { secret: randomBytes(32).toString('base64url') } };
}

async function activeKeys(db: Database): Promise<Pick<KeyRow, 'id' | 'kind'>[]> {
  return db('server_keys').select('id', 'kind').whereNull('retired_at').orderBy('created_at', 'desc').orderBy('id');
}

/** Active keys, then keys retired less than `graceSeconds` ago, each group newest first. */
async function usableKeys(db: Database, keyring: Keyring, graceSeconds: number): Promise<KeyRow[]> {
  const since = new Date(Date.now() - graceSeconds * 1000);
  const rows: (Omit<KeyRow, 'material'> & { material: StoredKeyMaterial })[] = await db('server_keys')
    .where((q) => q.whereNull('retired_at').orWhere('retired_at', '>', since))
    .orderByRaw('retired_at is not null, created_at desc, id');
  return rows.map((row) => ({ ...row, material: openKeyMaterial(keyring, row.id, row.material) }));
}

function asServerKeys(rows: KeyRow[]): ServerKeys {
  return {
    signingKeys: rows.flatMap((row) => (row.kind === 'signing' && row.material.jwk ? [row.material.jwk] : [])),
    cookieKeys: rows.flatMap((row) => (row.kind === 'cookie' && row.material.secret ? [row.material.secret] : [])),
  };
}

function insertable(keyring: Keyring, rows: KeyRow[]) {
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    material: JSON.stringify(sealKeyMaterial(keyring, row.id, row.material)),
    created_at: new Date(),
  }));
}

/** Serialises key creation, rotation and re-encryption (within a transaction). */
export async function lockServerKeys(trx: Database): Promise<void> {
  await trx.raw("select pg_advisory_xact_lock(hashtext('portcullis:server_keys'))");
}

/** Loads the usable keys, creating the missing kinds first (once, even when processes start together). */
export async function loadOrCreateServerKeys(db: Database, keyring: Keyring, graceSeconds = DEFAULT_KEY_GRACE_SECONDS): Promise<ServerKeys> {
  const rows = await activeKeys(db);
  const missingSigning = !rows.some((row) => row.kind === 'signing');
  const missingCookie = !rows.some((row) => row.kind === 'cookie');
  if (missingSigning || missingCookie) {
    const signing = missingSigning ? await newSigningKey() : undefined;
    await db.transaction(async (trx) => {
      await lockServerKeys(trx);
      const current = await activeKeys(trx);
      const toInsert: KeyRow[] = [];
      if (signing && !current.some((row) => row.kind === 'signing')) toInsert.push(signing);
      if (missingCookie && !current.some((row) => row.kind === 'cookie')) toInsert.push(newCookieKey());
      if (toInsert.length > 0) await trx('server_keys').insert(insertable(keyring, toInsert));
    });
  }
  return loadServerKeys(db, keyring, graceSeconds);
}

/** The keys a process should hold now (see ServerKeys for the order). */
export async function loadServerKeys(db: Database, keyring: Keyring, graceSeconds = DEFAULT_KEY_GRACE_SECONDS): Promise<ServerKeys> {
  return asServerKeys(await usableKeys(db, keyring, graceSeconds));
}

export interface RotationResult {
  /** The new signing key's kid and the new cookie key's id. */
  added: { signing: string; cookie: string };
  /** Keys retired now: still usable for the grace period. */
  retired: string[];
  /** Keys retired more than a grace period ago: deleted now. */
  deleted: string[];
}

/**
 * Adds a new signing key and a new cookie key, retires the previous ones, deletes keys retired for
 * longer than the grace period, and announces the change to running processes (NOTIFY, after commit).
 */
export async function rotateServerKeys(db: Database, keyring: Keyring, graceSeconds = DEFAULT_KEY_GRACE_SECONDS): Promise<RotationResult> {
  const signing = await newSigningKey();
  const cookie = newCookieKey();
  return db.transaction(async (trx) => {
    await lockServerKeys(trx);
    const now = new Date();
    const deleted = await trx('server_keys')
      .where('retired_at', '<=', new Date(now.getTime() - graceSeconds * 1000))
      .delete()
      .returning('id');
    const retired = await trx('server_keys').whereNull('retired_at').update({ retired_at: now }).returning('id');
    await trx('server_keys').insert(insertable(keyring, [signing, cookie]));
    await trx.raw(`notify ${SERVER_KEYS_CHANNEL}`);
    return {
      added: { signing: signing.id, cookie: cookie.id },
      retired: retired.map((row: { id: string }) => row.id),
      deleted: deleted.map((row: { id: string }) => row.id),
    };
  });
}

export interface KeyListing {
  id: string;
  kind: string;
  createdAt: Date;
  retiredAt: Date | null;
}

/** Every stored key without its material, newest first. */
export async function listServerKeys(db: Database): Promise<KeyListing[]> {
  const rows = await db('server_keys').select('id', 'kind', 'created_at', 'retired_at').orderBy('created_at', 'desc');
  return rows.map((row: { id: string; kind: string; created_at: Date; retired_at: Date | null }) => ({
    id: row.id,
    kind: row.kind,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  }));
}
