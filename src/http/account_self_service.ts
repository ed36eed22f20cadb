// The self-service account forms: sign-up, the verification link, forgotten password and its reset
// link. Each exists only when its setting is on (404 otherwise). Answers never say whether an address
// has an account; a form over the mail limits answers 429 with Retry-After.
import type { Context } from 'koa';
import { AccountInputError } from '../storage/account_store.ts';
import type { MailPermission } from '../accounts/mail_limiter.ts';
import { InvalidLinkError, LINK_TTL, type SelfService } from '../accounts/self_service.ts';
import { type AccountPages, field, render } from './account_steps.ts';
import { csrfToken } from './csrf.ts';
import {
  type AccountLinks,
  checkYourMailPage,
  confirmEmailPage,
  emailConfirmedPage,
  forgotPasswordPage,
  linkNotWorkingPage,
  passwordResetDonePage,
  resetPasswordPage,
  signUpPage,
} from './views/self_service_pages.ts';

/** The only place a self-service page may send the browser back to: a login step of /authorize. */
export function returnTarget(value: unknown): string | undefined {
  return typeof value === 'string' && /^\/interaction\/[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined;
}

/** The self-service links a sign-in form shows, back to `returnTo` (a login step) when given. */
export function selfServiceLinks(selfService: SelfService | undefined, returnTo?: string): AccountLinks | undefined {
  if (!selfService) return undefined;
  return { signup: selfService.settings.signup === 'open', passwordReset: selfService.settings.passwordReset, returnTo };
}

function returnOf(ctx: Context): string | undefined {
  return returnTarget(field(ctx, 'return') ?? ctx.query.return);
}

function queryValue(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function tooMany(ctx: Context, permission: Extract<MailPermission, { allowed: false }>): string {
  ctx.set('Retry-After', String(permission.retryAfter));
  return `Too many requests. Try again in ${permission.retryAfter} seconds.`;
}

/** The self-service feature this route belongs to, or 404 when it is off. */
function enabled(pages: AccountPages, feature: 'signup' | 'passwordReset', ctx: Context): SelfService {
  const selfService = pages.selfService;
  const on = selfService && (feature === 'signup' ? selfService.settings.signup !== 'off' : selfService.settings.passwordReset);
  if (!on) ctx.throw(404, 'Not found');
  return selfService;
}

export function signUpFormHandler(pages: AccountPages) {
  return async function signUpForm(ctx: Context): Promise<void> {
    const selfService = enabled(pages, 'signup', ctx);
    const returnTo = returnOf(ctx);
    if (selfService.settings.signup === 'open') return render(ctx, signUpPage({ csrf: csrfToken(ctx), returnTo }));
    const token = queryValue(ctx, 'invitation');
    if (!token) {
      return render(ctx, checkYourMailPage({ heading: 'Sign-up is by invitation', message: 'Open the invitation link you were sent; the operator of this service sends them.', returnTo }), 404);
    }
    const email = await selfService.invitationEmail(token);
    if (!email) return render(ctx, linkNotWorkingPage(), 400);
    render(ctx, signUpPage({ csrf: csrfToken(ctx), invitation: { token, email }, returnTo }));
  };
}

export function signUpHandler(pages: AccountPages) {
  return async function signUp(ctx: Context): Promise<void> {
    const selfService = enabled(pages, 'signup', ctx);
    const returnTo = returnOf(ctx);
    const password = field(ctx, 'new_password') ?? '';
    const invitationToken = selfService.settings.signup === 'invite' ? (field(ctx, 'invitation') ?? '') : undefined;
    const email = field(ctx, 'email') ?? '';
    const invitation = invitationToken === undefined ? undefined : { token: invitationToken, email: (await selfService.invitationEmail(invitationToken)) ?? '' };
    const refuse = (error: string, status = 400) => render(ctx, signUpPage({ csrf: csrfToken(ctx), invitation, email, error, returnTo }), status);
    if (invitation && !invitation.email) return render(ctx, linkNotWorkingPage(), 400);
    if (password !== field(ctx, 'confirm_password')) return refuse('The two passwords do not match.');
    let permission: MailPermission;
    try {
      permission = await selfService.signUp(invitation ? { invitation: invitation.token, password } : { email, password }, ctx.ip);
    } catch (error) {
      if (error instanceof InvalidLinkError) return render(ctx, linkNotWorkingPage(), 400);
      if (error instanceof AccountInputError) return refuse(`The ${error.message}.`);
      throw error;
    }
    if (!permission.allowed) return refuse(tooMany(ctx, permission), 429);
    render(
      ctx,
      checkYourMailPage({
        heading: 'Check your email',
        message: `We have sent a link to ${invitation?.email ?? email}. Open it to confirm your address, then sign in.`,
        returnTo,
      }),
    );
  };
}

export function confirmEmailFormHandler() {
  return function confirmEmailForm(ctx: Context): void {
    const token = queryValue(ctx, 'token');
    if (!token) return render(ctx, linkNotWorkingPage(), 400);
    // A button, not the GET itself: mail scanners that open links must not use them up.
    render(ctx, confirmEmailPage({ csrf: csrfToken(ctx), token }));
  };
}

export function confirmEmailHandler(pages: AccountPages) {
  return async function confirmEmail(ctx: Context): Promise<void> {
    const account = pages.selfService && (await pages.selfService.verifyEmail(field(ctx, 'token') ?? ''));
    if (!account) return render(ctx, linkNotWorkingPage(), 400);
    render(ctx, emailConfirmedPage({ email: account.email }));
  };
}

export function forgotPasswordFormHandler(pages: AccountPages) {
  return function forgotPasswordForm(ctx: Context): void {
    enabled(pages, 'passwordReset', ctx);
    render(ctx, forgotPasswordPage({ csrf: csrfToken(ctx), returnTo: returnOf(ctx) }));
  };
}

export function forgotPasswordHandler(pages: AccountPages) {
  return async function forgotPassword(ctx: Context): Promise<void> {
    const selfService = enabled(pages, 'passwordReset', ctx);
    const returnTo = returnOf(ctx);
    const email = (field(ctx, 'email') ?? '').trim();
    if (!email) return render(ctx, forgotPasswordPage({ csrf: csrfToken(ctx), error: 'Enter your email address.', returnTo }), 400);
    const permission = await selfService.requestPasswordReset(email, ctx.ip);
    if (!permission.allowed) return render(ctx, forgotPasswordPage({ csrf: csrfToken(ctx), email, error: tooMany(ctx, permission), returnTo }), 429);
    render(
      ctx,
      checkYourMailPage({
        heading: 'Check your email',
        message: `If ${email} belongs to an account, we have sent a link to it. It works once, for ${LINK_TTL['reset-password'] / 60} minutes.`,
        returnTo,
      }),
    );
  };
}

export function resetPasswordFormHandler(pages: AccountPages) {
  return async function resetPasswordForm(ctx: Context): Promise<void> {
    const selfService = enabled(pages, 'passwordReset', ctx);
    const token = queryValue(ctx, 'token');
    if (!token || !(await selfService.resetLinkWorks(token))) return render(ctx, linkNotWorkingPage(), 400);
    render(ctx, resetPasswordPage({ csrf: csrfToken(ctx), token }));
  };
}

export function resetPasswordHandler(pages: AccountPages) {
  return async function resetPassword(ctx: Context): Promise<void> {
    const selfService = enabled(pages, 'passwordReset', ctx);
    const token = field(ctx, 'token') ?? '';
    const password = field(ctx, 'new_password') ?? '';
    const refuse = (error: string) => render(ctx, resetPasswordPage({ csrf: csrfToken(ctx), token, error }), 400);
    if (password !== field(ctx, 'confirm_password')) return refuse('The two passwords do not match.');
    let account;
    try {
      account = await selfService.resetPassword(token, password);
    } catch (error) {
      if (error instanceof AccountInputError) return refuse(`The new ${error.message}.`);
      throw error;
    }
    if (!account) return render(ctx, linkNotWorkingPage(), 400);
    render(ctx, passwordResetDonePage());
  };
}
