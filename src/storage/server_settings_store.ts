// Facts a running server records for the tools sharing its database (table server_settings).
import type { Database } from '../db/connect.ts';

const ISSUER = 'issuer';

/** Called by the authorization server at start: the issuer it serves. */
export async function recordServerIssuer(db: Database, issuer: string): Promise<void> {
  await db('server_settings')
    .insert({ key: ISSUER, value: issuer, updated_at: db.fn.now() })
    .onConflict('key')
    .merge(['value', 'updated_at']);
}

/** The issuer the authorization server last started with on this database, if it ever did. */
export async function recordedServerIssuer(db: Database): Promise<string | undefined> {
  const row = (await db('server_settings').where({ key: ISSUER }).first()) as { value: string } | undefined;
  return row?.value;
}
