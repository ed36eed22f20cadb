// The login page's "Sign in with …" buttons, and the pages an upstream sign-in can end on.
import { html, type Html } from './html.ts';
import { page } from './layout.ts';

export interface UpstreamChoice {
  id: string;
  displayName: string;
}

/** One button per upstream provider; each starts that provider's sign-in for this interaction. */
export function upstreamButtons(uid: string, upstreams: UpstreamChoice[]): Html {
  return html`<div class="upstreams">
${upstreams.map(
  (upstream) => html`<form method="post" action="/interaction/${uid}/upstream/${upstream.id}">
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
  /** The interaction to go back to, when it is known: the sign-in can be tried again. */
  retryUid?: string | undefined;
}

/** A sign-in that did not finish: what happened in plain words, and the way back to the sign-in page. */
export function upstreamProblemPage({ title, message, hint, retryUid }: UpstreamProblemInput): string {
  return page({
    title,
    body: html`<h1>${title}</h1>
<p class="error" role="alert">${message}</p>
<p class="hint">${hint}</p>
${retryUid ? html`<p><a class="button" href="/interaction/${retryUid}">Back to sign-in</a></p>` : ''}`,
  });
}
