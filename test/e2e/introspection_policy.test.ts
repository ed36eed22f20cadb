// Introspection is not an oracle: only a client an operator designated as a resource server
// (`clients create-resource-server <resource>`) learns anything at /introspect, and only about access
// tokens issued for its resource; every other question is answered `active: false`. And the
// client_credentials grant belongs to operator clients alone, never to public or registered clients.
import { expect } from 'chai';
import { createResourceServerClient } from '../../src/admin/resource_server_clients.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { runCli } from '../../src/cli/program.ts';
import { createLogger } from '../../src/logger.ts';
import { connectClient, introspect, postForm, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createIntrospector, createTestAccount, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.ts';

describe('introspection is for resource servers, client credentials for operators', function () {
  this.timeout(60_000);
  let server: TestServer;
  let account: { id: string; email: string; password: string };
  let context: CliContext;

  before(async () => {
    server = await startTestServer();
    account = { ...(await createTestAccount(server.db)), password: TEST_PASSWORD };
    context = { config: server.config, db: server.db, logger: createLogger('silent'), revocation: server.revocation };
  });
  after(() => server?.close());

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const { write: writeOut } = process.stdout;
    const { write: writeErr } = process.stderr;
    const capture = (into: string[]) => ((chunk: string | Uint8Array) => (into.push(String(chunk)), true)) as typeof process.stdout.write;
    process.stdout.write = capture(out);
    process.stderr.write = capture(err);
    try {
      const code = await runCli(argv, context);
      return { code, stdout: out.join(''), stderr: err.join('') };
    } finally {
      process.stdout.write = writeOut;
      process.stderr.write = writeErr;
    }
  }

  const userTokens = () => connectClient(server.baseUrl, account, { resource: server.config.resource });

  it('a client registered by anyone learns nothing about other clients\' tokens, nor its own', async () => {
    const { client, tokens } = await userTokens();
    const snoop = await registerClient(server.baseUrl, { token_endpoint_auth_method: 'client_secret_basic', client_name: 'snoop' });
    expect((await introspect(server.baseUrl, snoop, tokens.access_token)).body).to.deep.equal({ active: false });
    expect((await introspect(server.baseUrl, snoop, tokens.refresh_token!)).body).to.deep.equal({ active: false });
    expect((await introspect(server.baseUrl, client, tokens.access_token)).body).to.deep.equal({ active: false });
  });

  it("a resource server sees its resource's access tokens, and nothing else", async () => {
    const { client, tokens } = await userTokens();
    const resourceServer = await createIntrospector(server);
    const answer = (await introspect(server.baseUrl, resourceServer, tokens.access_token)).body;
    expect(answer).to.include({ active: true, client_id: client.client_id, sub: account.id, aud: server.config.resource, token_type: 'Bearer' });
    // A refresh token is never a resource server's business.
    expect((await introspect(server.baseUrl, resourceServer, tokens.refresh_token!)).body).to.deep.equal({ active: false });

    // Another resource's server does not see this resource's tokens.
    const other = await createResourceServerClient(server.db, server.adapterFor('Client'), 'https://other.example/mcp', 'other');
    const otherClient: RegisteredClient = { client_id: other.clientId, client_secret: other.clientSecret };
    expect((await introspect(server.baseUrl, otherClient, tokens.access_token)).body).to.deep.equal({ active: false });

    // Nor does this resource's server see an operator's admin token.
    const admin = await operatorToken(server.baseUrl, await createOperator(server));
    expect((await introspect(server.baseUrl, resourceServer, admin)).body).to.deep.equal({ active: false });
  });

  it('the client_credentials grant is refused to public and registered clients, whatever they registered', async () => {
    const metadata = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
    const publicClient = await registerClient(server.baseUrl, { ...metadata, token_endpoint_auth_method: 'none' });
    const confidential = await registerClient(server.baseUrl, { ...metadata, token_endpoint_auth_method: 'client_secret_basic' });
    for (const [label, client] of [['public', publicClient], ['confidential', confidential]] as const) {
      const variants: Record<string, string>[] = [{}, { resource: server.config.resource }, { resource: server.config.resource, scope: 'mcp:read' }];
      for (const fields of variants) {
        const answer = await postForm(server.baseUrl, '/token', client, { grant_type: 'client_credentials', ...fields });
        expect([answer.status, answer.body.error], `${label} ${JSON.stringify(fields)}: ${JSON.stringify(answer.body)}`).to.deep.equal([400, 'unauthorized_client']);
        expect(answer.body).to.not.have.property('access_token');
      }
    }
  });

  it('clients create-resource-server --json prints exactly resource, client_id and client_secret, and the client introspects', async () => {
    const run = await cli('clients', 'create-resource-server', server.config.resource, '--name', 'notes MCP server', '--json');
    expect(run.code, run.stderr).to.equal(0);
    const printed = JSON.parse(run.stdout) as Record<string, string>;
    expect(Object.keys(printed).sort()).to.deep.equal(['client_id', 'client_secret', 'resource']);
    expect(printed.resource).to.equal(server.config.resource);
    const { tokens } = await userTokens();
    const resourceServer = { client_id: printed.client_id!, client_secret: printed.client_secret! };
    expect((await introspect(server.baseUrl, resourceServer, tokens.access_token)).body.active).to.equal(true);
    // It is no app: no authorization, no client credentials.
    const grant = await postForm(server.baseUrl, '/token', resourceServer, { grant_type: 'client_credentials' });
    expect(grant.status).to.equal(400);
    expect(grant.body).to.not.have.property('access_token');
  });

  it('clients create-resource-server shows the secret once in text, and refuses a resource this server does not issue tokens for', async () => {
    const text = await cli('clients', 'create-resource-server', server.config.resource);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/^client_id: +resource-server-/m).and.match(/^client_secret: +\S+ +\(shown once/m);
    const unknown = await cli('clients', 'create-resource-server', 'https://elsewhere.example/mcp', '--json');
    expect(unknown.code).to.equal(1);
    expect(unknown.stdout).to.equal('');
    expect(unknown.stderr).to.match(/^error: unknown resource "https:\/\/elsewhere\.example\/mcp"/);
  });
});
