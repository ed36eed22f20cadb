// Links between accounts and upstream identities (table upstream_identities): one upstream `iss` and
// `sub` name at most one account. Deleting an account deletes its links (ON DELETE CASCADE).
import type { Knex } from 'knex';
import type { Database } from '../db/connect.ts';

export interface UpstreamIdentity {
  issuer: string;
  subject: string;
  accountId: string;
  /** The configured provider the link was made through (its id at the time). */
  upstreamId: string;
  createdAt: Date;
  lastSignInAt: Date;
}

interface Row {
  issuer: string;
  subject: string;
  account_id: string;
  upstream_id: string;
  created_at: Date | string;
  last_sign_in_at: Date | string;
}

function toIdentity(row: Row): UpstreamIdentity {
  return {
    issuer: row.issuer,
    subject: row.subject,
    accountId: row.account_id,
    upstreamId: row.upstream_id,
    createdAt: new Date(row.created_at),
    lastSignInAt: new Date(row.last_sign_in_at),
  };
}

/** The account linked to this upstream identity, recording the sign-in; undefined when none is. */
export async function signInLinkedAccount(db: Database, issuer: string, subject: string): Promise<string | undefined> {
  const [row] = (await db<Row>('upstream_identities')
    .where({ issuer, subject })
    .update({ last_sign_in_at: db.fn.now() } as unknown as Partial<Row>)
    .returning('account_id')) as Pick<Row, 'account_id'>[];
  return row?.account_id;
}

/** Links an upstream identity to an account; false when the identity is linked already. */
export async function linkIdentity(
  db: Database | Knex.Transaction,
  link: { issuer: string; subject: string; accountId: string; upstreamId: string },
): Promise<boolean> {
  const inserted = await db<Row>('upstream_identities')
    .insert({ issuer: link.issuer, subject: link.subject, account_id: link.accountId, upstream_id: link.upstreamId })
    .onConflict(['issuer', 'subject'])
    .ignore()
    .returning('issuer');
  return inserted.length > 0;
}

/** The upstream identities of these accounts, by account id. */
export async function identitiesOf(db: Database, accountIds: string[]): Promise<Map<string, UpstreamIdentity[]>> {
  const found = new Map<string, UpstreamIdentity[]>();
  if (accountIds.length === 0) return found;
  const rows = await db<Row>('upstream_identities').whereIn('account_id', accountIds).orderBy('created_at');
  for (const row of rows) {
    const identity = toIdentity(row);
    found.set(identity.accountId, [...(found.get(identity.accountId) ?? []), identity]);
  }
  return found;
}

/** Removes the account's links through `upstreamId` (or to `issuer`); how many were removed. */
export async function unlinkIdentities(db: Database, accountId: string, upstreamIdOrIssuer: string): Promise<number> {
  const deleted = await db<Row>('upstream_identities')
    .where({ account_id: accountId })
    .andWhere((query) => query.where({ upstream_id: upstreamIdOrIssuer }).orWhere({ issuer: upstreamIdOrIssuer }))
    .delete()
    .returning('issuer');
  return deleted.length;
}
