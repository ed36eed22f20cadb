// The verifier accepts exactly what the provider's /introspect calls an active access token for this
// resource. RFC 7662 leaves type and audience to the resource server, so the oracle is
// `active && token_type === 'Bearer' && aud === resource`; for every state but "another audience" and
// "a refresh token" that is `active` itself. Both verifier modes are held to the same oracle.
import { expect } from 'chai';
import { sameResource } from '../../src/scopes.ts';
import { loadConfig } from '../../src/config.ts';
import {
  providerTokenVerifier,
  VerificationUnavailable,
  type AccessTokenVerifier,
} from '../../src/tokens/access_token_verifier.ts';
import { introspectionTokenVerifier } from '../../src/tokens/introspection_token_verifier.ts';
import { createTokenVerifier, InvalidTokenError } from '../../src/resource_server/index.ts';
import {
  connectClient,
  introspect,
  refresh,
  registerClient,
  revoke,
  type RegisteredClient,
  type TokenSet,
} from '../support/oauth_flow.ts';
import { startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { observe, type SignInAccount } from '../support/observed_server.ts';
import { createTestAccount } from '../support/server.ts';
import { mintAccessToken, mintGrant } from '../support/tokens.ts';

type Generator = () => Promise<string>;

describe('verifier agrees with /introspect', () => {
  let stack: McpTestStack;
  let resourceServer: RegisteredClient;
  let account: SignInAccount;
  let verifiers: Record<string, AccessTokenVerifier>;

  before(async () => {
    ({ server: stack, account, observer: resourceServer } = await observe(await startMcpTestStack()));
    verifiers = {
      database: providerTokenVerifier({ provider: stack.provider, resource: stack.mcpUrl }),
      introspection: introspectionTokenVerifier({
        issuer: stack.baseUrl,
        introspectionEndpoint: `${stack.baseUrl}/introspect`,
        clientId: resourceServer.client_id,
        clientSecret: resourceServer.client_secret!,
        resource: stack.mcpUrl,
      }),
      // The resource-server kit's two modes (portcullis/resource-server), held to the same oracle.
      'kit database': createTokenVerifier({ resource: stack.mcpUrl, database: stack.db }),
      'kit introspection': createTokenVerifier({
        resource: stack.mcpUrl,
        issuer: stack.baseUrl,
        introspection: { clientId: resourceServer.client_id, clientSecret: resourceServer.client_secret! },
      }),
    };
  });
  after(() => stack.close());

  const connect = () => connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });

  async function minted(overrides: { expiresIn?: number; aud?: string; grantAccount?: string; grantClient?: string; sessionUid?: string } = {}) {
    const client = await registerClient(stack.baseUrl);
    const grantClient = overrides.grantClient ?? client.client_id;
    const grantId = await mintGrant(stack.provider, {
      clientId: grantClient,
      accountId: overrides.grantAccount ?? account.id,
      resource: stack.mcpUrl,
    });
    return mintAccessToken(stack.provider, {
      clientId: client.client_id,
      accountId: account.id,
      grantId,
      aud: overrides.aud ?? stack.mcpUrl,
      ...(overrides.expiresIn !== undefined ? { expiresIn: overrides.expiresIn } : {}),
      ...(overrides.sessionUid ? { sessionUid: overrides.sessionUid } : {}),
    });
  }

  const states: Record<string, Generator> = {
    'valid, from the flow': async () => (await connect()).tokens.access_token,
    'valid, minted': () => minted(),
    'expired inside the clock tolerance': () => minted({ expiresIn: -2 }),
    'expired beyond the clock tolerance': () => minted({ expiresIn: -120 }),
    'another audience': () => minted({ aud: 'https://elsewhere.example/mcp' }),
    'grant of another account': async () => minted({ grantAccount: (await createTestAccount(stack.db, 'g')).id }),
    'grant of another client': async () => minted({ grantClient: (await registerClient(stack.baseUrl)).client_id }),
    'session-bound, session gone': () => minted({ sessionUid: 'gone' }),
    'access token revoked at /revoke': async () => {
      const { client, tokens } = await connect();
      await revoke(stack.baseUrl, client, tokens.access_token, 'access_token');
      return tokens.access_token;
    },
    'refresh token revoked at /revoke': async () => {
      const { client, tokens } = await connect();
      await revoke(stack.baseUrl, client, tokens.refresh_token!, 'refresh_token');
      return tokens.access_token;
    },
    'grant destroyed': async () => {
      const { tokens } = await connect();
      const { grantId } = (await stack.provider.AccessToken.find(tokens.access_token))!;
      await (await stack.provider.Grant.find(grantId))!.destroy();
      return tokens.access_token;
    },
    'client deleted': async () => {
      const { client, tokens } = await connect();
      await fetch(client.registration_client_uri!, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${client.registration_access_token}` },
      });
      return tokens.access_token;
    },
    'access token issued before a refresh rotation': async () => {
      const { client, tokens } = await connect();
      await refresh(stack.baseUrl, client, tokens.refresh_token!);
      return tokens.access_token;
    },
    'access token after a rotated refresh token was replayed': async () => {
      const { client, tokens } = await connect();
      const rotated = (await refresh(stack.baseUrl, client, tokens.refresh_token!)).body as unknown as TokenSet;
      await refresh(stack.baseUrl, client, tokens.refresh_token!);
      return rotated.access_token;
    },
    'a consumed (rotated) refresh token': async () => {
      const { client, tokens } = await connect();
      await refresh(stack.baseUrl, client, tokens.refresh_token!);
      return tokens.refresh_token!;
    },
    'a live refresh token': async () => (await connect()).tokens.refresh_token!,
    'garbage': async () => `not-a-token-${Math.random().toString(36).slice(2)}`,
  };

  it('for many generated token states, in both verification modes and both modes of the resource-server kit', async () => {
    const rows: { state: string; oracle: boolean; verdicts: Record<string, boolean | string> }[] = [];
    for (let round = 0; round < 3; round += 1) {
      for (const [state, generate] of Object.entries(states)) {
        const token = await generate();
        const answer = (await introspect(stack.baseUrl, resourceServer, token)).body;
        const oracle =
          answer.active === true && answer.token_type === 'Bearer' && typeof answer.aud === 'string' && sameResource(answer.aud, stack.mcpUrl);
        const verdicts: Record<string, boolean | string> = {};
        for (const [mode, verifier] of Object.entries(verifiers)) {
          // A refusal is the SDK's InvalidTokenError; anything else is no verdict, and disagrees.
          verdicts[mode] = await verifier.verifyAccessToken(token).then(
            () => true,
            (error: unknown) => (error instanceof InvalidTokenError ? false : String(error)),
          );
        }
        rows.push({ state, oracle, verdicts });
      }
    }
    const disagreements = rows.filter((row) => Object.values(row.verdicts).some((verdict) => verdict !== row.oracle));
    expect(disagreements, JSON.stringify(disagreements, null, 2)).to.deep.equal([]);
    // The generated states really cover both outcomes, on their expected side.
    const accepted = new Set(rows.filter((row) => row.oracle).map((row) => row.state));
    expect([...accepted].sort()).to.deep.equal(
      ['access token issued before a refresh rotation', 'valid, from the flow', 'valid, minted'].sort(),
    );
    expect(rows.length).to.equal(3 * Object.keys(states).length);
  });

  it('introspection mode: an unreachable endpoint or rejected credentials are "unavailable", never a verdict', async () => {
    const { tokens } = await connect();
    const broken = [
      { introspectionEndpoint: 'http://127.0.0.1:9/introspect', clientSecret: resourceServer.client_secret! },
      { introspectionEndpoint: `${stack.baseUrl}/introspect`, clientSecret: 'wrong secret' },
    ];
    for (const options of broken) {
      const verifier = introspectionTokenVerifier({
        issuer: stack.baseUrl,
        clientId: resourceServer.client_id,
        resource: stack.mcpUrl,
        timeout: 2,
        ...options,
      });
      const outcome = await verifier.verifyAccessToken(tokens.access_token).then(
        () => 'valid',
        (error: unknown) => error,
      );
      expect(outcome).to.be.instanceOf(VerificationUnavailable);
    }
  });

  it('introspection mode needs its client credentials at start-up', () => {
    expect(() => loadConfig({ MCP_TOKEN_VALIDATION: 'introspection' })).to.throw(/MCP_INTROSPECTION_CLIENT_ID/);
    const config = loadConfig({
      MCP_TOKEN_VALIDATION: 'introspection',
      MCP_INTROSPECTION_CLIENT_ID: 'rs',
      MCP_INTROSPECTION_CLIENT_SECRET: 'secret',
      ISSUER: 'https://auth.example',
    });
    expect(config.mcp.introspection).to.deep.equal({ url: 'https://auth.example/introspect', clientId: 'rs', clientSecret: 'secret' });
  });
});
