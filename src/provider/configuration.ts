// The node-oidc-provider configuration: every option this product sets, and why.
// Everything not set here is the library's default (see its docs/README.md).
import { randomUUID } from 'node:crypto';
import type { Configuration } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Account } from '../storage/account_store.ts';
import type { Config } from '../config.ts';
import type { ServerKeys } from '../storage/key_store.ts';
import { clientMetadataDocuments } from './client_id_metadata.ts';
import { revokeGrantPolicy } from './library_revocations.ts';
import { applyRedirectPolicy } from './redirect_policy.ts';
import { ADMIN_SCOPE, adminResource, DPOP_SIGNING_ALGS, OIDC_SCOPES, sameResource } from '../scopes.ts';
import type { StoredResource } from '../storage/resource_store.ts';

/** The library's default client authentication methods, named here so discovery can say which endpoint takes which. */
const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none'] as const;

/** Seconds a stored artifact stays usable past its expiry; the adapter and janitor use it too. */
export const CLOCK_TOLERANCE = 15;

type LogoutFeature = NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>;

/** The pages the library renders itself, drawn by the HTTP layer (http/provider_pages.ts). */
export interface ProviderPages {
  renderError: NonNullable<Configuration['renderError']>;
  logoutSource: NonNullable<LogoutFeature['logoutSource']>;
  postLogoutSuccessSource: NonNullable<LogoutFeature['postLogoutSuccessSource']>;
}

/** The registered resources tokens are issued for (src/resources/resource_registry.ts). */
export interface ProviderResources {
  /** The registered resource an RFC 8707 indicator names (undefined: none). */
  find(indicator: string): Promise<StoredResource | undefined>;
  list(): Promise<StoredResource[]>;
  /** Their scope names, at hand synchronously (the library's supported-scope list). */
  scopeNames(): string[];
}

export interface ConfigurationDependencies {
  config: Config;
  keys: ServerKeys;
  adapter: NonNullable<Configuration['adapter']>;
  findAccountById: (id: string) => Promise<Account | undefined>;
  isOperatorClient: (clientId: string) => Promise<boolean>;
  /** The resource a resource-server client may introspect tokens of (undefined: not one). */
  resourceServerResource: (clientId: string) => Promise<string | undefined>;
  /** The registered protected resources (src/resources): token audiences, their scopes and lifetimes. */
  resources: ProviderResources;
  pages: ProviderPages;
}

export function providerConfiguration(dependencies: ConfigurationDependencies): Configuration {
  const { config, keys, adapter, findAccountById, isOperatorClient, resourceServerResource, resources, pages } = dependencies;
  const admin = adminResource(config.issuer);
  const documents = clientMetadataDocuments(config);

  return {
    adapter,
    jwks: { keys: keys.signingKeys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: {
      keys: keys.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    clockTolerance: CLOCK_TOLERANCE,
    // DPoP (on by default) binds tokens at /token; the resource servers check proofs with the same algorithms.
    enabledJWA: { dPoPSigningAlgValues: DPOP_SIGNING_ALGS },

    routes: {
      authorization: '/authorize',
      token: '/token',
      revocation: '/revoke',
      introspection: '/introspect',
      registration: '/reg',
      jwks: '/jwks',
      userinfo: '/me',
      end_session: '/session/end',
    },

    clientAuthMethods: CLIENT_AUTH_METHODS,
    // RFC 8414's default for these is client_secret_basic alone. /revoke takes public clients (none);
    // introspection answers only resource servers, which are confidential clients.
    discovery: {
      revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter((method) => method !== 'none'),
    },

    // OAuth 2.1: authorization code with PKCE only.
    responseTypes: ['code'],
    pkce: { required: () => true },
    // Registered resources' scopes are listed too: clients (the MCP SDK, ChatGPT) register with `scope`,
    // which the library checks against this list, and discovery's scopes_supported then names them.
    // The list follows the registry at run time (src/provider/registered_scopes.ts).
    scopes: [...Object.keys(OIDC_SCOPES), ...resources.scopeNames()],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },

    async findAccount(_ctx, sub) {
      const account = await findAccountById(sub);
      // A disabled account is not found: no authorization or token can be issued for it.
      if (!account || account.disabledAt) return undefined;
      return {
        accountId: account.id,
        claims: () => ({ sub: account.id, email: account.email, email_verified: false }),
      };
    },

    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        // A client may revoke only its own tokens (RFC 7009 §2.1); a public client asking for
        // another's token gets the same empty 200 as for an unknown token.
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      introspection: {
        enabled: true,
        // Introspection is for resource servers (RFC 7662 §2.1): only a client the CLI designated as
        // one (`clients create-resource-server`), only access tokens issued for its resource. Anything
        // else is `active: false`, so no client learns whether another's token is live.
        allowedPolicy: async (ctx, client, token) => {
          if (token.kind !== 'AccessToken' || typeof token.aud !== 'string') return false;
          const resource = await resourceServerResource(client.clientId);
          if (resource === undefined || !sameResource(token.aud, resource)) return false;
          // The token's client must still exist (not deleted, not disabled); the library reads it
          // next without checking (lib/actions/introspection.js) and would answer server_error.
          const tokenClient = await ctx.oidc.provider.Client.find(token.clientId!).catch((error: unknown) => {
            if (error instanceof errors.OIDCProviderError) return undefined;
            throw error;
          });
          return tokenClient !== undefined;
        },
      },
      registration: {
        enabled: true,
        // UUIDs: the library's default ids may start with '-', which command lines read as an option.
        idFactory: () => randomUUID(),
        ...(config.registrationInitialAccessToken ? { initialAccessToken: config.registrationInitialAccessToken } : {}),
      },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      clientIdMetadataDocument: documents.feature,
      // Operator clients (made by the CLI) get `admin` tokens for the admin API by client credentials.
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Operator clients: the admin API. Others: the one registered resource; with several, a request
        // for resource scopes must name one (an OpenID-only sign-in needs none).
        defaultResource: async (ctx, client, oneOf) => {
          if (await isOperatorClient(client.clientId)) return admin;
          if (Array.isArray(oneOf)) {
            if (oneOf.length === 1) return oneOf[0];
            throw new errors.InvalidTarget('several resources were authorized: name the one this token is for with the resource parameter');
          }
          const registered = await resources.list();
          if (registered.length === 1) return registered[0]!.url;
          const scopes = String(ctx.oidc.params?.scope ?? '').split(' ').filter(Boolean);
          if (scopes.length > 0 && scopes.every((scope) => scope in OIDC_SCOPES)) return undefined;
          throw new errors.InvalidTarget(
            registered.length === 0
              ? 'no protected resource is registered on this server'
              : 'this server protects several resources: name the one you want with the resource parameter (RFC 8707)',
          );
        },
        useGrantedResource: () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          // Every token request resolves a resource (defaultResource always names one), so this is
          // where client credentials are kept to operator clients: never a public, registered or
          // metadata-document client, whatever grant_types it declared.
          if (ctx.oidc.params?.grant_type === 'client_credentials' && !(await isOperatorClient(client.clientId))) {
            throw new errors.UnauthorizedClient('only operator clients may use the client_credentials grant');
          }
          if (sameResource(indicator, admin)) {
            if (!(await isOperatorClient(client.clientId))) {
              throw new errors.InvalidTarget('only operator clients may request the admin API');
            }
            return { scope: ADMIN_SCOPE, audience: admin, accessTokenTTL: config.ttl.accessToken, accessTokenFormat: 'opaque' };
          }
          const resource = await resources.find(indicator);
          if (!resource) throw new errors.InvalidTarget('unknown resource indicator: no resource is registered at this URL');
          return {
            scope: resource.scopes.map((scope) => scope.name).join(' '),
            audience: resource.url,
            accessTokenTTL: resource.accessTokenTtl ?? config.ttl.accessToken,
            accessTokenFormat: 'opaque',
          };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: pages.logoutSource,
        postLogoutSuccessSource: pages.postLogoutSuccessSource,
      },
    },

    // MCP clients send neither offline_access nor prompt=consent: a refresh token goes to every
    // client registered for the refresh_token grant, and tokens are not tied to the browser session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    // Revoking any token of a grant ends the grant (the rule and its bridge: library_revocations.ts).
    revokeGrantPolicy,

    ttl: {
      // A registered resource may set its own lifetime (getResourceServerInfo's accessTokenTTL).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.accessToken,
      AuthorizationCode: 60,
      ClientCredentials: config.ttl.accessToken,
      IdToken: 3600,
      // A sign-in and consent takes minutes; every unauthenticated /authorize writes one of these.
      Interaction: 10 * 60,
      // Sliding: each rotation gets a full lifetime; the Grant's lifetime caps the chain.
      RefreshToken: config.ttl.refreshToken,
      Session: config.ttl.session,
      Grant: config.ttl.grant,
    },

    // Outgoing requests: the library's SSRF guard, kept for all but opted-in localhost metadata documents.
    fetch: documents.fetch,
    // Every client, however it came to exist, passes the one redirect policy (redirect_policy.ts).
    extraClientMetadata: {
      properties: ['application_type'],
      validator: (ctx, key, _value, metadata) => {
        if (key === 'application_type') applyRedirectPolicy(ctx, metadata);
      },
    },

    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },

    // CORS for browser-based clients: public clients from the origin of one of their redirect URIs.
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),

    renderError: pages.renderError,
  };
}
