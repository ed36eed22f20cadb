// Plays the browser through an authorization that signs in upstream: follows redirects across both
// servers, presses "Sign in with <upstream>" on the login page and Allow on the consent page, and stops
// at the client's redirect URI (a code) or at any other page (an error page, a login page).
import { CookieJar, REDIRECT_URI } from '../support/oauth_flow.ts';

export interface Visit {
  status: number;
  url: URL;
  html: string;
  /** The code, when the flow reached the redirect URI. */
  code?: string;
}

export interface BrowseOptions {
  /** Which upstream button to press on the login page. */
  upstream: string;
  jar?: CookieJar;
  /** Whose cookies `jar` holds (host:port); default: the start URL's. */
  jarHost?: string;
  redirectUri?: string;
  /** Changes a URL before it is visited (an attacker's or a broken upstream's answer); may be async. */
  route?: (url: URL) => URL | Promise<URL>;
  /** Press the upstream button at most this many times (a retry presses it again). */
  presses?: number;
  /** Fills a password form (the upstream's own login page, when it is a Portcullis). */
  credentials?: { email: string; password: string };
}

export async function browse(start: URL, options: BrowseOptions): Promise<Visit> {
  // One jar per host and port, as a browser keeps cookies of different sites (two Portcullis
  // instances use the same cookie names).
  const jars = new Map([[options.jarHost ?? start.host, options.jar ?? new CookieJar()]]);
  const jarFor = (url: URL) => jars.get(url.host) ?? jars.set(url.host, new CookieJar()).get(url.host)!;
  const redirectUri = options.redirectUri ?? REDIRECT_URI;
  let presses = options.presses ?? 1;
  let url = start;
  let request: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 30; hop += 1) {
    url = options.route ? await options.route(url) : url;
    const jar = jarFor(url);
    const response = await fetch(url, { ...request, redirect: 'manual', headers: { ...(request.headers as Record<string, string>), cookie: jar.header() } });
    jar.store(response);
    const location = response.headers.get('location');
    if (location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.href.startsWith(redirectUri)) return { status: response.status, url: next, html: '', code: next.searchParams.get('code') ?? undefined };
      url = next;
      request = { method: 'GET' };
      continue;
    }
    const html = await response.text();
    const actions = [...html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((match) => match[1]!);
    const press = actions.find((action) => action.endsWith(`/upstream/${options.upstream}`));
    const allow = actions.find((action) => action.endsWith('/confirm'));
    const login = options.credentials && !press ? actions.find((action) => action.endsWith('/login')) : undefined;
    const action = response.status === 200 ? (press && presses > 0 ? press : (allow ?? login)) : undefined;
    if (!action) return { status: response.status, url, html };
    if (action === press) presses -= 1;
    url = new URL(action, url);
    const fields = action === login ? options.credentials! : {};
    request = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
  }
  throw new Error('too many redirects');
}

/** The interaction uid a page belongs to (its forms post to /interaction/<uid>/...). */
export function interactionUidOf(visit: Visit): string | undefined {
  return /\/interaction\/([^/"]+)/.exec(visit.html)?.[1] ?? /\/interaction\/([^/]+)/.exec(visit.url.pathname)?.[1];
}
