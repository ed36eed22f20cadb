// Signing keys and cookie keys: generated once, kept in the database so every process (and every
// restart) signs and reads cookies with the same keys. The library's development keys are never used.
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database } from '../db/connect.ts';

export interface ServerKeys {
  /** Private JWKs, newest first: the provider signs with the first. */
  signingKeys: JWK[];
  /** Cookie keys, newest first: the provider signs with the first and accepts all. */
  cookieKeys: string[];
}

interface KeyRow {
  id: string;
  kind: 'signing' | 'cookie';
  material: { jwk?: JWK; secret?: string };
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

async function activeKeys(db: Database): Promise<KeyRow[]> {
  return db<KeyRow>('server_keys').whereNull('retired_at').orderBy('created_at', 'desc').orderBy('id');
}

/** Loads the active keys, creating the missing kinds first (once, even when processes start together). */
export async function loadOrCreateServerKeys(db: Database): Promise<ServerKeys> {
  let rows = await activeKeys(db);
  const missingSigning = !rows.some((row) => row.kind === 'signing');
  const missingCookie = !rows.some((row) => row.kind === 'cookie');
  if (missingSigning || missingCookie) {
    const signing = missingSigning ? await newSigningKey() : undefined;
    rows = await db.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext('portcullis:server_keys'))");
      const current = await activeKeys(trx);
      const toInsert: KeyRow[] = [];
      if (signing && !current.some((row) => row.kind === 'signing')) toInsert.push(signing);
      if (missingCookie && !current.some((row) => row.kind === 'cookie')) toInsert.push(newCookieKey());
      if (toInsert.length > 0) {
        await trx('server_keys').insert(
          toInsert.map((row) => ({ ...row, material: JSON.stringify(row.material), created_at: new Date() })),
        );
      }
      return activeKeys(trx);
    });
  }
  return {
    signingKeys: rows.flatMap((row) => (row.kind === 'signing' && row.material.jwk ? [row.material.jwk] : [])),
    cookieKeys: rows.flatMap((row) => (row.kind === 'cookie' && row.material.secret ? [row.material.secret] : [])),
  };
}
