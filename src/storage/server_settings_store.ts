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

const DEFAULT_RESOURCE = 'default_resource_registered';

/** Whether the bundled MCP server's resource was registered once on this database (removing it is then respected). */
export async function defaultResourceRegistered(db: Database): Promise<boolean> {
  return (await db('server_settings').where({ key: DEFAULT_RESOURCE }).first()) !== undefined;
}

export async function recordDefaultResourceRegistered(db: Database, resource: string): Promise<void> {
  await db('server_settings')
    .insert({ key: DEFAULT_RESOURCE, value: resource, updated_at: db.fn.now() })
    .onConflict('key')
    .merge(['value', 'updated_at']);
}
