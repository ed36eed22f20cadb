// docs/backups.md "Upgrades", as a test: the previous release (0.1.0, its own code taken from git)
// creates its schema and real data on PostgreSQL by serving real flows; then the current code starts
// on the same database, migrates it in place, and the data still works: valid tokens stay valid, revoked
// ones stay revoked, a replayed rotated refresh token is still caught, notes and sign-in survive, and the
// new commands work on old accounts, and the secrets 0.1.0 stored in clear are now encrypted. Then the
// downgrade path of docs/backups.md: `secrets decrypt` stores them in clear again, the new migrations are
// rolled back one step at a time, and the previous release serves again. PostgreSQL only.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import knex from 'knex';
import type { Database } from '../../src/db/connect.ts';
import { rollbackOne } from '../../src/db/migrate.ts';
import { postgresUrl } from '../support/database.ts';
import { newSecretsKey } from '../../src/secrets/keyring.ts';
import { callTool } from '../support/mcp_server.ts';
import { connectClient, refresh, registerClient, revoke, type RegisteredClient, type TokenSet } from '../support/oauth_flow.ts';
import { freePort, runCliProcess, type ServerProcess, startProcess } from '../support/processes.ts';
import { TEST_PASSWORD } from '../support/server.ts';

const run = promisify(execFile);
/** The commit released as 0.1.0 (CHANGELOG.md). */
const RELEASE_0_1_0 = 'a2a8c5bf7e10a85fb6e320ffe228242b22dd8e3c';
const root = resolve('.');

const applied = async (db: Database) => (await db('knex_migrations').orderBy('id')).map((row: { name: string }) => row.name);

/** How many stored secrets are sealed (encrypted at rest): server key material and client secrets. */
async function sealedSecrets(db: Database): Promise<{ serverKeys: number; clientSecrets: number }> {
  const keys = await db('server_keys').whereRaw("material->>'sealed' is not null").count<{ count: string }[]>({ count: '*' });
  const clients = await db('oidc_models')
    .where({ model: 'Client' })
    .whereRaw("payload->>'client_secret' like 'pcs1.%'")
    .count<{ count: string }[]>({ count: '*' });
  return { serverKeys: Number(keys[0]!.count), clientSecrets: Number(clients[0]!.count) };
}

/** A confidential client's secret works when the revocation endpoint authenticates it (any token: 200). */
const authenticates = async (issuer: string, client: RegisteredClient) => (await revoke(issuer, client, 'not-a-token')).status;

(postgresUrl() ? describe : describe.skip)('upgrade in place from the previous release (0.1.0)', function () {
  this.timeout(300_000);
  const schema = `upgrade_${randomBytes(6).toString('hex')}`;
  let admin: Database;
  let db: Database;
  let release: string;
  let env: Record<string, string>;
  let issuer: string;
  let mcpUrl: string;
  let ports: { as: number; mcp: number };
  let server: ServerProcess | undefined;
  const email = `upgrade-${randomBytes(3).toString('hex')}@example.test`;
  let kept: { client: RegisteredClient; tokens: TokenSet };
  let revoked: { client: RegisteredClient; tokens: TokenSet };
  let replayed: { client: RegisteredClient; rotatedAway: string };
  let releaseMigrations: string[];
  let confidential: RegisteredClient;

  const startRelease = () => startProcess('0.1.0', join(release, 'src/main.ts'), ports.as, env);
  const startCurrent = () => startProcess('current', join(root, 'src/main.ts'), ports.as, env);

  before(async () => {
    release = await mkdtemp(join(tmpdir(), 'portcullis-0.1.0-'));
    try {
      await run('sh', ['-c', `git archive ${RELEASE_0_1_0} | tar -x -C '${release}'`], { cwd: root });
    } catch (error) {
      throw new Error(`this test needs the git history with release commit ${RELEASE_0_1_0} (not a shallow clone): ${(error as Error).message}`);
    }
    await symlink(join(root, 'node_modules'), join(release, 'node_modules'));
    releaseMigrations = (await readdir(join(release, 'migrations'))).filter((name) => name.endsWith('.ts')).sort();

    admin = knex({ client: 'pg', connection: postgresUrl()!, pool: { min: 0, max: 1 } });
    await admin.raw('create schema ??', [schema]);
    const url = new URL(postgresUrl()!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    db = knex({ client: 'pg', connection: url.href, pool: { min: 0, max: 2 } });
    ports = { as: await freePort(), mcp: await freePort() };
    issuer = `http://127.0.0.1:${ports.as}`;
    mcpUrl = `http://127.0.0.1:${ports.mcp}/mcp`;
    env = { DATABASE_URL: url.href, ISSUER: issuer, PORT: String(ports.as), MCP_PORT: String(ports.mcp), MCP_RESOURCE: mcpUrl, SECRETS_KEY: newSecretsKey() };
  });

  after(async () => {
    await server?.stop();
    await db?.destroy();
    await admin?.raw('drop schema if exists ?? cascade', [schema]);
    await admin?.destroy();
    if (release) await rm(release, { recursive: true, force: true });
  });

  it('0.1.0 creates its schema and serves: an account, two connected apps (one revoked), a rotated refresh token, a note', async () => {
    server = await startRelease();
    expect(await applied(db)).to.deep.equal(releaseMigrations);
    const added = await run(resolve('node_modules/.bin/node'), [join(release, 'src/cli/main.ts'), 'users', 'add', email, '--password', TEST_PASSWORD], {
      cwd: release,
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    });
    expect(added.stdout).to.include(email);

    const credentials = { email, password: TEST_PASSWORD };
    kept = await connectClient(issuer, credentials, { resource: mcpUrl });
    const note = await callTool(mcpUrl, kept.tokens.access_token, 'notes_add', { text: 'written by 0.1.0' });
    expect(note.status, JSON.stringify(note.body)).to.equal(200);

    revoked = await connectClient(issuer, credentials, { resource: mcpUrl });
    expect((await revoke(issuer, revoked.client, revoked.tokens.refresh_token!)).status).to.equal(200);

    const rotating = await connectClient(issuer, credentials, { resource: mcpUrl });
    const rotated = await refresh(issuer, rotating.client, rotating.tokens.refresh_token!);
    expect(rotated.status).to.equal(200);
    replayed = { client: rotating.client, rotatedAway: rotating.tokens.refresh_token! };

    confidential = await registerClient(issuer, { token_endpoint_auth_method: 'client_secret_basic' });
    expect(confidential.client_secret).to.be.a('string');
    expect(await authenticates(issuer, confidential)).to.equal(200);
    expect(await sealedSecrets(db), '0.1.0 stores secrets in clear').to.deep.equal({ serverKeys: 0, clientSecrets: 0 });
    await server.stop();
  });

  it('the current code migrates the same database in place at start; the old data works', async () => {
    server = await startCurrent();
    const now = await applied(db);
    expect(now.slice(0, releaseMigrations.length), 'the released migrations, untouched and first').to.deep.equal(releaseMigrations);
    const current = (await readdir(join(root, 'migrations'))).filter((name) => name.endsWith('.ts')).sort();
    expect(now).to.deep.equal(current);
    expect(now.length).to.be.greaterThan(releaseMigrations.length);

    // Valid before, valid now: the MCP server accepts the access token, the note is there, the refresh works.
    const listed = await callTool(mcpUrl, kept.tokens.access_token, 'notes_list');
    expect(listed.status, JSON.stringify(listed.body)).to.equal(200);
    expect(JSON.stringify(listed.body)).to.include('written by 0.1.0');
    const refreshed = await refresh(issuer, kept.client, kept.tokens.refresh_token!);
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
    kept = { client: kept.client, tokens: refreshed.body as unknown as TokenSet };

    // Revoked before, revoked now.
    expect((await callTool(mcpUrl, revoked.tokens.access_token, 'whoami')).status).to.equal(401);
    expect((await refresh(issuer, revoked.client, revoked.tokens.refresh_token!)).body.error).to.equal('invalid_grant');
    // A refresh token rotated away under 0.1.0 is still recognised as a replay.
    expect((await refresh(issuer, replayed.client, replayed.rotatedAway)).body.error).to.equal('invalid_grant');

    // At start the current code encrypted the secrets 0.1.0 stored in clear; the client's secret still works.
    expect(await sealedSecrets(db)).to.deep.equal({ serverKeys: 2, clientSecrets: 1 });
    expect(await authenticates(issuer, confidential)).to.equal(200);

    // The account signs in; the new commands work on it (disable revokes the app connected under 0.1.0).
    await connectClient(issuer, { email, password: TEST_PASSWORD }, { resource: mcpUrl });
    await server.stop();
    server = undefined;
    const disabled = await runCliProcess(['users', 'disable', email, '--json'], env);
    expect(disabled.code, disabled.stderr).to.equal(0);
    expect((JSON.parse(disabled.stdout) as { counts: Record<string, number> }).counts.Grant).to.be.greaterThan(0);
  });

  it('after `secrets decrypt`, the new migrations roll back one step at a time, and 0.1.0 serves the database again', async () => {
    // 0.1.0 reads key material and client secrets as stored: decrypt first (docs/backups.md "Going back").
    const decrypted = await runCliProcess(['secrets', 'decrypt', '--yes', '--json'], env);
    expect(decrypted.code, decrypted.stderr).to.equal(0);
    expect(JSON.parse(decrypted.stdout)).to.deep.equal({ serverKeys: 2, clientSecrets: 1, hashedClientSecrets: 0 });
    expect(await sealedSecrets(db)).to.deep.equal({ serverKeys: 0, clientSecrets: 0 });

    while ((await applied(db)).length > releaseMigrations.length) await rollbackOne(db);
    expect(await applied(db)).to.deep.equal(releaseMigrations);
    server = await startRelease();
    // The disable flag went with its migration: the account signs in under 0.1.0 and connects an app.
    const again = await connectClient(issuer, { email, password: TEST_PASSWORD }, { resource: mcpUrl });
    expect((await callTool(mcpUrl, again.tokens.access_token, 'whoami')).status).to.equal(200);
    // The client registered under 0.1.0 authenticates with its secret again.
    expect(await authenticates(issuer, confidential)).to.equal(200);
  });
});
