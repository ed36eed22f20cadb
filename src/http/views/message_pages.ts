// Error and sign-out pages, also used by the provider (renderError, logoutSource).
import { html, type Html } from './html.ts';
import { page } from './layout.ts';

export interface ErrorPageInput {
  error: string;
  description?: string;
}

export function errorPage({ error, description }: ErrorPageInput): string {
  return page({
    title: 'Something went wrong',
    body: html`<h1>Something went wrong</h1>
<p class="error" role="alert"><code>${error}</code></p>
${description ? html`<p>${description}</p>` : ''}
<p class="hint">Go back to the application and try again.</p>`,
  });
}

/** `form` is the provider's own logout form markup (it carries the xsrf value). */
export function logoutPage(form: string, host: string): string {
  const providerForm: Html = { html: form };
  return page({
    title: 'Sign out',
    body: html`<h1>Sign out of ${host}?</h1>
${providerForm}
<button type="submit" class="primary" form="op.logoutForm" value="yes" name="logout" autofocus>Yes, sign me out</button>
<button type="submit" class="secondary" form="op.logoutForm">No, stay signed in</button>`,
  });
}

export function signedOutPage(clientName?: string): string {
  return page({
    title: 'Signed out',
    body: html`<h1>Signed out</h1>
<p>You are signed out${clientName ? html` of <strong>${clientName}</strong>` : ''}.</p>`,
  });
}
