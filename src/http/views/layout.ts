import { currentBrand, type Brand } from './brand.ts';
import { html, type Html } from './html.ts';

export interface PageOptions {
  title: string;
  body: Html;
  /** A wider card, for pages with lists (the account page). */
  wide?: boolean;
}

/** The one layout every page shares: no inline script or style, so the CSP can forbid both. */
export function page({ title, body, wide = false }: PageOptions): string {
  const brand = currentBrand();
  return `<!doctype html>${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · ${brand.name}</title>
<link rel="stylesheet" href="/assets/style.css">
${brand.primaryColor ? html`<link rel="stylesheet" href="/assets/brand.css">` : ''}
</head>
<body>
<main class="card${wide ? ' wide' : ''}">
${brandHeader(brand)}
${body}
${supportFooter(brand)}
</main>
</body>
</html>`.html
  }`;
}

function brandHeader(brand: Brand): Html {
  return html`<p class="brand">${brand.logoUrl ? html`<img class="brand-logo" src="${brand.logoUrl}" alt="" height="32">` : ''}<span>${brand.name}</span></p>`;
}

function supportFooter(brand: Brand): Html | string {
  return brand.supportUrl ? html`<p class="hint support"><a href="${brand.supportUrl}" rel="noopener noreferrer">Help and support</a></p>` : '';
}
