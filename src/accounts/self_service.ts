// Local accounts people manage themselves: sign-up (open or by invitation), email verification,
// forgotten password. Every link is single-use, expires, and is stored only as its hash
// (src/storage/account_token_store.ts). Mail goes out after the answer is decided and is not waited
// for, so neither the page nor its timing tells whether an address has an account.
import type { Database } from '../db/connect.ts';
import type { SelfServiceSettings } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { BrandSettings as Brand } from '../config.ts';
import { alreadyRegisteredMail, passwordResetMail, verificationMail } from '../mail/account_mail.ts';
import type { Mail, Mailer } from '../mail/mailer.ts';
import type { RevocationService } from '../revocation/revocation_service.ts';
import {
  type AccountTokenPurpose,
  consumeAccountToken,
  deleteAccountTokens,
  issueAccountToken,
  peekAccountToken,
} from '../storage/account_token_store.ts';
import {
  type Account,
  AccountExistsError,
  changePassword,
  createAccount,
  findAccountByEmail,
  findAccountById,
  markEmailVerified,
  validateEmail,
  validatePassword,
} from '../storage/account_store.ts';
import type { MailLimiter, MailPermission } from './mail_limiter.ts';

/** How long each link works. */
export const LINK_TTL: Record<AccountTokenPurpose, number> = {
  'verify-email': 24 * 60 * 60,
  'reset-password': 30 * 60,
  invitation: 7 * 24 * 60 * 60,
};

export interface SelfServiceDependencies {
  db: Database;
  settings: SelfServiceSettings;
  mailer: Mailer;
  mailLimits: MailLimiter;
  revocation: RevocationService;
  brand: Brand;
  /** Links in mails start here. */
  issuer: string;
  logger: Logger;
}

export type SignUpRequest = { email: string; password: string } | { invitation: string; password: string };

export interface SelfService {
  settings: SelfServiceSettings;
  /** Creates an unverified account and mails its verification link (or, for a taken address, a note to its owner). */
  signUp(request: SignUpRequest, address: string): Promise<MailPermission>;
  /** The email an unexpired invitation names. */
  invitationEmail(invitation: string): Promise<string | undefined>;
  /** Mails a new verification link to an account that proved its password but not its address yet. */
  resendVerification(account: Account, address: string): Promise<MailPermission>;
  /** Uses a verification link: the account it names, now verified. */
  verifyEmail(token: string): Promise<Account | undefined>;
  /** Mails a reset link if an enabled account has `email`; answers the same either way. */
  requestPasswordReset(email: string, address: string): Promise<MailPermission>;
  /** Whether a reset link still works (its form is shown). */
  resetLinkWorks(token: string): Promise<boolean>;
  /** Uses a reset link: sets the password, verifies the address, signs the account out everywhere. */
  resetPassword(token: string, password: string): Promise<Account | undefined>;
}

/** A new single-use invitation link for `email` (`users invite`, the admin API), for SIGNUP=invite. */
export async function inviteAccount(db: Database, issuer: string, email: string): Promise<{ email: string; link: string; expiresAt: Date }> {
  const normalized = validateEmail(email);
  if (await findAccountByEmail(db, normalized)) throw new AccountExistsError(`an account with email ${normalized} already exists`);
  const { value, expiresAt } = await issueAccountToken(db, 'invitation', { email: normalized }, LINK_TTL.invitation);
  return { email: normalized, link: `${issuer}/account/sign-up?invitation=${encodeURIComponent(value)}`, expiresAt };
}

export function createSelfService({ db, settings, mailer, mailLimits, revocation, brand, issuer, logger }: SelfServiceDependencies): SelfService {
  const link = (path: string, parameter: string, value: string) => `${issuer}/account/${path}?${parameter}=${encodeURIComponent(value)}`;

  /** Sends without making the request wait for (or reveal) the outcome; failures are logged. */
  function deliver(compose: () => Promise<Mail | undefined>): void {
    compose()
      .then((mail) => mail && mailer.send(mail))
      .catch((error: unknown) => logger.error({ err: error }, 'account mail could not be sent'));
  }

  async function verificationFor(account: Account): Promise<Mail> {
    const { value } = await issueAccountToken(db, 'verify-email', { accountId: account.id }, LINK_TTL['verify-email']);
    return verificationMail(brand, account.email, link('verify-email', 'token', value), LINK_TTL['verify-email']);
  }

  async function emailOf(request: SignUpRequest): Promise<string | undefined> {
    if ('email' in request) return request.email;
    return (await peekAccountToken(db, 'invitation', request.invitation))?.email;
  }

  return {
    settings,

    async signUp(request, address) {
      const given = await emailOf(request);
      if (given === undefined) throw new InvalidLinkError();
      const email = validateEmail(given);
      validatePassword(request.password);
      const permission = await mailLimits(email, address);
      if (!permission.allowed) return permission;
      if ('invitation' in request && !(await consumeAccountToken(db, 'invitation', request.invitation))) throw new InvalidLinkError();
      try {
        const account = await createAccount(db, email, request.password, { emailVerified: false });
        deliver(() => verificationFor(account));
      } catch (error) {
        if (!(error instanceof AccountExistsError)) throw error;
        const reset = settings.passwordReset ? `${issuer}/account/forgot-password` : undefined;
        deliver(async () => alreadyRegisteredMail(brand, email, `${issuer}/account`, reset));
      }
      return permission;
    },

    async invitationEmail(invitation) {
      return (await peekAccountToken(db, 'invitation', invitation))?.email;
    },

    async resendVerification(account, address) {
      const permission = await mailLimits(account.email, address);
      if (permission.allowed) deliver(() => verificationFor(account));
      return permission;
    },

    async verifyEmail(token) {
      const used = await consumeAccountToken(db, 'verify-email', token);
      if (!used?.accountId) return undefined;
      await markEmailVerified(db, used.accountId);
      await deleteAccountTokens(db, used.accountId, 'verify-email');
      return findAccountById(db, used.accountId);
    },

    async requestPasswordReset(email, address) {
      const permission = await mailLimits(email, address);
      if (!permission.allowed) return permission;
      deliver(async () => {
        const account = await findAccountByEmail(db, email);
        if (!account || account.disabledAt) return undefined;
        const { value } = await issueAccountToken(db, 'reset-password', { accountId: account.id }, LINK_TTL['reset-password']);
        return passwordResetMail(brand, account.email, link('reset-password', 'token', value), LINK_TTL['reset-password']);
      });
      return permission;
    },

    async resetLinkWorks(token) {
      return (await peekAccountToken(db, 'reset-password', token)) !== undefined;
    },

    async resetPassword(token, password) {
      validatePassword(password);
      const used = await consumeAccountToken(db, 'reset-password', token);
      const account = used?.accountId ? await findAccountById(db, used.accountId) : undefined;
      if (!account || account.disabledAt) return undefined;
      await changePassword(db, account.id, password);
      // The link reached the inbox, so the address is the owner's; other reset links die with the old password.
      await markEmailVerified(db, account.id);
      await deleteAccountTokens(db, account.id, 'reset-password');
      await revocation.endSessions(account.id, { actor: { type: 'user', id: account.id }, reason: 'password reset by a mailed link' });
      return account;
    },

  };
}

/** The link is unknown, used or expired. */
export class InvalidLinkError extends Error {
  override name = 'InvalidLinkError';
  constructor() {
    super('this link does not work: it is unknown, already used or expired');
  }
}
