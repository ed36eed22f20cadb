// node-oidc-provider's private per-instance state, read by the canonical-path gate (its router).
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  const instance: (provider: object) => unknown;
  export default instance;
}
