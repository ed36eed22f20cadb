// What the browser suites share: headless Chromium (Debian's package, never a download) launched by
// playwright-core, and the redirect URI listener that hands each authorization code to the test.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';

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
