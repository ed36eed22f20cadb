// The single-use links of self-service accounts: email verification, password reset, invitation.
// The value goes out (mailed, or printed by the CLI); only its SHA-256 is stored, so whoever reads
// the table holds nothing that opens a link. Using a link deletes its row in the same statement that
// reads it, so two uses racing each other cannot both succeed.
import { randomBytes } from 'node:crypto';
import type { Database } from '../db/connect.ts';
import { hashTokenValue } from './token_hash.ts';

export type AccountTokenPurpose = 'verify-email' | 'reset-password' | 'invitation';

export interface AccountToken {
  purpose: AccountTokenPurpose;
  accountId: string | undefined;
  email: string | undefined;
  expiresAt: Date;
}

interface Row {
  id_hash: string;
  purpose: AccountTokenPurpose;
  account_id: string | null;
  email: string | null;
  expires_at: Date | string;
}

function toToken(row: Row): AccountToken {
  return { purpose: row.purpose, accountId: row.account_id ?? undefined, email: row.email ?? undefined, expiresAt: new Date(row.expires_at) };
}

/** Stores a new link for `accountId` (or an invitation for `email`); returns the value to send. */
export async function issueAccountToken(
  db: Database,
  purpose: AccountTokenPurpose,
  owner: { accountId: string } | { email: string },
  ttlSeconds: number,
): Promise<{ value: string; expiresAt: Date }> {
  const value = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  await db<Row>('account_tokens').insert({
    id_hash: hashTokenValue(value),
    purpose,
    account_id: 'accountId' in owner ? owner.accountId : null,
    email: 'email' in owner ? owner.email : null,
    expires_at: expiresAt,
  });
  return { value, expiresAt };
}

/** The unexpired link `value` opens, without using it up (a page showing its form). */
export async function peekAccountToken(db: Database, purpose: AccountTokenPurpose, value: string): Promise<AccountToken | undefined> {
  const row = await db<Row>('account_tokens')
    .where({ id_hash: hashTokenValue(value), purpose })
    .where('expires_at', '>', db.fn.now())
    .first();
  return row ? toToken(row) : undefined;
}

/** Uses the link up: its row is deleted and returned, or undefined when unknown, used or expired. */
export async function consumeAccountToken(db: Database, purpose: AccountTokenPurpose, value: string): Promise<AccountToken | undefined> {
  const [row] = await db<Row>('account_tokens')
    .where({ id_hash: hashTokenValue(value), purpose })
    .where('expires_at', '>', db.fn.now())
    .delete()
    .returning('*');
  return row ? toToken(row as Row) : undefined;
}

/** Removes every other link of this purpose for the account (a reset done, an address verified). */
export async function deleteAccountTokens(db: Database, accountId: string, purpose: AccountTokenPurpose): Promise<void> {
  await db<Row>('account_tokens').where({ account_id: accountId, purpose }).delete().returning('id_hash');
}

