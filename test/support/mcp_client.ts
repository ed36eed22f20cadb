// The MCP SDK's own client (Client + StreamableHTTPClientTransport) with an OAuthClientProvider that
// keeps everything in memory and completes login and consent headlessly through followAuthorization.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { CookieJar, followAuthorization } from './oauth_flow.ts';

export const MCP_REDIRECT_URI = 'http://127.0.0.1:9/mcp-callback';

export class HeadlessOAuthProvider implements OAuthClientProvider {
  clientMetadataUrl: string | undefined;
  readonly jar = new CookieJar();
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  /** Every authorization URL the SDK sent the "browser" to. */
  readonly authorizationUrls: URL[] = [];
  /** The code of the last completed authorization, for transport.finishAuth. */
  pendingCode: string | undefined;
  /** How many times tokens were saved (initial exchange, refreshes). */
  tokenSaves = 0;
  readonly #account: { email: string; password: string };

  constructor(account: { email: string; password: string }, options: { clientMetadataUrl?: string } = {}) {
    this.#account = account;
    this.clientMetadataUrl = options.clientMetadataUrl;
  }

  get redirectUrl(): string {
    return MCP_REDIRECT_URI;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Headless MCP test client',
      redirect_uris: [MCP_REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.#client = information;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.tokenSaves += 1;
    this.#tokens = tokens;
  }

  /** Replaces the held access token with one the server never issued (as if it had expired). */
  spoilAccessToken(): void {
    if (this.#tokens) this.#tokens = { ...this.#tokens, access_token: 'expired-or-unknown-token' };
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    const { code } = await followAuthorization(url, { ...this.#account, jar: this.jar, redirectUri: MCP_REDIRECT_URI });
    this.pendingCode = code;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    return this.#verifier;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
  }
}

/**
 * Connects the SDK client, going through authorization when the server asks for it: the SDK throws
 * UnauthorizedError after redirecting, the "browser" has produced a code, finishAuth exchanges it,
 * and a new transport connects with the token.
 */
export async function connectMcpClient(mcpUrl: string, provider: HeadlessOAuthProvider): Promise<Client> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    if (provider.pendingCode) {
      // An authorization completed in the "browser" (here or in an earlier call): exchange its code first.
      const code = provider.pendingCode;
      provider.pendingCode = undefined;
      await transport.finishAuth(code);
    }
    const client = new Client({ name: 'portcullis-test', version: '1.0.0' });
    try {
      await client.connect(transport);
      return client;
    } catch (error) {
      if (!(error instanceof UnauthorizedError) || !provider.pendingCode) throw error;
    }
  }
  throw new Error('could not connect after authorizing');
}

/** Calls a tool; when the SDK had to re-authorize (UnauthorizedError), finishes and retries once. */
export async function callToolReauthorizing(
  mcpUrl: string,
  provider: HeadlessOAuthProvider,
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ client: Client; result: Awaited<ReturnType<Client['callTool']>> }> {
  try {
    return { client, result: await client.callTool({ name, arguments: args }) };
  } catch (error) {
    if (!(error instanceof UnauthorizedError) || !provider.pendingCode) throw error;
    await client.close();
    const reconnected = await connectMcpClient(mcpUrl, provider);
    return { client: reconnected, result: await reconnected.callTool({ name, arguments: args }) };
  }
}
