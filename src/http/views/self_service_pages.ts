// Self-service account pages: sign-up, email verification, forgotten password, deleting one's own
// account, and the links the sign-in forms show to them. Plain forms carrying the CSRF token.
import { type Counts, csrfField, describeCounts } from './account_pages.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';

/** Which self-service pages the sign-in forms link to; `returnTo` is the sign-in to come back to. */
export interface AccountLinks {
  signup: boolean;
  passwordReset: boolean;
  returnTo?: string | undefined;
}

function query(returnTo: string | undefined): string {
  return returnTo ? `?return=${encodeURIComponent(returnTo)}` : '';
}

/** "Create an account" and "Forgot your password?" under a sign-in form (nothing when both are off). */
export function accountLinks(links: AccountLinks | undefined): Html | string {
  if (!links || (!links.signup && !links.passwordReset)) return '';
  return html`<p class="links">
${links.signup ? html`<a href="/account/sign-up${query(links.returnTo)}">Create an account</a>` : ''}
${links.passwordReset ? html`<a href="/account/forgot-password${query(links.returnTo)}">Forgot your password?</a>` : ''}
</p>`;
}

function backToSignIn(returnTo: string | undefined): Html {
  return html`<p><a class="button" href="${returnTo ?? '/account'}">Back to sign in</a></p>`;
}

function errorBlock(id: string, error: string | undefined): Html | string {
  return error ? html`<p class="error" role="alert" id="${id}">${error}</p>` : '';
}

function returnField(returnTo: string | undefined): Html | string {
  return returnTo ? html`<input type="hidden" name="return" value="${returnTo}">` : '';
}

export interface SignUpPageInput {
  csrf: string;
  /** By invitation: the link's value and the address it names (not editable). */
  invitation?: { token: string; email: string } | undefined;
  email?: string | undefined;
  error?: string | undefined;
  returnTo?: string | undefined;
}

export function signUpPage({ csrf, invitation, email, error, returnTo }: SignUpPageInput): string {
  const described = error ? html` aria-describedby="sign-up-error"` : '';
  return page({
    title: 'Create an account',
    body: html`<h1>Create an account</h1>
${errorBlock('sign-up-error', error)}
<form method="post" action="/account/sign-up">
${csrfField(csrf)}
${returnField(returnTo)}
${
  invitation
    ? html`<input type="hidden" name="invitation" value="${invitation.token}">
<label for="email">Email</label>
<input id="email" type="email" value="${invitation.email}" readonly>`
    : html`<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus autocomplete="email" value="${email ?? ''}"${described}>`
}
<label for="new_password">Password</label>
<input id="new_password" name="new_password" type="password" required minlength="8" autocomplete="new-password" aria-describedby="new-password-hint"${invitation ? html` autofocus` : ''}>
<p class="hint" id="new-password-hint">At least 8 characters.</p>
<label for="confirm_password">Password again</label>
<input id="confirm_password" name="confirm_password" type="password" required minlength="8" autocomplete="new-password">
<button type="submit" class="primary">Create account</button>
</form>
${backToSignIn(returnTo)}`,
  });
}

export function checkYourMailPage({ heading, message, returnTo }: { heading: string; message: string; returnTo?: string | undefined }): string {
  return page({
    title: heading,
    body: html`<h1>${heading}</h1>
<p role="status">${message}</p>
${backToSignIn(returnTo)}`,
  });
}

export function linkNotWorkingPage(): string {
  return page({
    title: 'This link does not work',
    body: html`<h1>This link does not work</h1>
<p class="error" role="alert">It is unknown, was already used, or has expired.</p>
<p>Signing in with a password that works sends a new verification link; "Forgot your password?" sends a new reset link.</p>
${backToSignIn(undefined)}`,
  });
}

export function confirmEmailPage({ csrf, token }: { csrf: string; token: string }): string {
  return page({
    title: 'Confirm your email address',
    body: html`<h1>Confirm your email address</h1>
<form method="post" action="/account/verify-email">
${csrfField(csrf)}
<input type="hidden" name="token" value="${token}">
<button type="submit" class="primary" autofocus>Confirm my email address</button>
</form>`,
  });
}

export function emailConfirmedPage({ email }: { email: string }): string {
  return page({
    title: 'Email address confirmed',
    body: html`<h1>Email address confirmed</h1>
<p role="status"><strong>${email}</strong> is confirmed. You can sign in now: go back to the page that sent you here, or sign in below.</p>
${backToSignIn(undefined)}`,
  });
}

export function forgotPasswordPage({ csrf, email, error, returnTo }: { csrf: string; email?: string | undefined; error?: string | undefined; returnTo?: string | undefined }): string {
  return page({
    title: 'Forgot your password?',
    body: html`<h1>Forgot your password?</h1>
<p>Enter the email address of your account: we mail you a link to choose a new password.</p>
${errorBlock('forgot-error', error)}
<form method="post" action="/account/forgot-password">
${csrfField(csrf)}
${returnField(returnTo)}
<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus autocomplete="email" value="${email ?? ''}">
<button type="submit" class="primary">Send the link</button>
</form>
${backToSignIn(returnTo)}`,
  });
}

export function resetPasswordPage({ csrf, token, error }: { csrf: string; token: string; error?: string | undefined }): string {
  return page({
    title: 'Choose a new password',
    body: html`<h1>Choose a new password</h1>
${errorBlock('reset-error', error)}
<form method="post" action="/account/reset-password">
${csrfField(csrf)}
<input type="hidden" name="token" value="${token}">
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" required minlength="8" autofocus autocomplete="new-password" aria-describedby="new-password-hint">
<p class="hint" id="new-password-hint">At least 8 characters. Setting it signs you out everywhere.</p>
<label for="confirm_password">New password again</label>
<input id="confirm_password" name="confirm_password" type="password" required minlength="8" autocomplete="new-password">
<button type="submit" class="primary">Set the new password</button>
</form>`,
  });
}

export function passwordResetDonePage(): string {
  return page({
    title: 'Password changed',
    body: html`<h1>Password changed</h1>
<p role="status">Your new password works from now on; you are signed out everywhere. Your connected apps keep their access.</p>
${backToSignIn(undefined)}`,
  });
}

/** On the account page, below the connected apps. */
export function deleteAccountLink(): Html {
  return html`<p class="hint"><a href="/account/delete">Delete my account</a></p>`;
}

export function deleteAccountPage({ csrf, email, error }: { csrf: string; email: string; error?: string | undefined }): string {
  return page({
    title: 'Delete your account?',
    body: html`<h1>Delete your account?</h1>
<p><strong>${email}</strong> and everything it holds is erased for good: every connected app loses access at once, you are signed out everywhere, and your email address and password are deleted.</p>
${errorBlock('delete-error', error)}
<form method="post" action="/account/delete">
${csrfField(csrf)}
<label for="password">Your password, to confirm</label>
<input id="password" name="password" type="password" required autofocus autocomplete="current-password"${error ? html` aria-describedby="delete-error"` : ''}>
<button type="submit" class="danger">Delete my account</button>
</form>
<p><a class="button" href="/account">Cancel</a></p>`,
  });
}

export function accountDeletedPage({ counts }: { counts: Counts }): string {
  // What was revoked; the account row and its notes are the erased data the first line speaks of.
  const lines = describeCounts(Object.fromEntries(Object.entries(counts).filter(([model]) => model !== 'Account' && model !== 'Note')));
  return page({
    title: 'Account deleted',
    body: html`<h1>Account deleted</h1>
<div role="status">
<p>Your account and its personal data are deleted.</p>
${lines.length ? html`<p>Revoked:</p><ul class="counts">${lines.map((line) => html`<li>${line}</li>`)}</ul>` : ''}
</div>`,
  });
}
