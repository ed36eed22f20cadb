import { html, type Html } from './html.ts';

export interface PageOptions {
  title: string;
  body: Html;
  /** A wider card, for pages with lists (the account page). */
  wide?: boolean;
}

/** The one layout every page shares: no inline script or style, so the CSP can forbid both. */
export function page({ title, body, wide = false }: PageOptions): string {
  return `<!doctype html>${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Portcullis</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<main class="card${wide ? ' wide' : ''}">
<p class="brand">Portcullis</p>
${body}
</main>
</body>
</html>`.html
  }`;
}
