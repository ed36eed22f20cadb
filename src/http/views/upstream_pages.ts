// The login page's "Sign in with …" buttons, and the pages an upstream sign-in can end on.
import { html, type Html } from './html.ts';
import { page } from './layout.ts';

export interface UpstreamChoice {
  id: string;
  displayName: string;
}

/** One button per upstream provider, each posting to `<base>/<id>` (with `hidden` fields: a CSRF token). */
export function upstreamButtons(base: string, upstreams: UpstreamChoice[], hidden: Html | '' = ''): Html {
  return html`<div class="upstreams">
${upstreams.map(
  (upstream) => html`<form method="post" action="${base}/${upstream.id}">${hidden}
<button type="submit" class="secondary">Sign in with ${upstream.displayName}</button>
</form>`,
)}
</div>`;
}

export interface UpstreamProblemInput {
  title: string;
  message: string;
  /** What the person can do about it. */
  hint: string;
  /** Where the sign-in can be tried again (the interaction's login page, or /account), when known. */
  retry?: string | undefined;
}

/** A sign-in that did not finish: what happened in plain words, and the way back to the sign-in page. */
export function upstreamProblemPage({ title, message, hint, retry }: UpstreamProblemInput): string {
  return page({
    title,
    body: html`<h1>${title}</h1>
<p class="error" role="alert">${message}</p>
<p class="hint">${hint}</p>
${retry ? html`<p><a class="button" href="${retry}">Back to sign-in</a></p>` : ''}`,
  });
}
