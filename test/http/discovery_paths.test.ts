// RFC 8414 §3 / MCP SEP-2351: the metadata is found by inserting the issuer's path after
// /.well-known/oauth-authorization-server; OIDC discovery appends /.well-known/openid-configuration to
// the issuer. Checked with an issuer at the root and one with a path, through two real clients.
import { expect } from 'chai';
import { discoverAuthorizationServerMetadata } from '@modelcontextprotocol/sdk/client/auth.js';
import * as oidc from 'openid-client';
import { connectMcpClient, HeadlessOAuthProvider } from '../support/mcp_client.ts';
import { startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { freePort } from '../support/processes.ts';
import { createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

/** The MCP SDK's discovery, recording the URLs it tried. */
async function sdkDiscovery(issuer: string): Promise<{ metadata: Record<string, unknown> | undefined; tried: string[] }> {
  const tried: string[] = [];
  const fetchFn = (url: string | URL, init?: RequestInit) => {
    tried.push(String(url));
    return fetch(url, init);
  };
  const metadata = await discoverAuthorizationServerMetadata(issuer, { fetchFn });
  return { metadata: metadata as Record<string, unknown> | undefined, tried };
}

async function status(base: string, path: string): Promise<number> {
  return (await fetch(`${base}${path}`)).status;
}

describe('authorization server metadata discovery paths', () => {
  describe('an issuer at the root', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(() => server.close());

    it('answers /.well-known/oauth-authorization-server, first URL the MCP SDK tries, and no path-inserted form', async () => {
      const { metadata, tried } = await sdkDiscovery(server.baseUrl);
      expect(metadata?.issuer).to.equal(server.baseUrl);
      expect(tried).to.deep.equal([`${server.baseUrl}/.well-known/oauth-authorization-server`]);
      expect(await status(server.baseUrl, '/.well-known/oauth-authorization-server/tenant')).to.equal(404);
      expect(await status(server.baseUrl, '/.well-known/OAuth-Authorization-Server')).to.equal(404);
    });
  });

  describe('an issuer with a path (ISSUER=http://127.0.0.1:PORT/tenant)', () => {
    let server: McpTestStack;
    let origin: string;
    let issuer: string;
    before(async () => {
      const port = await freePort();
      origin = `http://127.0.0.1:${port}`;
      issuer = `${origin}/tenant`;
      server = await startMcpTestStack({ port, env: { ISSUER: issuer } });
    });
    after(() => server.close());

    it('answers the RFC 8414 path-inserted URL, first URL the MCP SDK tries, with the issuer', async () => {
      const { metadata, tried } = await sdkDiscovery(issuer);
      expect(tried).to.deep.equal([`${origin}/.well-known/oauth-authorization-server/tenant`]);
      expect(metadata).to.include({ issuer, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token` });
    });

    it('answers the OIDC forms too: openid-client discovery (path-appended) validates the issuer', async () => {
      const configuration = await oidc.discovery(new URL(issuer), 'some-client', undefined, undefined, { execute: [oidc.allowInsecureRequests] });
      expect(configuration.serverMetadata().issuer).to.equal(issuer);
      const inserted = await fetch(`${origin}/.well-known/openid-configuration/tenant`);
      expect(inserted.status).to.equal(200);
      expect(((await inserted.json()) as { issuer: string }).issuer).to.equal(issuer);
    });

    it('the MCP SDK client discovers and authorizes through it and calls a tool', async () => {
      const account = { ...(await createTestAccount(server.db)), password: TEST_PASSWORD };
      const provider = new HeadlessOAuthProvider(account);
      const client = await connectMcpClient(server.mcpUrl, provider);
      const result = (await client.callTool({ name: 'whoami', arguments: {} })) as { structuredContent: Record<string, unknown> };
      expect(result.structuredContent).to.include({ accountId: account.id });
      await client.close();
    });

    it('answers 404 to other spellings of the path-inserted URL', async () => {
      for (const path of [
        '/.well-known/oauth-authorization-server/tenant/',
        '/.well-known/oauth-authorization-server/TENANT',
        '/.well-known/oauth-authorization-server//tenant',
        '/.well-known/oauth-authorization-server/%74enant',
        '/.well-known/oauth-authorization-server/other',
      ]) {
        expect(await status(origin, path), path).to.equal(404);
      }
    });
  });
});
