// CSRF protection for the account pages' forms: the signed double-submit pattern. A random token lives
// in a cookie signed with the server's cookie keys (so no other site or sibling host can plant one)
// and is repeated in each form; a POST passes only when both are present and equal. An Origin header
// or Fetch Metadata, when the browser sends them, must also be ours. SameSite=Strict on the cookie is a further layer.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

const COOKIE = 'account.csrf';

function cookieOptions(ctx: Context) {
  return { signed: true, httpOnly: true, sameSite: 'strict' as const, path: '/account', secure: ctx.secure, overwrite: true };
}

/** The token for this browser, creating (and setting) one when it has none. */
export function csrfToken(ctx: Context): string {
  const state = ctx.state as { csrf?: string };
  if (state.csrf) return state.csrf;
  let token = ctx.cookies.get(COOKIE, { signed: true });
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
    token = randomBytes(32).toString('base64url');
    ctx.cookies.set(COOKIE, token, cookieOptions(ctx));
  }
  state.csrf = token;
  return token;
}

/** Throws 403 unless the submitted token matches this browser's cookie and the Origin is ours. */
export function verifyCsrf(ctx: Context, submitted: unknown, expectedOrigin: string): void {
  // Our pages send no referrer, so browsers send `Origin: null` on our own form POSTs; a real other
  // origin, or Fetch Metadata naming another site, is refused before the token is even looked at.
  const origin = ctx.get('Origin');
  const site = ctx.get('Sec-Fetch-Site');
  if ((origin && origin !== 'null' && origin !== expectedOrigin) || site === 'cross-site' || site === 'same-site') {
    ctx.throw(403, 'This form was sent from another site.');
  }
  const token = ctx.cookies.get(COOKIE, { signed: true });
  if (
    typeof submitted !== 'string' ||
    !token ||
    submitted.length !== token.length ||
    !timingSafeEqual(Buffer.from(submitted), Buffer.from(token))
  ) {
    ctx.throw(403, 'This form has expired. Go back, reload the page and try again.');
  }
}
