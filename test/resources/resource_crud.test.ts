// The resource registry's operations from one table of cases, run on both surfaces that expose them:
// the CLI (`portcullis resources ...`, in process over the server's database) and the admin API
// (/admin/resources). Both must agree on every answer, errors included.
import { expect } from 'chai';
import request from 'supertest';
import { adminResource, createOperatorClient } from '../../src/admin/operator_clients.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { createLogger } from '../../src/logger.ts';
import { createRevocationService } from '../../src/revocation/revocation_service.ts';
import { runCliInProcess } from '../support/cli.ts';
import { postForm } from '../support/oauth_flow.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** One answer, whichever surface gave it: ok with a JSON body, or a failure with its message. */
type Answer = { ok: true; body: Record<string, unknown> } | { ok: false; kind: 'invalid' | 'not_found' | 'conflict'; message: string };

/** The body of a successful answer (fails the test otherwise). */
function bodyOf<T = Record<string, unknown>>(answer: Answer): T {
  if (!answer.ok) expect.fail(`expected success, got ${JSON.stringify(answer)}`);
  return answer.body as T;
}

interface Definition {
  resource: string;
  name: string;
  scopes: { name: string; description: string }[];
  access_token_ttl?: number;
}

interface Surface {
  add(definition: Definition): Promise<Answer>;
  list(): Promise<Answer>;
  show(url: string): Promise<Answer>;
  update(url: string, changes: { name?: string; scopes?: Definition['scopes']; access_token_ttl?: number | null }): Promise<Answer>;
  remove(url: string, reason: string): Promise<Answer>;
}

function cliSurface(context: CliContext, server: TestServer): Surface {
  async function run(argv: string[]): Promise<Answer> {
    const result = await runCliInProcess(context, [...argv, '--json']);
    // This CLI run is another "process" for the server (on the embedded database it could not be one).
    await server.resources.refresh();
    if (result.code === 0) {
      const body = JSON.parse(result.stdout) as unknown;
      return { ok: true, body: (Array.isArray(body) ? { resources: body } : body) as Record<string, unknown> };
    }
    const message = result.stderr.replace(/^error: /, '').trim();
    const kind = /^no resource/.test(message) ? 'not_found' : /registered already/.test(message) ? 'conflict' : 'invalid';
    return { ok: false, kind, message };
  }
  const scopeFlags = (scopes: Definition['scopes']) => scopes.flatMap((scope) => ['--scope', `${scope.name}=${scope.description}`]);
  return {
    add: (definition) =>
      run([
        'resources',
        'add',
        definition.resource,
        '--name',
        definition.name,
        ...scopeFlags(definition.scopes),
        ...(definition.access_token_ttl === undefined ? [] : ['--access-token-ttl', String(definition.access_token_ttl)]),
      ]),
    list: () => run(['resources', 'list']),
    show: (url) => run(['resources', 'show', url]),
    update: (url, changes) =>
      run([
        'resources',
        'update',
        url,
        ...(changes.name === undefined ? [] : ['--name', changes.name]),
        ...(changes.scopes === undefined ? [] : scopeFlags(changes.scopes)),
        ...(changes.access_token_ttl === undefined ? [] : ['--access-token-ttl', changes.access_token_ttl === null ? 'default' : String(changes.access_token_ttl)]),
      ]),
    remove: (url, reason) => run(['resources', 'remove', url, '--reason', reason]),
  };
}

function apiSurface(server: TestServer, token: () => Promise<string>): Surface {
  async function send(method: 'get' | 'post' | 'patch' | 'delete', path: string, body?: unknown): Promise<Answer> {
    const call = request(server.baseUrl)[method](path).set('authorization', `Bearer ${await token()}`);
    const response = body === undefined ? await call : await call.send(body as object);
    if (response.status < 300) return { ok: true, body: response.body as Record<string, unknown> };
    const kind = ({ 400: 'invalid', 404: 'not_found', 409: 'conflict' } as const)[response.status as 400 | 404 | 409];
    expect(kind, `${response.status} ${response.text}`).to.be.a('string');
    return { ok: false, kind, message: String(response.body.error_description) };
  }
  const at = (url: string) => `/admin/resources/${encodeURIComponent(url)}`;
  return {
    add: (definition) => send('post', '/admin/resources', definition),
    list: () => send('get', '/admin/resources'),
    show: (url) => send('get', at(url)),
    update: (url, changes) => send('patch', at(url), changes),
    remove: (url, reason) => send('delete', at(url), { reason }),
  };
}

const files = (surface: string): Definition => ({
  resource: `https://files-${surface}.example/mcp/`,
  name: `Files (${surface})`,
  scopes: [
    { name: 'files:read', description: 'read your files' },
    { name: 'files:write', description: 'change your files' },
  ],
  access_token_ttl: 300,
});

/** The table: each case runs on a fresh resource name per surface, in order (later cases see earlier ones' rows). */
const cases: { title: string; run: (surface: Surface, name: string) => Promise<void> }[] = [
  {
    title: 'add registers the resource (URL normalized) and prints its introspection client once',
    async run(surface, name) {
      const url = `https://files-${name}.example/mcp`;
      const body = bodyOf(await surface.add(files(name)));
      expect(body.resource).to.equal(url);
      expect(body.client_id).to.match(/^resource-server-/);
      expect(body.client_secret).to.be.a('string').with.length.above(30);
      const shown = bodyOf<{ resource_server_clients: string[] }>(await surface.show(url));
      expect(shown).to.deep.include({ resource: url, name: `Files (${name})`, access_token_ttl: 300, scopes: files(name).scopes });
      expect(shown.resource_server_clients).to.deep.equal([body.client_id]);
    },
  },
  {
    title: 'add of a registered URL (any spelling) is a conflict',
    async run(surface, name) {
      const answer = await surface.add({ ...files(name), resource: `HTTPS://FILES-${name.toUpperCase()}.example:443/mcp` });
      expect(answer).to.deep.include({ ok: false, kind: 'conflict' });
    },
  },
  {
    title: 'add refuses definitions the consent page could not show',
    async run(surface, name) {
      const invalid: [Partial<Definition>, RegExp][] = [
        [{ scopes: [] }, /at least one scope/],
        [{ scopes: [{ name: 'files:read', description: '' }] }, /description/],
        [{ scopes: [{ name: 'has space', description: 'x' }] }, /scope name/],
        [{ scopes: [{ name: 'openid', description: 'x' }] }, /OpenID Connect/],
        [{ resource: 'https://frag.example/mcp#x' }, /fragment/],
        [{ resource: 'ftp://files.example/' }, /http\(s\) URL/],
        [{ name: '' }, /display name/],
        [{ access_token_ttl: 0 }, /access_token_ttl|access-token-ttl/],
      ];
      for (const [change, message] of invalid) {
        const answer = await surface.add({ ...files(`${name}-bad`), ...change });
        expect(answer, JSON.stringify(change)).to.deep.include({ ok: false, kind: 'invalid' });
        expect((answer as { message: string }).message).to.match(message);
      }
    },
  },
  {
    title: 'list and show name it; show lists its resource-server client',
    async run(surface, name) {
      const url = `https://files-${name}.example/mcp`;
      const urls = bodyOf<{ resources: { resource: string }[] }>(await surface.list()).resources.map((entry) => entry.resource);
      expect(urls).to.include(url);
      const shown = bodyOf<{ resource_server_clients: string[] }>(await surface.show(`${url}/`));
      expect(shown.resource_server_clients).to.have.length(1);
    },
  },
  {
    title: 'update changes the name, the scope list and the lifetime (back to the default)',
    async run(surface, name) {
      const url = `https://files-${name}.example/mcp`;
      const scopes = [{ name: 'files:list', description: 'see the names of your files' }];
      expect(bodyOf(await surface.update(url, { name: 'Renamed', scopes, access_token_ttl: null }))).to.deep.include({ name: 'Renamed', scopes, access_token_ttl: null });
    },
  },
  {
    title: 'an unknown resource is named as such by show, update and remove',
    async run(surface) {
      const unknown = 'https://nowhere.example/mcp';
      for (const answer of [await surface.show(unknown), await surface.update(unknown, { name: 'x' }), await surface.remove(unknown, 'test')]) {
        expect(answer).to.deep.include({ ok: false, kind: 'not_found' });
        expect((answer as { message: string }).message).to.match(/^no resource "https:\/\/nowhere\.example\/mcp" is registered/);
      }
    },
  },
  {
    title: 'remove unregisters it with its resource-server client, audited',
    async run(surface, name) {
      const url = `https://files-${name}.example/mcp`;
      const outcome = bodyOf<{ action: string; counts: Record<string, number>; auditId: number }>(await surface.remove(url, 'retired'));
      expect(outcome.action).to.equal('remove_resource');
      expect(outcome.counts).to.include({ Resource: 1, Client: 1 });
      expect(outcome.auditId).to.be.a('number');
      expect(await surface.show(url)).to.deep.include({ ok: false, kind: 'not_found' });
    },
  },
];

describe('resources: the same operations on the CLI and the admin API', () => {
  let server: TestServer;
  let surfaces: Record<'cli' | 'api', Surface>;
  let context: CliContext;

  before(async () => {
    server = await startTestServer();
    const logger = createLogger('silent');
    context = { config: server.config, db: server.db, logger, revocation: createRevocationService(server.db, logger) };
    const operator = await createOperatorClient(server.db, server.adapterFor('Client'), 'resources test');
    let token: string | undefined;
    const operatorToken = async () => {
      if (token) return token;
      const answer = await postForm(server.baseUrl, '/token', { client_id: operator.clientId, client_secret: operator.clientSecret }, {
        grant_type: 'client_credentials',
        scope: 'admin',
        resource: adminResource(server.baseUrl),
      });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
      token = String(answer.body.access_token);
      return token;
    };
    surfaces = { cli: cliSurface(context, server), api: apiSurface(server, operatorToken) };
  });
  after(() => server.close());

  for (const surfaceName of ['cli', 'api'] as const) {
    describe(surfaceName, () => {
      for (const testCase of cases) {
        it(testCase.title, () => testCase.run(surfaces[surfaceName], surfaceName));
      }
    });
  }

  it("the CLI's `resources add --json` is exactly { resource, client_id, client_secret }, as `clients create-resource-server`", async () => {
    const run = await runCliInProcess(context, ['resources', 'add', 'https://exact.example/mcp', '--name', 'Exact', '--scope', 'x:y=do x', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(Object.keys(JSON.parse(run.stdout))).to.deep.equal(['resource', 'client_id', 'client_secret']);
    const text = await runCliInProcess(context, ['resources', 'add', 'https://exact-text.example/mcp', '--name', 'Exact', '--scope', 'x:y=do x']);
    expect(text.stdout).to.match(/client_secret: +\S+ +\(shown once: store it now\)/);
  });

  it('the demo MCP server is a registered resource from the first start, with the notes scopes', async () => {
    const scopes = bodyOf<{ scopes: { name: string }[] }>(await surfaces.api.show(server.config.resource)).scopes.map((scope) => scope.name);
    expect(scopes).to.deep.equal(['mcp:read', 'mcp:write']);
  });

  it('the admin API describes the routes in its OpenAPI document', async () => {
    const response = await request(server.baseUrl).get('/admin/openapi.json').expect(200);
    expect(response.body.paths).to.include.keys('/admin/resources', '/admin/resources/{resource}');
  });
});
