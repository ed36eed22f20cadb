// Drives the real HTTP flow the way a browser and an OAuth client would: DCR, /authorize with
// PKCE and `resource`, the login and consent forms, the code exchange, refresh, revoke, introspect.
import { createHash, randomBytes } from 'node:crypto';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  registration_access_token?: string;
  registration_client_uri?: string;
  [key: string]: unknown;
}

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  id_token?: string;
}

export interface HttpResult {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function asResult(response: Response): Promise<HttpResult> {
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body, headers: response.headers };
}

export async function registerClient(baseUrl: string, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const response = await fetch(`${baseUrl}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Test MCP client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  const result = await asResult(response);
  if (result.status !== 201) throw new Error(`registration failed: ${result.status} ${JSON.stringify(result.body)}`);
  return result.body as RegisteredClient;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Any fixed S256 challenge: for requests that never reach the token endpoint. */
const FIXED_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/**
 * An /authorize URL for `client` at REDIRECT_URI (S256; scope mcp:read unless given), e.g. to stop at
 * the login prompt; `overrides` replaces or adds parameters (a real code_challenge, a state), and
 * drops those it sets to undefined.
 */
export function authorizeUrl(
  baseUrl: string,
  client: RegisteredClient,
  resource: string,
  scope = 'mcp:read',
  overrides: Record<string, string | undefined> = {},
): string {
  const parameters: Record<string, string | undefined> = {
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    code_challenge: FIXED_CHALLENGE,
    code_challenge_method: 'S256',
    scope,
    resource,
    ...overrides,
  };
  const query = new URLSearchParams(Object.entries(parameters).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return `${baseUrl}/authorize?${query}`;
}

/** A minimal cookie jar: enough for the provider's interaction and session cookies on one host. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();
  readonly #seen = new Set<string>();

  /** Every non-empty value any response ever set, including cookies since cleared or replaced. */
  seenValues(): string[] {
    return [...this.#seen];
  }

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair?.indexOf('=') ?? -1;
      if (!pair || index < 0) continue;
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, val] = attribute.split('=');
        return key?.trim().toLowerCase() === 'expires' && val !== undefined && Date.parse(val) <= Date.now();
      });
      if (value !== '') this.#seen.add(value);
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export interface AuthorizeOptions {
  client: RegisteredClient;
  email: string;
  password: string;
  resource?: string;
  scope?: string;
  jar?: CookieJar;
  /** Stop at the consent page and press Cancel instead of Allow. */
  deny?: boolean;
}

export interface AuthorizationResult {
  code: string;
  verifier: string;
  callback: URL;
  jar: CookieJar;
}

/** Runs /authorize through login and consent; returns the code delivered to the redirect URI. */
export async function authorize(baseUrl: string, options: AuthorizeOptions): Promise<AuthorizationResult> {
  const { verifier, challenge } = pkcePair();
  const query = new URLSearchParams({
    client_id: options.client.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
  });
  if (options.scope !== undefined) query.set('scope', options.scope);
  if (options.resource !== undefined) query.set('resource', options.resource);
  const { code, callback, jar } = await followAuthorization(new URL(`/authorize?${query}`, baseUrl), options);
  return { code, verifier, callback, jar };
}

export interface FollowOptions {
  email: string;
  password: string;
  jar?: CookieJar;
  /** Where the code is delivered; the flow stops at the first redirect there. */
  redirectUri?: string;
  /** Stop at the consent page and press Cancel instead of Allow. */
  deny?: boolean;
  /** Where hop `hop` really goes (e.g. a different process of the same issuer); default: as named. */
  route?: (url: URL, hop: number) => URL;
}

/**
 * Plays the browser from an authorization URL built by anyone (this module, the MCP SDK client):
 * follows redirects, submits the login and consent forms, and returns the code sent to the redirect URI.
 */
export async function followAuthorization(
  start: URL,
  options: FollowOptions,
): Promise<{ code: string; callback: URL; jar: CookieJar }> {
  const jar = options.jar ?? new CookieJar();
  const redirectUri = options.redirectUri ?? REDIRECT_URI;
  let url = start;
  let request: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 20; hop += 1) {
    url = options.route ? options.route(url, hop) : url;
    const response = await fetch(url, {
      ...request,
      redirect: 'manual',
      headers: { ...(request.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.store(response);
    const location = response.headers.get('location');
    if (location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.href.startsWith(redirectUri)) {
        const code = next.searchParams.get('code');
        if (!code) throw new Error(`authorization ended without a code: ${next.search}`);
        return { code, callback: next, jar };
      }
      url = next;
      request = { method: 'GET' };
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${url.pathname}: ${html.slice(0, 300)}`);
    const action = formAction(html, options.deny && html.includes('/confirm') ? '/abort' : undefined);
    if (!action) throw new Error(`no form at ${url.pathname}`);
    const fields: Record<string, string> = action.endsWith('/login') ? { email: options.email, password: options.password } : {};
    url = new URL(action, url);
    request = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    };
  }
  throw new Error('too many redirects');
}

/** The first form's action, or the one ending with `suffix`. */
function formAction(html: string, suffix?: string): string | undefined {
  const actions = [...html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((match) => match[1]!.replaceAll('&amp;', '&'));
  return suffix ? actions.find((action) => action.endsWith(suffix)) : actions[0];
}

function clientAuth(client: RegisteredClient): { headers: Record<string, string>; fields: Record<string, string> } {
  if (client.client_secret) {
    const basic = Buffer.from(
      `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`,
    ).toString('base64');
    return { headers: { authorization: `Basic ${basic}` }, fields: {} };
  }
  return { headers: {}, fields: { client_id: client.client_id } };
}

export async function postForm(
  baseUrl: string,
  path: string,
  client: RegisteredClient | undefined,
  fields: Record<string, string>,
): Promise<HttpResult> {
  const auth = client ? clientAuth(client) : { headers: {}, fields: {} };
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth.headers },
    body: new URLSearchParams({ ...auth.fields, ...fields }).toString(),
  });
  return asResult(response);
}

export async function exchangeCode(
  baseUrl: string,
  client: RegisteredClient,
  authorization: AuthorizationResult,
  resource?: string,
): Promise<HttpResult> {
  return postForm(baseUrl, '/token', client, {
    grant_type: 'authorization_code',
    code: authorization.code,
    redirect_uri: REDIRECT_URI,
    code_verifier: authorization.verifier,
    ...(resource ? { resource } : {}),
  });
}

export async function refresh(baseUrl: string, client: RegisteredClient, refreshToken: string): Promise<HttpResult> {
  return postForm(baseUrl, '/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

export async function revoke(
  baseUrl: string,
  client: RegisteredClient | undefined,
  token: string,
  hint?: string,
): Promise<HttpResult> {
  return postForm(baseUrl, '/revoke', client, { token, ...(hint ? { token_type_hint: hint } : {}) });
}

export async function introspect(baseUrl: string, client: RegisteredClient, token: string): Promise<HttpResult> {
  return postForm(baseUrl, '/introspect', client, { token });
}

/** Register, authorize, and exchange: a client holding a fresh token set for `resource`. */
export async function connectClient(
  baseUrl: string,
  account: { email: string; password: string },
  options: { resource: string; metadata?: Record<string, unknown>; scope?: string; client?: RegisteredClient },
): Promise<{ client: RegisteredClient; tokens: TokenSet }> {
  const client = options.client ?? (await registerClient(baseUrl, options.metadata));
  const authorization = await authorize(baseUrl, {
    client,
    ...account,
    resource: options.resource,
    scope: options.scope ?? 'mcp:read mcp:write',
  });
  const result = await exchangeCode(baseUrl, client, authorization, options.resource);
  if (result.status !== 200) throw new Error(`token exchange failed: ${result.status} ${JSON.stringify(result.body)}`);
  return { client, tokens: result.body as unknown as TokenSet };
}
