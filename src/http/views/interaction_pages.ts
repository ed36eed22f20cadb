// Login and consent pages: plain forms that work without JavaScript.
import type { ClientIdentity, ReturnTarget } from '../client_identity.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';
import { type UpstreamChoice, upstreamButtons } from './upstream_pages.ts';

export interface LoginPageInput {
  uid: string;
  clientName: string;
  email?: string;
  error?: string;
  /** Sign-up and forgotten-password links (views/self_service_pages.ts), under the password form. */
  links?: Html | string;
  /** Upstream providers offered above the password form (docs/federation.md). */
  upstreams?: UpstreamChoice[];
  /** The email and password form (PASSWORD_SIGN_IN); default shown. */
  passwordForm?: boolean;
}

export function loginPage({ uid, clientName, email, error, links, upstreams = [], passwordForm = true }: LoginPageInput): string {
  return page({
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
<p><strong>${clientName}</strong> wants to access your account.</p>
${error ? html`<p class="error" role="alert" id="login-error">${error}</p>` : ''}
${upstreams.length > 0 ? upstreamButtons(`/interaction/${uid}/upstream`, upstreams) : ''}
${passwordForm ? html`${passwordSignIn({ uid, email, error, withUpstreams: upstreams.length > 0 })}
${links ?? ''}` : ''}
<form method="post" action="/interaction/${uid}/abort">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  });
}

function passwordSignIn({ uid, email, error, withUpstreams }: { uid: string; email?: string | undefined; error?: string | undefined; withUpstreams: boolean }): Html {
  return html`${withUpstreams ? html`<p class="hint">Or with your email and password:</p>` : ''}
<form method="post" action="/interaction/${uid}/login" autocomplete="on">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus autocomplete="username" value="${email ?? ''}"${error ? html` aria-describedby="login-error"` : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit" class="primary">Sign in</button>
</form>`;
}

export interface ScopeLine {
  name: string;
  description: string;
}

export interface ConsentPageInput {
  uid: string;
  client: ClientIdentity;
  accountEmail: string;
  /** The resource URL(s) asked for, and their registered display names. */
  resource?: string | undefined;
  resourceName?: string | undefined;
  scopes: ScopeLine[];
}

/** Who is asking, as far as this server knows: the document's host, or an unverified name. */
function clientSource(client: ClientIdentity): Html {
  if (client.source.kind === 'document') {
    return html`<p class="identity">Identified by <strong>${client.source.host}</strong>: its name and logo come from <code>${client.source.clientId}</code>.</p>`;
  }
  return html`<p class="identity unverified"><strong>Unverified name.</strong> “${client.name}” was chosen by whoever registered this application; this server does not check it.</p>`;
}

function returnsTo(target: ReturnTarget | undefined): Html | string {
  if (!target) return '';
  if (target.kind === 'web') return html`<p class="identity">After you choose, you are sent to <strong>${target.host}</strong>.</p>`;
  if (target.kind === 'device') return html`<p class="identity">After you choose, you are sent to an application on this device (<strong>${target.host}</strong>).</p>`;
  return html`<p class="identity">After you choose, you are sent to the app that opens <code>${target.scheme}</code> links.</p>`;
}

export function consentPage(input: ConsentPageInput): string {
  const { uid, client, accountEmail, resource, resourceName, scopes } = input;
  const { name, clientUri, logoUri } = client;
  return page({
    title: 'Authorize access',
    body: html`<h1>Authorize ${name}${client.source.kind === 'registered' ? html` <span class="tag">unverified</span>` : ''}</h1>
${logoUri ? html`<img class="logo" src="${logoUri}" alt="" width="48" height="48">` : ''}
${clientSource(client)}
${returnsTo(client.returnsTo)}
<p>Signed in as <strong>${accountEmail}</strong>.</p>
<p><strong>${name}</strong>${clientUri ? html` (<a href="${clientUri}" rel="noopener noreferrer">${clientUri}</a>)` : ''} asks for${resourceName ? html` access to <strong>${resourceName}</strong>` : ''}:</p>
<ul class="scopes">
${scopes.map((scope) => html`<li><code>${scope.name}</code> ${scope.description}</li>`)}
</ul>
${resource ? html`<p>on <code>${resource}</code></p>` : ''}
<p class="hint">You can disconnect this app at any time on <a href="/account">your connected apps page</a>.</p>
<form method="post" action="/interaction/${uid}/confirm">
<button type="submit" class="primary" autofocus>Allow</button>
</form>
<form method="post" action="/interaction/${uid}/abort">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  });
}
