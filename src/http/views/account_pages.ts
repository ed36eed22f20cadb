// The account pages ("Connected apps"): sign-in, the list of apps, disconnect confirmations and
// results, password change, signed out. Plain forms that work without JavaScript; every state-changing
// form is a POST carrying the CSRF token.
import { html, type Html } from './html.ts';
import { page } from './layout.ts';
import { type UpstreamChoice, upstreamButtons } from './upstream_pages.ts';

export interface ScopeView {
  name: string;
  description: string;
}

export interface ConnectedAppView {
  grantId: string;
  /** As on the consent page: the client's own name (a metadata document's, else the document's host). */
  name: string;
  /** Metadata document clients: the host serving the document, which is what this server vouches for. */
  identifiedBy: string | undefined;
  clientId: string;
  clientUri: string | undefined;
  logoUri: string | undefined;
  /** Resource indicator -> scopes granted on it. */
  resources: { resource: string; name: string | undefined; scopes: ScopeView[] }[];
  firstAuthorized: Date;
  lastUsed: Date | undefined;
}

/** Counts by provider model name, as the revocation service reports them. */
export type Counts = Record<string, number>;

const COUNT_LABELS: Record<string, [string, string]> = {
  Grant: ['app authorization', 'app authorizations'],
  AccessToken: ['access token', 'access tokens'],
  RefreshToken: ['refresh token', 'refresh tokens'],
  AuthorizationCode: ['authorization code', 'authorization codes'],
  Session: ['browser session', 'browser sessions'],
};

export function describeCounts(counts: Counts): string[] {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([model, count]) => {
      const [one, many] = COUNT_LABELS[model] ?? [model, model];
      return `${count} ${count === 1 ? one : many}`;
    });
}

export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

function when(date: Date | undefined, fallback = 'Never'): Html {
  if (!date) return html`${fallback}`;
  const text = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return html`<time datetime="${date.toISOString()}">${text}</time>`;
}

/** Links only to web URLs: client metadata is the client's word, not ours. */
function webUrl(value: string | undefined): string | undefined {
  const url = value ? URL.parse(value) : null;
  return url && (url.protocol === 'https:' || url.protocol === 'http:') ? url.href : undefined;
}

function noticeBlock(notice: string | undefined): Html | string {
  return notice ? html`<p class="notice" role="status">${notice}</p>` : '';
}

export interface SignInPageInput {
  csrf: string;
  email?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
  /** Sign-up and forgotten-password links (views/self_service_pages.ts), under the form. */
  links?: Html | string | undefined;
  /** "Sign in with …" buttons (docs/federation.md). */
  upstreams?: UpstreamChoice[] | undefined;
}

export function accountSignInPage({ csrf, email, error, notice, links, upstreams = [] }: SignInPageInput): string {
  return page({
    title: 'Sign in to your account',
    body: html`<h1>Sign in to your account</h1>
${noticeBlock(notice)}
<p>See and manage the apps connected to your account.</p>
${error ? html`<p class="error" role="alert" id="sign-in-error">${error}</p>` : ''}
${upstreams.length > 0 ? upstreamButtons('/account/upstream', upstreams, csrfField(csrf)) : ''}
<form method="post" action="/account/sign-in" autocomplete="on">
${csrfField(csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus autocomplete="username" value="${email ?? ''}"${error ? html` aria-describedby="sign-in-error"` : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit" class="primary">Sign in</button>
</form>
${links ?? ''}`,
  });
}

export interface AccountPageInput {
  email: string;
  apps: ConnectedAppView[];
  csrf: string;
  notice?: string | undefined;
  /** "Delete my account" (views/self_service_pages.ts). */
  deleteLink?: Html | undefined;
}

export function accountPage({ email, apps, csrf, notice, deleteLink }: AccountPageInput): string {
  return page({
    title: 'Connected apps',
    wide: true,
    body: html`<nav class="account" aria-label="Account">
<p>Signed in as <strong>${email}</strong></p>
<div class="actions">
<a class="button" href="/account/password">Change password</a>
<form method="post" action="/account/sign-out">${csrfField(csrf)}<button type="submit" class="secondary">Sign out</button></form>
</div>
</nav>
<h1>Connected apps</h1>
${noticeBlock(notice)}
${
  apps.length === 0
    ? html`<p>No apps are connected to your account.</p>`
    : html`<p>These apps can access your account. Disconnecting one signs it out: its tokens stop working at once, and it must ask you again.</p>
<ul class="apps">
${apps.map(appItem)}
</ul>
<div class="actions"><a class="button" href="/account/disconnect-all">Disconnect all apps</a></div>`
}
${deleteLink ?? ''}`,
  });
}

function appItem(app: ConnectedAppView): Html {
  const headingId = `app-${app.grantId}`;
  const link = webUrl(app.clientUri);
  const logo = webUrl(app.logoUri);
  return html`<li class="app" aria-labelledby="${headingId}">
${logo ? html`<img class="logo" src="${logo}" alt="" width="48" height="48">` : ''}
<h2 id="${headingId}">${app.name}</h2>
${app.identifiedBy ? html`<p class="identity">Identified by <strong>${app.identifiedBy}</strong>: its name and logo come from <code>${app.clientId}</code>.</p>` : ''}
${link ? html`<p><a href="${link}" rel="noopener noreferrer">${link}</a></p>` : ''}
<dl>
${app.resources.map(
  (entry) => html`<dt>Access to</dt><dd>${entry.name ? html`<strong>${entry.name}</strong> ` : ''}<code>${entry.resource}</code></dd>
<dt>Scopes</dt><dd><ul class="scopes">${entry.scopes.map((scope) => html`<li><code>${scope.name}</code> ${scope.description}</li>`)}</ul></dd>`,
)}
<dt>First authorized</dt><dd>${when(app.firstAuthorized)}</dd>
<dt>Last used</dt><dd>${when(app.lastUsed)}</dd>
</dl>
<div class="actions"><a class="button" href="/account/apps/${encodeURIComponent(app.grantId)}/disconnect" aria-describedby="${headingId}">Disconnect</a></div>
</li>`;
}

export function confirmDisconnectPage({ app, csrf }: { app: ConnectedAppView; csrf: string }): string {
  return page({
    title: `Disconnect ${app.name}?`,
    body: html`<h1>Disconnect ${app.name}?</h1>
<p><strong>${app.name}</strong> will lose access to your account right away: its access and refresh tokens stop working. To use it again, you will have to connect it again.</p>
<form method="post" action="/account/apps/${encodeURIComponent(app.grantId)}/disconnect">
${csrfField(csrf)}
<button type="submit" class="danger">Disconnect ${app.name}</button>
</form>
<p><a class="button" href="/account">Cancel</a></p>`,
  });
}

export function confirmDisconnectAllPage({ apps, csrf }: { apps: ConnectedAppView[]; csrf: string }): string {
  return page({
    title: 'Disconnect all apps?',
    body: html`<h1>Disconnect all apps?</h1>
<p>These ${apps.length === 1 ? 'app' : html`${apps.length} apps`} will lose access to your account right away:</p>
<ul>${apps.map((app) => html`<li><strong>${app.name}</strong></li>`)}</ul>
<p>You stay signed in here.</p>
<form method="post" action="/account/disconnect-all">
${csrfField(csrf)}
<button type="submit" class="danger">Disconnect all apps</button>
</form>
<p><a class="button" href="/account">Cancel</a></p>`,
  });
}

export function revokedPage({ heading, counts }: { heading: string; counts: Counts }): string {
  const lines = describeCounts(counts);
  return page({
    title: heading,
    body: html`<h1>${heading}</h1>
<div role="status">
${
  lines.length === 0
    ? html`<p>Nothing was left to revoke: the access had already ended.</p>`
    : html`<p>Revoked:</p><ul class="counts">${lines.map((line) => html`<li>${line}</li>`)}</ul>`
}
</div>
<p><a class="button" href="/account" autofocus>Back to connected apps</a></p>`,
  });
}

export interface PasswordPageInput {
  csrf: string;
  error?: string | undefined;
}

export function passwordPage({ csrf, error }: PasswordPageInput): string {
  const described = error ? html` aria-describedby="password-error"` : '';
  return page({
    title: 'Change password',
    body: html`<h1>Change password</h1>
${error ? html`<p class="error" role="alert" id="password-error">${error}</p>` : ''}
<form method="post" action="/account/password">
${csrfField(csrf)}
<label for="current_password">Current password</label>
<input id="current_password" name="current_password" type="password" required autofocus autocomplete="current-password"${described}>
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" required minlength="8" autocomplete="new-password" aria-describedby="new-password-hint">
<p class="hint" id="new-password-hint">At least 8 characters.</p>
<label for="confirm_password">New password again</label>
<input id="confirm_password" name="confirm_password" type="password" required minlength="8" autocomplete="new-password">
<p class="hint">Changing it signs you out everywhere else.</p>
<label class="checkbox" for="revoke_apps"><input id="revoke_apps" name="revoke_apps" type="checkbox" value="yes"> <span>Also disconnect all apps</span></label>
<button type="submit" class="primary">Change password</button>
</form>
<p><a class="button" href="/account">Cancel</a></p>`,
  });
}

export function passwordChangedPage({ counts }: { counts: Counts | undefined }): string {
  const lines = counts ? describeCounts(counts) : [];
  return page({
    title: 'Password changed',
    body: html`<h1>Password changed</h1>
<div role="status">
<p>Your password has been changed. Use the new one from now on.</p>
<p>You are signed out everywhere else.</p>
${counts ? (lines.length ? html`<p>Also revoked:</p><ul class="counts">${lines.map((line) => html`<li>${line}</li>`)}</ul>` : html`<p>No apps were connected.</p>`) : html`<p>Your connected apps keep their access.</p>`}
</div>
<p><a class="button" href="/account" autofocus>Back to connected apps</a></p>`,
  });
}

export function accountSignedOutPage(): string {
  return page({
    title: 'Signed out',
    body: html`<h1>Signed out</h1>
<p role="status">You are signed out. Apps you connected keep their access until you disconnect them.</p>
<p><a class="button" href="/account">Sign in again</a></p>`,
  });
}
