// /metrics for both servers (issued, revoked, validation outcomes, latency, pool) on the management
// listener only, never on a public port; /healthz and /readyz
// on the MCP server, request ids, and JSON log lines that name the request and carry no secret.
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.ts';
import { requestLogging } from '../../src/observability/request_context.ts';
import { connectClient, revoke } from '../support/oauth_flow.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';
import Koa from 'koa';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createMetricsApp } from '../../src/observability/metrics_server.ts';

function sample(text: string, name: string, labels: Record<string, string>): number {
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return lines
    .filter((line) => wanted.every((label) => line.includes(label)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function metrics(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).to.equal(200);
  expect(response.headers.get('content-type')).to.match(/^text\/plain/);
  return response.text();
}

describe('observability', () => {
  let stack: McpTestStack;
  let mcpOrigin: string;
  let management: Server;
  let managementOrigin: string;

  before(async () => {
    stack = await startMcpTestStack();
    mcpOrigin = new URL(stack.mcpUrl).origin;
    management = createMetricsApp().listen(0, '127.0.0.1');
    await once(management, 'listening');
    managementOrigin = `http://127.0.0.1:${(management.address() as AddressInfo).port}`;
  });
  after(async () => {
    management.close();
    await stack.close();
  });

  it('counts issued and revoked tokens, validation outcomes and request latency', async () => {
    const before = await metrics(`${managementOrigin}/metrics`);
    const account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
    const { client, tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
    expect((await revoke(stack.baseUrl, client, tokens.access_token)).status).to.equal(200);
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(401);

    const after = await metrics(`${managementOrigin}/metrics`);
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('portcullis_tokens_issued_total', { kind: 'AccessToken', grant_type: 'authorization_code' })).to.equal(1);
    expect(delta('portcullis_tokens_issued_total', { kind: 'RefreshToken' })).to.equal(1);
    expect(delta('portcullis_tokens_revoked_total', { kind: 'AccessToken', action: 'revoke_token', actor: 'client' })).to.equal(1);
    expect(delta('portcullis_tokens_revoked_total', { kind: 'RefreshToken', action: 'revoke_token', actor: 'client' })).to.equal(1);
    expect(delta('portcullis_token_validations_total', { mode: 'database', outcome: 'valid' })).to.equal(1);
    expect(delta('portcullis_token_validations_total', { mode: 'database', outcome: 'invalid' })).to.equal(1);
    expect(delta('portcullis_http_request_duration_seconds_count', { server: 'authorization', route: '/token', status: '200' })).to.equal(1);
    expect(delta('portcullis_http_request_duration_seconds_count', { server: 'mcp', route: '/mcp', method: 'POST' })).to.equal(2);
    expect(after).to.match(/portcullis_db_pool_connections\{server="authorization",state="max"\} \d+/);
    // Labels are templates and kinds, never token values.
    expect(after).not.to.include(tokens.access_token);
  });

  it('serves /metrics on the management listener only: 404 on the public ports of both servers', async () => {
    expect(await metrics(`${managementOrigin}/metrics`)).to.include('portcullis_token_validations_total');
    for (const origin of [stack.baseUrl, mcpOrigin]) {
      for (const path of ['/metrics', '/METRICS', '/metrics/', '//metrics', '/%6detrics']) {
        const response = await fetch(`${origin}${path}`);
        expect(response.status, `${origin}${path}`).to.equal(404);
        expect(await response.text(), `${origin}${path}`).not.to.include('portcullis_');
      }
    }
  });

  it('serves /healthz and /readyz on the MCP server', async () => {
    const health = await fetch(`${mcpOrigin}/healthz`);
    expect(health.status).to.equal(200);
    const ready = await fetch(`${mcpOrigin}/readyz`);
    expect(ready.status).to.equal(200);
    expect(await ready.json()).to.deep.equal({ status: 'ok', database: 'up' });
  });

  it('gives every response a request id, keeping a well-formed incoming one', async () => {
    const fresh = await fetch(`${stack.baseUrl}/healthz`);
    expect(fresh.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const kept = await fetch(`${mcpOrigin}/healthz`, { headers: { 'x-request-id': 'lb-1234' } });
    expect(kept.headers.get('x-request-id')).to.equal('lb-1234');
    const replaced = await fetch(`${stack.baseUrl}/healthz`, { headers: { 'x-request-id': 'bad id\u00e9' } });
    expect(replaced.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('writes one JSON access line per request with its id, the route template and no query string', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = createLogger('info', sink);
    const app = new Koa();
    app.use(requestLogging('test', logger));
    app.use((ctx) => {
      logger.info({ step: 'inside' }, 'work');
      ctx.body = 'ok';
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/callback?code=secret-code&state=s`);
      const id = response.headers.get('x-request-id');
      const access = lines.find((line) => line.msg === 'request')!;
      expect(access).to.include({ server: 'test', method: 'GET', route: 'other', status: 200 });
      expect(access.requestId).to.equal(id);
      expect(lines.find((line) => line.step === 'inside')!.requestId).to.equal(id);
      expect(JSON.stringify(lines)).not.to.include('secret-code');
    } finally {
      server.close();
    }
  });
});
