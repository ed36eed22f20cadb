// Every guard holds for every spelling of every path: each protected route, asked under another
// spelling (case, trailing slash, double slash, percent-encoded letters, dot segments), gets the
// guard's answer (401, 429, no-store) or a 404 — never the protected content. Requests go out raw
// (node:http), since fetch would normalise dot segments before sending.
import { request as httpRequest } from 'node:http';
import { expect } from 'chai';
import { hasCanonicalSyntax, spelledAsDeclared } from '../../src/http/canonical_path.ts';
import { startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Other spellings of a canonical path such as `/admin/clients`. */
export function spellings(path: string): string[] {
  const segments = path.slice(1).split('/');
  const first = segments[0]!;
  const rest = segments.slice(1).join('/');
  const tail = rest ? `/${rest}` : '';
  const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const letterIndex = first.search(/[a-z]/);
  const encodedLetter =
    first.slice(0, letterIndex) + `%${first.charCodeAt(letterIndex).toString(16)}` + first.slice(letterIndex + 1);
  const variants = [
    path.toUpperCase(),
    `/${capitalise(first)}${tail}`,
    `/${first.toUpperCase()}${tail}`,
    `/${segments.slice(0, -1).concat(capitalise(segments.at(-1)!)).join('/')}`,
    `${path}/`,
    `/${path}`,
    `/${first}/${tail || '/'}`,
    `/${encodedLetter}${tail}`,
    `/${encodedLetter.toUpperCase()}${tail}`,
    `/${first}/.${tail}`,
    `/${first}/%2e${tail}`,
    `/x/..${path}`,
    `/x/%2E%2E${path}`,
    `${path}/.`,
    `${path}%2f`,
  ];
  return [...new Set(variants)].filter((variant) => variant !== path);
}

describe('path spellings: one spelling per route, every guard on it', function () {
  this.timeout(60_000);
  let stack: McpTestStack;

  before(async () => {
    stack = await startMcpTestStack({
      env: {
        RATE_LIMIT_WINDOW: '600',
        RATE_LIMIT_TOKEN: '1',
        RATE_LIMIT_REVOKE: '1',
        RATE_LIMIT_REGISTRATION: '1',
        RATE_LIMIT_ADMIN: '1000',
      },
    });
  });
  after(async () => {
    await stack?.close();
  });

  it('spells each test path several ways (the table is not empty)', () => {
    expect(spellings('/admin/clients')).to.include.members(['/ADMIN/clients', '/admin/clients/', '//admin/clients', '/%61dmin/clients', '/admin/./clients']);
  });

  const adminRoutes: [string, string][] = [
    ['GET', '/admin/clients'],
    ['GET', '/admin/grants'],
    ['GET', '/admin/audit'],
    ['POST', '/admin/accounts/someone@example.test/revoke'],
    ['POST', '/admin/clients/some-client/revoke'],
    ['DELETE', '/admin/clients/some-client'],
    ['POST', '/admin/tokens/revoke'],
  ];
  for (const [method, path] of adminRoutes) {
    it(`admin API ${method} ${path}: every spelling asks for a token (401) or does not exist (404)`, async () => {
      const canonical = await raw(stack.baseUrl, method, path);
      expect(canonical.status, path).to.equal(401);
      for (const variant of spellings(path)) {
        const answer = await raw(stack.baseUrl, method, variant);
        expect([401, 404], `${method} ${variant}: ${answer.status} ${answer.body.slice(0, 80)}`).to.include(answer.status);
      }
    });
  }

  for (const path of ['/account', '/account/password', '/account/disconnect-all']) {
    it(`account pages ${path}: every spelling is no-store or does not exist`, async () => {
      const canonical = await raw(stack.baseUrl, 'GET', path);
      expect(canonical.headers['cache-control'], path).to.equal('no-store');
      for (const variant of spellings(path)) {
        const answer = await raw(stack.baseUrl, 'GET', variant);
        if (answer.status !== 404) expect(answer.headers['cache-control'], `${variant}: ${answer.status}`).to.equal('no-store');
      }
    });
  }

  // Limits of 1 per window: the canonical request spends it, every other spelling is then 429 or 404.
  const limited: [string, string, string][] = [
    ['POST', '/token', 'grant_type=client_credentials&client_id=x'],
    ['POST', '/revoke', 'token=x&client_id=x'],
    ['POST', '/reg', ''],
    ['GET', '/reg/some-client', ''],
  ];
  for (const [method, path, body] of limited) {
    it(`rate limit on ${method} ${path}: once spent, no spelling gets past it`, async () => {
      await stack.db('rate_limits').delete();
      const first = await raw(stack.baseUrl, method, path, body || undefined);
      expect(first.status, `${path} first`).to.not.equal(429);
      expect((await raw(stack.baseUrl, method, path, body || undefined)).status, `${path} second`).to.equal(429);
      for (const variant of spellings(path)) {
        const answer = await raw(stack.baseUrl, method, variant, body || undefined);
        expect([404, 429], `${method} ${variant}: ${answer.status} ${answer.body.slice(0, 80)}`).to.include(answer.status);
      }
    });
  }

  it("the MCP endpoint: every spelling asks for a token (401) or does not exist (404/405)", async () => {
    const path = new URL(stack.mcpUrl).pathname;
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    expect((await raw(stack.mcpUrl, 'POST', path, call, headers)).status).to.equal(401);
    for (const variant of spellings(path)) {
      const answer = await raw(stack.mcpUrl, 'POST', variant, call, headers);
      expect([401, 404, 405], `POST ${variant}: ${answer.status} ${answer.body.slice(0, 80)}`).to.include(answer.status);
    }
  });

  it('the authorization-server metadata alias answers only at its own spelling', async () => {
    const path = '/.well-known/oauth-authorization-server';
    expect((await raw(stack.baseUrl, 'GET', path)).status).to.equal(200);
    for (const variant of spellings(path)) {
      expect((await raw(stack.baseUrl, 'GET', variant)).status, variant).to.equal(404);
    }
  });

  it('canonical syntax: what the gate refuses and what it lets through', () => {
    for (const path of ['/', '/admin/clients', '/admin/clients/https%3A%2F%2Fapp.example%2Fclient.json', '/admin/accounts/a+b@example.test/revoke', '/interaction/AbC-_1']) {
      expect(hasCanonicalSyntax(path), path).to.equal(true);
    }
    for (const path of ['', 'admin', '//admin', '/admin/', '/admin//x', '/a/./b', '/a/../b', '/%61dmin', '/%7e', '/%zz', '/a\\b', '/a b', '/ä']) {
      expect(hasCanonicalSyntax(path), path).to.equal(false);
    }
    expect(spelledAsDeclared('/reg/AbC', '/reg/:clientId')).to.equal(true);
    expect(spelledAsDeclared('/REG/abc', '/reg/:clientId')).to.equal(false);
    expect(spelledAsDeclared('/reg', '/reg/:clientId')).to.equal(false);
  });
});
