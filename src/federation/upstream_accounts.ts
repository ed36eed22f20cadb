// Which account an upstream user signs in to: the one linked to the upstream's `iss` and `sub`, or, when
// the operator lets this upstream provision accounts, a new one made from its (verified) email and
// linked at once. An email alone never links: an existing account with the same email is refused.
import { type Account, AccountInputError, createPasswordlessAccount, findAccountById } from '../storage/account_store.ts';
import type { Database } from '../db/connect.ts';
import { linkIdentity, signInLinkedAccount } from '../storage/upstream_identity_store.ts';
import type { UpstreamUser } from './upstream_client.ts';
import type { UpstreamProvider } from '../upstream_settings.ts';

export type UpstreamAccount =
  | { outcome: 'signed-in'; account: Account; created: boolean }
  /** The linked account is disabled by an operator. */
  | { outcome: 'disabled' }
  /** No linked account, and this upstream does not provision them. */
  | { outcome: 'no-account'; subject: string }
  /** No linked account, and no (verified) email to make one with. */
  | { outcome: 'no-email' }
  /** No linked account, and the email belongs to another account, which an email never links to. */
  | { outcome: 'email-taken'; email: string };

class LinkedMeanwhile extends Error {}

async function linkedAccount(db: Database, user: UpstreamUser): Promise<UpstreamAccount | undefined> {
  const accountId = await signInLinkedAccount(db, user.issuer, user.subject);
  if (accountId === undefined) return undefined;
  const account = await findAccountById(db, accountId);
  if (!account) return undefined;
  return account.disabledAt ? { outcome: 'disabled' } : { outcome: 'signed-in', account, created: false };
}

export async function upstreamAccount(db: Database, provider: UpstreamProvider, user: UpstreamUser): Promise<UpstreamAccount> {
  const linked = await linkedAccount(db, user);
  if (linked) return linked;
  if (!provider.autoProvision) return { outcome: 'no-account', subject: user.subject };
  if (!user.email || (provider.requireVerifiedEmail && !user.emailVerified)) return { outcome: 'no-email' };
  const email = user.email;
  const created = await db
    .transaction(async (trx) => {
      const account = await createPasswordlessAccount(trx, email);
      if (!account) return undefined;
      const link = { issuer: user.issuer, subject: user.subject, accountId: account.id, upstreamId: provider.id };
      if (!(await linkIdentity(trx, link))) throw new LinkedMeanwhile();
      return account;
    })
    .catch((error: unknown) => {
      if (error instanceof LinkedMeanwhile) return undefined;
      if (error instanceof AccountInputError) return 'not an email' as const;
      throw error;
    });
  if (created === 'not an email') return { outcome: 'no-email' };
  if (created) return { outcome: 'signed-in', account: created, created: true };
  // The email is taken — or a parallel first sign-in of the same user made the account and link just now.
  return (await linkedAccount(db, user)) ?? { outcome: 'email-taken', email };
}
