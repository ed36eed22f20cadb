// Accounts: the people who sign in. All account SQL lives here.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Database } from '../db/connect.ts';
import { takePrimed } from './request_scope.ts';
import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  decoyPasswordHash,
  hashPassword,
  verifyPassword,
} from '../secrets/passwords.ts';

export interface Account {
  id: string;
  email: string;
  createdAt: Date;
  /** Set by an operator (`users disable`): the account cannot sign in and the provider ignores it. */
  disabledAt?: Date;
  /** False for a self-registered account until its owner opens the link mailed to them; it cannot sign in until then. */
  emailVerified: boolean;
}

export class AccountInputError extends Error {
  override name = 'AccountInputError';
}

/** The email already belongs to an account. */
export class AccountExistsError extends AccountInputError {
  override name = 'AccountExistsError';
}

const emailSchema = z.email().max(254);

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

interface AccountRow {
  id: string;
  email: string;
  /** Null: no password (an account made by an upstream sign-in); password sign-in never matches it. */
  password_hash: string | null;
  created_at: Date | string;
  disabled_at?: Date | string | null;
  email_verified_at?: Date | string | null;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    email: row.email,
    createdAt: new Date(row.created_at),
    ...(row.disabled_at ? { disabledAt: new Date(row.disabled_at) } : {}),
    emailVerified: Boolean(row.email_verified_at),
  };
}

/** The address normalized, or AccountInputError when it is not one. */
export function validateEmail(email: string): string {
  const normalized = normalizeEmail(email);
  if (!emailSchema.safeParse(normalized).success) {
    throw new AccountInputError(`not a valid email address: ${JSON.stringify(email)}`);
  }
  return normalized;
}

export function validatePassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AccountInputError(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new AccountInputError(`password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
}

/**
 * A new account. An operator's (the CLI, the admin API) counts as verified; a sign-up's does not
 * (`emailVerified: false`) until its owner opens the verification link.
 */
export async function createAccount(db: Database, email: string, password: string, { emailVerified = true } = {}): Promise<Account> {
  const normalized = validateEmail(email);
  validatePassword(password);
  const row: AccountRow = {
    id: randomUUID(),
    email: normalized,
    password_hash: await hashPassword(password),
    created_at: new Date(),
    email_verified_at: emailVerified ? new Date() : null,
  };
  const inserted = await db<AccountRow>('accounts').insert(row).onConflict('email').ignore().returning('*');
  const created = inserted[0];
  if (!created) throw new AccountExistsError(`an account with email ${normalized} already exists`);
  return toAccount(created);
}

/**
 * An account without a password, for a person who signs in with an upstream provider; undefined when
 * the email belongs to an account already (which is never linked by email: docs/federation.md).
 */
export async function createPasswordlessAccount(db: Database | Knex.Transaction, email: string): Promise<Account | undefined> {
  const normalized = normalizeEmail(email);
  if (!emailSchema.safeParse(normalized).success) {
    throw new AccountInputError(`not a valid email address: ${JSON.stringify(email)}`);
  }
  const row: AccountRow = { id: randomUUID(), email: normalized, password_hash: null, created_at: new Date() };
  const [created] = await db<AccountRow>('accounts').insert(row).onConflict('email').ignore().returning('*');
  return created ? toAccount(created) : undefined;
}

export async function findAccountById(db: Database, id: string): Promise<Account | undefined> {
  // Read ahead with this request's token (request_scope.ts).
  const primed = takePrimed('Account', id)?.payload as AccountRow | undefined;
  if (primed) return toAccount(primed);
  const row = await db<AccountRow>('accounts').where({ id }).first();
  return row ? toAccount(row) : undefined;
}

export async function findAccountByEmail(db: Database, email: string): Promise<Account | undefined> {
  const row = await db<AccountRow>('accounts').where({ email: normalizeEmail(email) }).first();
  return row ? toAccount(row) : undefined;
}

/**
 * The account when the password matches and the account is not disabled; undefined otherwise, in
 * about the same time either way.
 */
export async function authenticate(db: Database, email: string, password: string): Promise<Account | undefined> {
  if (password.length > MAX_PASSWORD_LENGTH) return undefined;
  const row = await db<AccountRow>('accounts').where({ email: normalizeEmail(email) }).first();
  const matches = await verifyPassword(row?.password_hash ?? (await decoyPasswordHash()), password);
  return row?.password_hash && matches && !row.disabled_at ? toAccount(row) : undefined;
}

export async function listAccounts(db: Database): Promise<Account[]> {
  const rows = await db<AccountRow>('accounts').orderBy('created_at').orderBy('email');
  return rows.map(toAccount);
}

/** An operator may name an account by id or by email. */
export async function findAccountByIdOrEmail(db: Database, idOrEmail: string): Promise<Account | undefined> {
  return idOrEmail.includes('@') ? findAccountByEmail(db, idOrEmail) : findAccountById(db, idOrEmail);
}

/** Sets a new password (argon2id). False when the account does not exist. */
export async function changePassword(db: Database, accountId: string, newPassword: string): Promise<boolean> {
  validatePassword(newPassword);
  const updated = await db<AccountRow>('accounts')
    .where({ id: accountId })
    .update({ password_hash: await hashPassword(newPassword), updated_at: new Date() } as Partial<AccountRow>);
  return updated > 0;
}

/** Records that the owner opened a link mailed to the address (keeps an earlier mark). */
export async function markEmailVerified(db: Database, accountId: string): Promise<void> {
  await db<AccountRow>('accounts')
    .where({ id: accountId })
    .update({ email_verified_at: db.raw('coalesce(email_verified_at, now())') } as unknown as Partial<AccountRow>);
}

/** Emails of the accounts that still exist, by id (for tables that would otherwise show UUIDs). */
export async function findEmailsByIds(db: Database, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db<AccountRow>('accounts').select('id', 'email').whereIn('id', unique);
  return new Map(rows.map((row) => [row.id, row.email]));
}

/** Marks an account disabled (keeps an earlier mark). False when the account does not exist. */
export async function markAccountDisabled(db: Database, accountId: string): Promise<boolean> {
  const updated = await db<AccountRow>('accounts')
    .where({ id: accountId })
    .update({ disabled_at: db.raw('coalesce(disabled_at, now())') } as unknown as Partial<AccountRow>);
  return updated > 0;
}

/** Clears the disabled mark. False when the account does not exist. */
export async function markAccountEnabled(db: Database, accountId: string): Promise<boolean> {
  const updated = await db<AccountRow>('accounts').where({ id: accountId }).update({ disabled_at: null });
  return updated > 0;
}

/** Deletes the account row: its email and password hash. False when it did not exist. */
export async function deleteAccountRow(db: Database, accountId: string): Promise<boolean> {
  // `returning`: on the embedded database a bare delete does not resolve to a row count.
  const deleted = await db<AccountRow>('accounts').where({ id: accountId }).delete().returning('id');
  return deleted.length > 0;
}
