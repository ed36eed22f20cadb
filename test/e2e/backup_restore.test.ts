// docs/backups.md, as a test: `pg_dump -Fc` of the database while the servers serve (a refresh loop
// and MCP calls keep running during the dump), `pg_restore` into a new database, and a server started
// on the restore with the same ISSUER and MCP_RESOURCE: tokens that were valid still work, revoked
// ones stay revoked, the account signs in, and nothing needs migrating. PostgreSQL only.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import knex from 'knex';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/connect.ts';
import { postgresUrl, type TestDatabase } from '../support/database.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { connectClient, introspect, refresh, revoke, type RegisteredClient, type TokenSet } from '../support/oauth_flow.ts';
import { createIntrospector, createTestAccount, TEST_PASSWORD } from '../support/server.ts';

const run = promisify(execFile);

function databaseUrl(name: string): string {
  const url = new URL(postgresUrl()!);
  url.pathname = `/${name}`;
  url.searchParams.delete('options');
  return url.href;
}

/** A TestDatabase over a whole database (public schema), as production uses it. */
function wholeDatabase(name: string): TestDatabase {
  const db = knex({ client: 'pg', connection: databaseUrl(name), pool: { min: 0, max: 10 } });
  return { kind: 'postgres', db, close: () => db.destroy() };
}

(postgresUrl() ? describe : describe.skip)('backup and restore: pg_dump while serving, pg_restore into a new database', function () {
  this.timeout(180_000);
  const suffix = randomBytes(4).toString('hex');
  const [sourceName, restoredName] = [`backup_source_${suffix}`, `backup_restored_${suffix}`];
  let admin: Database;
  let workdir: string;
  let source: McpTestStack;
  let restored: McpTestStack | undefined;
  let sourceServing = false;
  let observer: { client_id: string; client_secret: string };
  let account: { id: string; email: string };
  let kept: { client: RegisteredClient; tokens: TokenSet };
  let revoked: { client: RegisteredClient; tokens: TokenSet };

  before(async () => {
    admin = knex({ client: 'pg', connection: postgresUrl()!, pool: { min: 0, max: 1 } });
    await admin.raw('create database ??', [sourceName]);
    await admin.raw('create database ??', [restoredName]);
    workdir = await mkdtemp(join(tmpdir(), 'portcullis-backup-'));
    const database = wholeDatabase(sourceName);
    await migrateToLatest(database.db);
    source = await startMcpTestStack({ database });
    sourceServing = true;
    observer = await createIntrospector(source);
    account = await createTestAccount(source.db, 'backup');
    const credentials = { email: account.email, password: TEST_PASSWORD };
    kept = await connectClient(source.baseUrl, credentials, { resource: source.mcpUrl });
    revoked = await connectClient(source.baseUrl, credentials, { resource: source.mcpUrl });
    expect((await revoke(source.baseUrl, revoked.client, revoked.tokens.refresh_token!)).status).to.equal(200);
  });

  after(async () => {
    await restored?.close();
    await restored?.database.close();
    if (sourceServing) await source?.close();
    await source?.database.close();
    for (const name of [sourceName, restoredName]) await admin.raw('drop database if exists ?? with (force)', [name]);
    await admin.destroy();
    await rm(workdir, { recursive: true, force: true });
  });

  it('the restore serves: valid tokens work, revoked ones stay revoked, sign-in works, no migration pending', async () => {
    // Traffic during the dump: another user keeps refreshing and calling the MCP server.
    const busy = await connectClient(source.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource: source.mcpUrl });
    let refreshToken = busy.tokens.refresh_token!;
    let serving = true;
    let served = 0;
    const traffic = (async () => {
      while (serving) {
        const answer = await refresh(source.baseUrl, busy.client, refreshToken);
        expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
        refreshToken = String(answer.body.refresh_token);
        expect((await callTool(source.mcpUrl, String(answer.body.access_token), 'whoami')).status).to.equal(200);
        served += 1;
      }
    })();
    const dump = join(workdir, 'portcullis.dump');
    await run('pg_dump', ['--format=custom', `--file=${dump}`, databaseUrl(sourceName)]);
    serving = false;
    await traffic;
    expect(served, 'requests served while the dump ran').to.be.greaterThan(0);

    // The original goes away; the restore takes its place under the same issuer (same port) and resource.
    await source.close();
    sourceServing = false;
    await run('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${databaseUrl(restoredName)}`, dump]);
    const database = wholeDatabase(restoredName);
    expect(await migrateToLatest(database.db), 'the restore is already at the latest migration').to.deep.equal([]);
    restored = await startMcpTestStack({ database, port: Number(new URL(source.baseUrl).port), env: { MCP_RESOURCE: source.mcpUrl } });
    expect(restored.config.issuer).to.equal(source.config.issuer);
    const restoredMcp = restored.mcpUrl;

    // Still valid: the kept app's access token (MCP call and introspection) and its refresh token.
    expect((await callTool(restoredMcp, kept.tokens.access_token, 'whoami')).status).to.equal(200);
    expect((await introspect(restored.baseUrl, observer, kept.tokens.access_token)).body.active).to.equal(true);
    const refreshed = await refresh(restored.baseUrl, kept.client, kept.tokens.refresh_token!);
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
    expect((await callTool(restoredMcp, String(refreshed.body.access_token), 'whoami')).status).to.equal(200);

    // Still revoked: the revoked app's access token and refresh token.
    expect((await callTool(restoredMcp, revoked.tokens.access_token, 'whoami')).status).to.equal(401);
    expect((await introspect(restored.baseUrl, observer, revoked.tokens.access_token)).body.active).to.equal(false);
    const refused = await refresh(restored.baseUrl, revoked.client, revoked.tokens.refresh_token!);
    expect(refused.status).to.equal(400);
    expect(refused.body.error).to.equal('invalid_grant');

    // The account signs in and a new app connects (password hashes and signing keys came along).
    const fresh = await connectClient(restored.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource: source.mcpUrl });
    expect((await callTool(restoredMcp, fresh.tokens.access_token, 'whoami')).status).to.equal(200);
  });
});
