// What the browser suites share: headless Chromium (Debian's package, never a download) launched by
// playwright-core, and the redirect URI listener that hands each authorization code to the test.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { type Browser, chromium } from 'playwright-core';
import type { McpTestStack } from './mcp_server.ts';
import { postForm, type RegisteredClient, type TokenSet } from './oauth_flow.ts';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the browser tests need Debian's package ` +
        '(apt-get update && apt-get install -y chromium; .ci/run installs it). No browser is ever downloaded.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    // playwright-core gives each launch a fresh, temporary user-data dir and removes it on close.
  });
}

export interface CallbackListener {
  url: string;
  server: Server;
  nextCode(): Promise<string>;
  close(): void;
}

/** The client's redirect URI: a listener the test owns, which hands over each code it receives. */
export async function startCallbackListener(): Promise<CallbackListener> {
  const waiting: ((code: string) => void)[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Connected</title><p>You can close this window.</p>');
    const code = url.searchParams.get('code');
    if (url.pathname === '/callback' && code) waiting.shift()?.(code);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    server,
    nextCode: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The authorization request a browser test opens, and the exchange of the code it yields, for the stack's MCP resource. */
export function browserAuthorization(stack: McpTestStack, callback: CallbackListener) {
  return {
    authorizeUrl(client: RegisteredClient, challenge: string): string {
      const query = new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: callback.url,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'mcp:read mcp:write',
        resource: stack.mcpUrl,
        state: 'browser-test',
      });
      return `${stack.baseUrl}/authorize?${query}`;
    },
    async exchange(client: RegisteredClient, code: string, verifier: string): Promise<TokenSet> {
      const result = await postForm(stack.baseUrl, '/token', client, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: callback.url,
        code_verifier: verifier,
        resource: stack.mcpUrl,
      });
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      return result.body as unknown as TokenSet;
    },
  };
}
