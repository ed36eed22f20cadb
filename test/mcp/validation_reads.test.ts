// One access-token verification reads the token, its grant, its client and the client's disabled
// mark in one statement (src/storage/request_scope.ts), and nothing it read ahead outlives it: a grant ended, a client
// disabled or deleted between two verifications is seen by the second, with no notification.
import { expect } from 'chai';
import { InvalidTokenError, providerTokenVerifier } from '../../src/tokens/access_token_verifier.ts';
import { startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { refresh, registerClient } from '../support/oauth_flow.ts';
import { callTool } from '../support/mcp_server.ts';
import { createTestAccount } from '../support/server.ts';
import { mintAccessToken, mintGrant, mintRefreshToken } from '../support/tokens.ts';

describe('the reads of one access-token verification', () => {
  let stack: McpTestStack;
  let statements: string[] = [];

  before(async () => {
    stack = await startMcpTestStack();
    stack.db.on('query', (query: { sql: string }) => statements.push(query.sql));
  });
  after(() => stack.close());

  /** A fresh client, grant and access token for the MCP resource. */
  async function freshToken() {
    const account = await createTestAccount(stack.db);
    const client = await registerClient(stack.baseUrl);
    const fields = { clientId: client.client_id, accountId: account.id, resource: stack.mcpUrl };
    const grantId = await mintGrant(stack.provider, fields);
    const token = await mintAccessToken(stack.provider, { ...fields, grantId, aud: stack.mcpUrl });
    return { token, grantId, clientId: client.client_id, accountId: account.id };
  }

  const verifier = () => providerTokenVerifier({ provider: stack.provider, resource: stack.mcpUrl });

  async function counted<T>(run: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
    // (Fire-and-forget writes of the setup land first: only the run's statements are counted.)
    await new Promise((resolve) => setTimeout(resolve, 200));
    statements = [];
    const result = await run();
    return { result, sql: statements.slice() };
  }

  it('are one statement: the token with its grant, its client and the client\'s disabled mark', async () => {
    const { token, grantId } = await freshToken();
    const { result, sql } = await counted(() => verifier().verifyAccessToken(token));
    expect(result.extra).to.deep.include({ grantId });
    expect(sql, sql.join('\n')).to.have.length(1);
  });

  it('of a stored client, outside a verification, are one statement that also refuses a disabled one', async () => {
    const { clientId } = await freshToken();
    const found = await counted(() => stack.provider.Client.find(clientId));
    expect(found.result?.clientId).to.equal(clientId);
    expect(found.sql, found.sql.join('\n')).to.have.length(1);
    await stack.db('disabled_clients').insert({ client_id: clientId, reason: 'test' });
    const refused = await counted(() => stack.provider.Client.find(clientId));
    expect(refused.result).to.equal(undefined);
    expect(refused.sql).to.have.length(1);
  });

  it('are not reused by a read outside the verification', async () => {
    const { token, grantId } = await freshToken();
    await verifier().verifyAccessToken(token);
    const { result, sql } = await counted(() => stack.provider.Grant.find(grantId));
    expect(result?.jti).to.equal(grantId);
    expect(sql).to.have.length(1);
  });

  it('keep concurrent verifications apart', async () => {
    const tokens = await Promise.all([freshToken(), freshToken(), freshToken()]);
    const verified = await Promise.all(tokens.map(({ token }) => verifier().verifyAccessToken(token)));
    expect(verified.map((info) => [info.clientId, info.extra?.grantId])).to.deep.equal(tokens.map((t) => [t.clientId, t.grantId]));
  });

  it('of an MCP tool call are one statement with the account, and an account changed since is read anew', async () => {
    const { token, accountId } = await freshToken();
    const first = await counted(() => callTool(stack.mcpUrl, token, 'whoami'));
    expect(first.result.status).to.equal(200);
    // (Its grant's first use is also recorded: a write, not counted here.)
    const reads = first.sql.filter((sql) => /^select/i.test(sql.trim()));
    expect(reads, first.sql.join('\n')).to.have.length(1);
    const email = `renamed-${Date.now()}@example.test`;
    await stack.db('accounts').where({ id: accountId }).update({ email });
    const second = await callTool(stack.mcpUrl, token, 'whoami');
    expect(JSON.stringify(second.body)).to.include(email);
  });

  it('of a refresh take the grant, account and resource from the refresh token\'s read, and see a disabled account at once', async () => {
    const account = await createTestAccount(stack.db);
    const client = await registerClient(stack.baseUrl);
    const fields = { clientId: client.client_id, accountId: account.id, resource: stack.mcpUrl };
    const grantId = await mintGrant(stack.provider, fields);
    const refreshToken = await mintRefreshToken(stack.provider, { ...fields, grantId });
    const rotated = await counted(() => refresh(stack.baseUrl, client, refreshToken));
    expect(rotated.result.status, JSON.stringify(rotated.result.body)).to.equal(200);
    const reads = rotated.sql.filter((sql) => /^select/i.test(sql.trim()));
    // The client's read, then the refresh token's with its grant, account and resource.
    expect(reads, reads.join('\n')).to.have.length(2);
    await stack.db('accounts').where({ id: account.id }).update({ disabled_at: new Date() });
    const refused = await refresh(stack.baseUrl, client, (rotated.result.body as { refresh_token: string }).refresh_token);
    expect(refused.status).to.equal(400);
    expect(refused.body).to.include({ error: 'invalid_grant' });
  });

  // Each change below is made in the database behind the server's back (no revocation service, no
  // notification): only a fresh read can see it.
  const changes: Record<string, (ids: { grantId: string; clientId: string }) => Promise<unknown>> = {
    'its grant expired': ({ grantId }) => stack.db('oidc_grants').where({ id: grantId }).update({ expires_at: new Date(Date.now() - 3_600_000) }),
    'its client was disabled': ({ clientId }) => stack.db('disabled_clients').insert({ client_id: clientId, reason: 'test' }),
    'its client was deleted': ({ clientId }) => stack.db('oidc_models').where({ model: 'Client', id: clientId }).delete(),
  };
  for (const [change, make] of Object.entries(changes)) {
    it(`see at once that ${change}`, async () => {
      const ids = await freshToken();
      await verifier().verifyAccessToken(ids.token);
      await make(ids);
      let refused: unknown;
      await verifier().verifyAccessToken(ids.token).catch((error: unknown) => (refused = error));
      expect(refused).to.be.instanceOf(InvalidTokenError);
    });
  }
});
