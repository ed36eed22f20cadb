// Login and consent pages: plain forms that work without JavaScript.
import { html } from './html.ts';
import { page } from './layout.ts';

export interface LoginPageInput {
  uid: string;
  clientName: string;
  email?: string;
  error?: string;
}

export function loginPage({ uid, clientName, email, error }: LoginPageInput): string {
  return page({
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
<p><strong>${clientName}</strong> wants to access your account.</p>
${error ? html`<p class="error" role="alert" id="login-error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login" autocomplete="on">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus autocomplete="username" value="${email ?? ''}"${error ? html` aria-describedby="login-error"` : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit" class="primary">Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  });
}

export interface ScopeLine {
  name: string;
  description: string;
}

export interface ConsentPageInput {
  uid: string;
  clientName: string;
  clientUri?: string;
  logoUri?: string;
  accountEmail: string;
  resource?: string;
  scopes: ScopeLine[];
}

export function consentPage(input: ConsentPageInput): string {
  const { uid, clientName, clientUri, logoUri, accountEmail, resource, scopes } = input;
  return page({
    title: 'Authorize access',
    body: html`<h1>Authorize ${clientName}</h1>
${logoUri ? html`<img class="logo" src="${logoUri}" alt="" width="48" height="48">` : ''}
<p>Signed in as <strong>${accountEmail}</strong>.</p>
<p><strong>${clientName}</strong>${clientUri ? html` (<a href="${clientUri}" rel="noopener noreferrer">${clientUri}</a>)` : ''} asks for:</p>
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
