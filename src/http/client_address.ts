// Which address a request comes from — one rule for every surface (rate limits, sign-in limits,
// anything the provider records). Behind `hops` reverse proxies, each appending the address it saw
// to X-Forwarded-For, the client is the `hops`-th entry from the right: the last proxy's peer is the
// socket, and everything left of the trusted entries is whatever the client chose to send.
// Koa does exactly this with `proxy` on and `maxIpsCount = hops`: ctx.ips keeps the right-most
// `hops` entries and ctx.ip is the first of them (the socket address when the header is absent).
// With 0 hops the forwarded headers are ignored and ctx.ip is the socket address.
import type Koa from 'koa';

export function trustProxyHops(app: Koa, hops: number): void {
  app.proxy = hops > 0;
  app.maxIpsCount = hops;
}
