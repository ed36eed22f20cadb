// Property-based fuzzing (fast-check, seeded) of every surface: /authorize, /token, /revoke,
// /introspect, /reg, /mcp, the admin API, the login and consent forms, and the CLI in-process.
// Malformed, oversized, duplicated, wrongly typed and unicode-heavy input must never produce a 5xx,
// a stack trace or SQL in a body; the OAuth endpoints answer errors as OAuth error JSON; oversized
// bodies are refused with 413.
import { expect } from 'chai';
import fc from 'fast-check';
import { runCli } from '../../src/cli/program.ts';
import { createLogger } from '../../src/logger.ts';
import { createRevocationService } from '../../src/revocation/revocation_service.ts';
import { startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { authorizeUrl, connectClient, CookieJar, postForm, REDIRECT_URI, registerClient, type RegisteredClient, type TokenSet } from '../support/oauth_flow.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const fuzzOptions = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

/** A stack frame, a file path, or SQL in a response body. */
const LEAK = /\bat [\w.<>$]+ \(|node_modules|\/src\/\w|\.ts:\d+|\bselect\b[^.]{1,200}\bfrom\b|\binsert into\b|\bupdate "\w+" set\b|\bdelete from\b|\bSQLSTATE\b|\bsyntax error at\b|Knex|\bpg_\w+|violates .* constraint/i;

// --- arbitraries ---------------------------------------------------------------------------

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uFFFF',
  '%00',
  '%',
  '%zz',
  "' or 1=1 --",
  '"; drop table accounts; --',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '{"$gt":""}',
  '[object Object]',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '9'.repeat(40),
  'https://evil.example/cb',
  'http://127.0.0.1:9/callback',
  '中文🦀',
  '\u202Eevil',
  '👨‍👩‍👧‍👦'.repeat(50),
  'A'.repeat(5000),
  'é'.repeat(3000),
);

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 3, arbitrary: nasty },
);

/** Form or query fields: known names (some duplicated), random names, hostile values. */
function fieldsOf(names: string[]): fc.Arbitrary<[string, string][]> {
  return fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: text }), text), {
    maxLength: 12,
  });
}

const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.oneof(text, fc.constantFrom('redirect_uris', 'client_name', 'grant_types', 'token_endpoint_auth_method', 'scope', 'jwks', 'reason', 'dry_run', 'accounts', 'token', 'client_id')), fc.oneof(text, fc.jsonValue({ maxDepth: 2 }))),
);

const contentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded; charset=bogus',
  '',
);

/** Path segments: lone surrogates cannot be percent-encoded, so they are made well-formed first. */
function enc(value: string): string {
  return encodeURIComponent(value.toWellFormed());
}

function form(fields: [string, string][]): string {
  const params = new URLSearchParams();
  for (const [name, value] of fields) params.append(name, value);
  return params.toString();
}

// --- the check every answer must pass ------------------------------------------------------

interface Answer {
  status: number;
  text: string;
  type: string;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') ?? '' };
}

let requests = 0;
const counts: Record<string, number> = {};

function judge(surface: string, answer: Answer, options: { oauthJson?: boolean } = {}): void {
  requests += 1;
  counts[surface] = (counts[surface] ?? 0) + 1;
  const where = `${surface}: ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, where).to.be.within(200, 499);
  expect(LEAK.test(answer.text), `leak in ${where}`).to.equal(false);
  // 431/414: Node's HTTP parser refused the request line or headers before any route saw it.
  if (options.oauthJson && answer.status >= 400 && answer.status !== 431 && answer.status !== 414) {
    expect(answer.type, where).to.match(/^application\/json/);
    const body = JSON.parse(answer.text) as { error?: unknown };
    expect(body.error, where).to.be.a('string');
  }
}

describe('fuzzing every surface with hostile input (fast-check)', function () {
  this.timeout(300_000);
  let stack: McpTestStack;
  let client: RegisteredClient;
  let confidential: RegisteredClient;
  let tokens: TokenSet;
  let adminToken: string;
  let account: { email: string; password: string };

  before(async () => {
    stack = await startMcpTestStack({
      env: { RATE_LIMIT_LOGIN_PER_ACCOUNT: '0', RATE_LIMIT_LOGIN_PER_ADDRESS: '0', RATE_LIMIT_TOKEN: '0', RATE_LIMIT_REVOKE: '0', RATE_LIMIT_REGISTRATION: '0', RATE_LIMIT_ADMIN: '0', RATE_LIMIT_AUTHORIZE: '0' },
    });
    account = { email: (await createTestAccount(stack.db)).email, password: TEST_PASSWORD };
    ({ client, tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl }));
    confidential = await registerClient(stack.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' });
    adminToken = await operatorToken(stack.baseUrl, await createOperator(stack, 'fuzz'));
  });
  after(async () => {
    console.log(`      ${requests} fuzzed requests: ${JSON.stringify(counts)}`);
    await stack?.close();
  });

  const authHeader = fc.oneof(
    fc.constant(undefined),
    text.map((value) => `Basic ${Buffer.from(value).toString('base64')}`),
    text.map((value) => `Bearer ${value}`),
    text,
  );

  for (const [path, names] of [
    ['/token', ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'client_id', 'client_secret', 'resource', 'scope', 'client_assertion', 'client_assertion_type']],
    ['/revoke', ['token', 'token_type_hint', 'client_id', 'client_secret']],
    ['/introspect', ['token', 'token_type_hint', 'client_id', 'client_secret']],
  ] as const) {
    it(`POST ${path}: OAuth error JSON, never 5xx`, async () => {
      await fc.assert(
        fc.asyncProperty(fieldsOf([...names]), contentType, authHeader, fc.boolean(), async (fields, type, authorization, withClient) => {
          if (withClient) fields.push(['client_id', client.client_id]);
          const headers: Record<string, string> = {};
          if (type) headers['content-type'] = type;
          if (authorization !== undefined) headers.authorization = authorization.replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '');
          const answer = await send(`${stack.baseUrl}${path}`, { method: 'POST', headers, body: type === 'application/json' ? JSON.stringify(Object.fromEntries(fields)) : form(fields) });
          judge(path, answer, { oauthJson: true });
        }),
        fuzzOptions,
      );
    });
  }

  it('GET /authorize (browser and API callers): never 5xx', async () => {
    const names = ['client_id', 'response_type', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'scope', 'state', 'resource', 'prompt', 'nonce', 'response_mode', 'request', 'request_uri'];
    await fc.assert(
      fc.asyncProperty(fieldsOf(names), fc.boolean(), fc.boolean(), async (fields, valid, browser) => {
        const params: [string, string][] = valid
          ? [['client_id', client.client_id], ['response_type', 'code'], ['redirect_uri', REDIRECT_URI], ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'], ['code_challenge_method', 'S256'], ...fields]
          : fields;
        const answer = await send(`${stack.baseUrl}/authorize?${form(params)}`, { headers: browser ? { accept: 'text/html' } : {} });
        judge('/authorize', answer);
      }),
      fuzzOptions,
    );
  });

  it('POST /reg (and /reg/:id): OAuth error JSON, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        jsonish,
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        fc.oneof(fc.constant('/reg'), text.map((id) => `/reg/${enc(id)}`)),
        fc.constantFrom('POST', 'GET', 'PUT', 'DELETE'),
        authHeader,
        async (body, type, path, method, authorization) => {
          const headers: Record<string, string> = { 'content-type': type };
          if (authorization !== undefined) headers.authorization = authorization.replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '');
          const answer = await send(`${stack.baseUrl}${path}`, {
            method,
            headers,
            ...(method === 'GET' || method === 'DELETE' ? {} : { body: JSON.stringify(body) }),
          });
          judge('/reg', answer, { oauthJson: answer.status !== 405 && answer.status !== 404 });
        },
      ),
      fuzzOptions,
    );
  });

  it('POST /mcp with a valid token: any JSON, JSON-RPC or not, never 5xx', async () => {
    const rpc = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), text),
        id: fc.oneof(fc.integer(), text, fc.constant(null)),
        method: fc.oneof(fc.constantFrom('tools/call', 'tools/list', 'initialize', 'ping', 'resources/list'), text),
        params: fc.oneof(
          fc.record({ name: fc.oneof(fc.constantFrom('whoami', 'notes_add', 'notes_list'), text), arguments: jsonish }, { requiredKeys: [] }),
          jsonish,
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(rpc, fc.array(rpc, { maxLength: 4 }), jsonish), fc.boolean(), async (body, authorized) => {
        const answer = await send(stack.mcpUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(authorized ? { authorization: `Bearer ${tokens.access_token}` } : {}),
          },
          body: JSON.stringify(body),
        });
        judge('/mcp', answer);
        if (!authorized) expect(answer.status).to.equal(401);
      }),
      fuzzOptions,
    );
  });

  it('the admin API with an operator token: any path segment, query and body, never 5xx', async () => {
    const routes = fc.constantFrom(
      ['GET', '/admin/clients/:x'],
      ['POST', '/admin/clients/:x/revoke'],
      ['POST', '/admin/clients/:x/disable'],
      ['POST', '/admin/clients/:x/enable'],
      ['DELETE', '/admin/clients/:x'],
      ['GET', '/admin/grants'],
      ['POST', '/admin/grants/:x/revoke'],
      ['POST', '/admin/accounts/:x/revoke'],
      ['POST', '/admin/accounts/:x/disable'],
      ['POST', '/admin/accounts/:x/enable'],
      ['DELETE', '/admin/accounts/:x'],
      ['POST', '/admin/tokens/revoke'],
      ['GET', '/admin/audit'],
    );
    await fc.assert(
      fc.asyncProperty(routes, text, fieldsOf(['client_id', 'account', 'limit']), jsonish, fc.boolean(), async ([method, route], segment, query, body, authorized) => {
        const path = route.replace(':x', enc(segment || 'x'));
        const answer = await send(`${stack.baseUrl}${path}?${form(query)}`, {
          method,
          headers: { 'content-type': 'application/json', ...(authorized ? { authorization: `Bearer ${adminToken}` } : {}) },
          ...(method === 'GET' ? {} : { body: JSON.stringify(body) }),
        });
        judge('admin', answer, { oauthJson: true });
      }),
      fuzzOptions,
    );
  });

  it('login and consent forms: any fields, any interaction id, never 5xx', async () => {
    // One real interaction waiting at the login prompt, and random ids beside it.
    const jar = new CookieJar();
    const started = await fetch(
      authorizeUrl(stack.baseUrl, client, stack.mcpUrl),
      { redirect: 'manual' },
    );
    jar.store(started);
    const interaction = new URL(started.headers.get('location')!, stack.baseUrl).pathname;
    await fc.assert(
      fc.asyncProperty(
        fieldsOf(['email', 'password', 'prompt', 'submit']),
        fc.constantFrom('/login', '/confirm', '/abort', ''),
        fc.oneof({ weight: 3, arbitrary: fc.constant(interaction) }, { weight: 1, arbitrary: text.map((id) => `/interaction/${enc(id)}`) }),
        contentType,
        fc.boolean(),
        async (fields, action, base, type, post) => {
          const answer = await send(`${stack.baseUrl}${base}${action}`, {
            method: post ? 'POST' : 'GET',
            headers: { cookie: jar.header(), accept: 'text/html', ...(type ? { 'content-type': type } : {}) },
            ...(post ? { body: form(fields) } : {}),
          });
          judge('interaction', answer);
        },
      ),
      fuzzOptions,
    );
  });

  it('CLI arguments (runCli in-process): exit codes, one readable line, no stack or SQL', async () => {
    const logger = createLogger('silent');
    const context = { config: stack.config, db: stack.db, logger, revocation: createRevocationService(stack.db, logger) };
    const commands = fc.constantFrom(
      ['users', 'add'],
      ['users', 'list'],
      ['users', 'disable'],
      ['users', 'enable'],
      ['users', 'delete'],
      ['clients', 'list'],
      ['clients', 'show'],
      ['clients', 'disable'],
      ['clients', 'enable'],
      ['clients', 'delete'],
      ['grants', 'list'],
      ['audit', 'list'],
      ['revoke', 'token'],
      ['revoke', 'grant'],
      ['revoke', 'client'],
      ['revoke', 'account'],
      ['janitor'],
      ['nonsense'],
      [],
    );
    const flag = fc.constantFrom('--json', '--dry-run', '--reason', '--account', '--client', '--password', '--limit', '--help', '-x', '--');
    const argv = fc.tuple(commands, fc.array(fc.oneof(text, flag), { maxLength: 6 })).map(([command, rest]) => {
      const args = [...command, ...rest];
      // users add without --password would wait for standard input.
      if (command[0] === 'users' && command[1] === 'add') args.push('--password', 'fuzzed-password-1');
      return args;
    });
    const originalOut = process.stdout.write.bind(process.stdout);
    const originalErr = process.stderr.write.bind(process.stderr);
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        let output = '';
        const capture = (chunk: string | Uint8Array): boolean => {
          output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
          return true;
        };
        process.stdout.write = capture as typeof process.stdout.write;
        process.stderr.write = capture as typeof process.stderr.write;
        let code: number;
        try {
          code = await runCli(args, context);
        } finally {
          process.stdout.write = originalOut;
          process.stderr.write = originalErr;
        }
        requests += 1;
        counts.cli = (counts.cli ?? 0) + 1;
        expect(code, `${JSON.stringify(args)} -> ${output}`).to.be.a('number');
        expect(output, JSON.stringify(args)).to.not.match(/unexpected failure/);
        expect(LEAK.test(output), `leak for ${JSON.stringify(args)}: ${output.slice(0, 400)}`).to.equal(false);
      }),
      fuzzOptions,
    );
  });

  it('NUL characters, which PostgreSQL text cannot hold, are a 400 everywhere (found by the fuzzer in the CLI)', async () => {
    const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const cases: [string, string, RequestInit][] = [
      ['admin', '/admin/clients/a%00b', { headers: auth }],
      ['admin', '/admin/grants/a%00b/revoke', { method: 'POST', headers: auth, body: '{}' }],
      ['admin', '/admin/accounts/a%00b/revoke', { method: 'POST', headers: auth, body: '{}' }],
      ['admin', '/admin/grants?client_id=a%00b', { headers: auth }],
      ['admin', '/admin/tokens/revoke', { method: 'POST', headers: auth, body: JSON.stringify({ token: 'a\u0000b', reason: '\u0000' }) }],
      ['/token', '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=a%00b&client_id=a%00b' }],
      ['/reg', '/reg', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT_URI], client_name: 'a\u0000b', token_endpoint_auth_method: 'none' }) }],
    ];
    for (const [surface, path, init] of cases) {
      const answer = await send(`${stack.baseUrl}${path}`, init);
      judge(surface, answer, { oauthJson: true });
      expect(answer.status, `${path}: ${answer.text.slice(0, 200)}`).to.be.within(400, 404);
    }
  });

  describe('oversized bodies are refused with 413', () => {
    const big = 'a'.repeat(200 * 1024);
    for (const [path, type] of [
      ['/token', 'application/x-www-form-urlencoded'],
      ['/revoke', 'application/x-www-form-urlencoded'],
      ['/introspect', 'application/x-www-form-urlencoded'],
      ['/reg', 'application/json'],
      ['/admin/tokens/revoke', 'application/json'],
      ['/interaction/x/login', 'application/x-www-form-urlencoded'],
    ] as const) {
      it(`POST ${path}`, async () => {
        const body = type === 'application/json' ? JSON.stringify({ token: big, client_name: big }) : `token=${big}&client_id=${client.client_id}`;
        const answer = await send(`${stack.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': type, authorization: `Bearer ${adminToken}` },
          body,
        });
        expect(answer.status, answer.text.slice(0, 200)).to.equal(413);
        expect(LEAK.test(answer.text)).to.equal(false);
      });
    }

    it('POST /token with a chunked body (no Content-Length)', async () => {
      const stream = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 20; i += 1) controller.enqueue(new TextEncoder().encode(`x${i}=${'b'.repeat(10 * 1024)}&`));
          controller.close();
        },
      });
      const answer = await send(`${stack.baseUrl}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(answer.status, answer.text.slice(0, 200)).to.equal(413);
      expect(JSON.parse(answer.text)).to.include({ error: 'invalid_request' });
    });

    it('POST /mcp over the MCP limit, with a valid token', async () => {
      const answer = await send(stack.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tokens.access_token}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
      });
      expect(answer.status, answer.text.slice(0, 200)).to.equal(413);
    });
  });

  it('still works after the fuzzing: the original client refreshes and calls the MCP server', async () => {
    expect(confidential.client_secret).to.be.a('string');
    const refreshed = await postForm(stack.baseUrl, '/token', client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
  });
});
