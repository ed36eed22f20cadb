// The CLI as an operator's tool: ids that match nothing are errors (and leave no audit row), numeric
// options are checked, tables name accounts by email, --version, the account lifecycle (disable,
// enable, delete, set-password), one-step db rollback, and the issuer printed for operator clients.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { authenticate, markAccountDisabled } from '../../src/storage/account_store.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { type Database, openDatabase } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { addNote } from '../../src/storage/note_store.ts';
import { recordServerIssuer } from '../../src/storage/server_settings_store.ts';
import { expectOneLineError, runCliChild, runCliInProcess, runCliJson, startCliTestServer } from '../support/cli.ts';
import { connectClient, introspect, refresh, registerClient } from '../support/oauth_flow.ts';
import { createIntrospector, createTestAccount, TEST_PASSWORD, type TestServer } from '../support/server.ts';
import { countRows, lost, mintGrant, nonZero } from '../revocation/helpers.ts';

const auditRows = async (db: Database) => Number((await db('revocation_audit').count({ n: '*' }))[0]!.n);

describe('operator CLI', () => {
  describe('in-process over a running test server', () => {
    let server: TestServer, context: CliContext, resource: string;
    before(async () => ({ server, context, resource } = await startCliTestServer()));
    after(() => server.close());
    const cli = (...argv: string[]) => runCliInProcess(context, argv);
    const json = <T = Record<string, unknown>>(...argv: string[]) => runCliJson<T>(context, argv);

    it('revoke grant <typo> says "no such grant", exits non-zero and writes no audit row', async () => {
      const before = await auditRows(server.db);
      expectOneLineError(await cli('revoke', 'grant', 'no-such-grant'), /no such grant "no-such-grant"/);
      expectOneLineError(await cli('revoke', 'grant', 'no-such-grant', '--json'), /no such grant/);
      expect(await auditRows(server.db)).to.equal(before);
    });

    it('revoke grant on a grant already revoked is "no such grant" too; the first revocation was audited once', async () => {
      const client = await registerClient(server.baseUrl);
      const { grantId } = await mintGrant(server.provider, { client, accountId: (await createTestAccount(server.db)).id, resource });
      const before = await auditRows(server.db);
      expect((await cli('revoke', 'grant', grantId)).code).to.equal(0);
      expectOneLineError(await cli('revoke', 'grant', grantId), /no such grant/);
      expect(await auditRows(server.db)).to.equal(before + 1);
    });

    it('revoke token <garbage> says "no such token", exits non-zero and writes no audit row; /revoke stays a quiet 200', async () => {
      const before = await auditRows(server.db);
      expectOneLineError(await cli('revoke', 'token', 'not-a-token'), /no such token/);
      expect(await auditRows(server.db)).to.equal(before);
      // RFC 7009: a client revoking an unknown token still gets 200.
      const client = await registerClient(server.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' });
      const answer = await fetch(`${server.baseUrl}/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
        },
        body: 'token=not-a-token',
      });
      expect(answer.status).to.equal(200);
    });

    it('revoke token <a real token> still revokes it and its grant', async () => {
      const client = await registerClient(server.baseUrl);
      const minted = await mintGrant(server.provider, { client, accountId: (await createTestAccount(server.db)).id, resource });
      const outcome = await json<{ counts: Record<string, number> }>('revoke', 'token', minted.accessToken);
      expect(nonZero(outcome.counts)).to.deep.equal({ Grant: 1, AccessToken: 1, RefreshToken: 1 });
    });

    it('audit list --limit refuses anything but a whole number of at least 1', async () => {
      for (const bad of ['abc', '0', '-5', '1.5', '10x', '']) {
        const run = await cli('audit', 'list', '--limit', bad);
        expect(run.code, `--limit ${JSON.stringify(bad)}`).to.not.equal(0);
        expect(run.stdout).to.equal('');
        expect(run.stderr).to.match(/--limit/).and.match(/whole number/);
      }
      const records = await json<unknown[]>('audit', 'list', '--limit', '1');
      expect(records).to.have.length(1);
    });

    it('grants list and audit list name accounts by email, not by id', async () => {
      const account = await createTestAccount(server.db);
      const client = await registerClient(server.baseUrl);
      await mintGrant(server.provider, { client, accountId: account.id, resource });
      const grants = await cli('grants', 'list', '--client', client.client_id);
      expect(grants.code, grants.stderr).to.equal(0);
      expect(grants.stdout).to.include(account.email);
      expect(grants.stdout).not.to.include(account.id);

      expect((await cli('revoke', 'account', account.email, '--reason', 'email test')).code).to.equal(0);
      const audit = await cli('audit', 'list', '--limit', '1');
      expect(audit.code, audit.stderr).to.equal(0);
      expect(audit.stdout).to.include(account.email).and.include('email test');
      expect(audit.stdout).not.to.include(account.id);
      // JSON keeps the stable ids.
      const [record] = await json<{ target: { accountId: string } }[]>('audit', 'list', '--limit', '1');
      expect(record!.target.accountId).to.equal(account.id);
    });

    it('--version prints the version in package.json', async () => {
      const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
      const run = await cli('--version');
      expect(run.code).to.equal(0);
      expect(run.stdout.trim()).to.equal(version);
    });

    it('users disable revokes everything the account holds, refuses its sign-in, is audited; users enable lets it back in', async () => {
      const account = await createTestAccount(server.db, 'disable');
      const { client, tokens } = await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource });
      const observer = await createIntrospector(server);
      const held = await countRows(server.db, { accountId: account.id });
      expect(held.Grant).to.equal(1);
      expect(held.Session).to.equal(1);

      const outcome = await json<{ action: string; counts: Record<string, number> }>('users', 'disable', account.email, '--reason', 'abuse');
      expect(outcome.action).to.equal('disable_account');
      expect(nonZero(outcome.counts)).to.deep.include({ Grant: 1, AccessToken: 1, RefreshToken: 1, Session: 1 });
      expect(nonZero(await countRows(server.db, { accountId: account.id })), 'nothing left but interactions').to.not.have.any.keys(
        'Grant', 'AccessToken', 'RefreshToken', 'Session',
      );
      expect((await introspect(server.baseUrl, observer, tokens.access_token)).body.active).to.equal(false);
      const [audit] = await json<{ action: string; reason: string; target: { accountId: string } }[]>('audit', 'list', '--limit', '1');
      expect(audit).to.deep.include({ action: 'disable_account', reason: 'abuse', target: { accountId: account.id } });

      // The right password no longer signs in, on the login form (401) or anywhere else.
      expect(await authenticate(server.db, account.email, TEST_PASSWORD)).to.equal(undefined);
      let refused: unknown;
      try {
        await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource, client });
      } catch (error) {
        refused = error;
      }
      expect(String(refused)).to.match(/unexpected 401 at \/interaction\/[^/]+\/login/);
      const listed = await json<{ email: string; disabledAt?: string }[]>('users', 'list');
      expect(listed.find((row) => row.email === account.email)?.disabledAt).to.be.a('string');

      expect((await json<{ action: string }>('users', 'enable', account.email)).action).to.equal('enable_account');
      await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource, client });
    });

    it('a disabled account is not found by the provider: a refresh token that escaped the revocation gets invalid_grant', async () => {
      const account = await createTestAccount(server.db, 'late');
      const { client, tokens } = await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource });
      // As if the refresh token had been issued in the instant between the disable and its revocation.
      await markAccountDisabled(server.db, account.id);
      const refreshed = await refresh(server.baseUrl, client, tokens.refresh_token!);
      expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(400);
      expect(refreshed.body.error).to.equal('invalid_grant');
    });

    it('users delete erases the account row and its notes after revoking everything; the audit keeps only the id', async () => {
      const account = await createTestAccount(server.db, 'erase');
      const client = await registerClient(server.baseUrl);
      await connectClient(server.baseUrl, { email: account.email, password: TEST_PASSWORD }, { resource, client });
      await addNote(server.db, account.id, client.client_id, 'something personal', 10);

      expectOneLineError(await cli('users', 'delete', account.email), /--yes/);
      expect(await server.db('accounts').where({ id: account.id }).first()).to.not.equal(undefined);

      const before = await countRows(server.db);
      const outcome = await json<{ action: string; counts: Record<string, number> }>('users', 'delete', account.email, '--yes');
      expect(outcome.action).to.equal('delete_account');
      expect(nonZero(outcome.counts)).to.deep.include({ Account: 1, Note: 1, Grant: 1, AccessToken: 1, RefreshToken: 1, Session: 1 });
      const { Account: _account, Note: _note, ...providerCounts } = nonZero(outcome.counts);
      expect(providerCounts).to.deep.equal(lost(before, await countRows(server.db)));
      expect(await server.db('accounts').where({ id: account.id }).first()).to.equal(undefined);
      expect(await server.db('mcp_notes').where({ account_id: account.id }).first()).to.equal(undefined);
      expect(await countRows(server.db, { accountId: account.id })).to.deep.equal({});
      const audit = await server.db('revocation_audit').where({ action: 'delete_account' }).orderBy('id', 'desc').first();
      expect(audit.target).to.deep.equal({ accountId: account.id });
      expect(JSON.stringify(audit)).not.to.include(account.email);

      expectOneLineError(await cli('users', 'delete', account.email, '--yes'), /no account/);
      expectOneLineError(await cli('users', 'disable', 'ghost@example.test'), /no account "ghost@example.test"/);
    });

    it('users delete --dry-run reports the counts and changes nothing', async () => {
      const account = await createTestAccount(server.db, 'dry');
      const before = await countRows(server.db);
      const outcome = await json<{ dryRun: boolean; counts: Record<string, number> }>('users', 'delete', account.id, '--dry-run');
      expect(outcome.dryRun).to.equal(true);
      expect(nonZero(outcome.counts)).to.deep.equal({ Account: 1 });
      expect(await countRows(server.db)).to.deep.equal(before);
      expect(await server.db('accounts').where({ id: account.id }).first()).to.not.equal(undefined);
    });

    it('clients create-operator prints the issuer the server recorded at its start, not the CLI environment\'s', async () => {
      const elsewhere = { ...context, config: { ...context.config, issuer: 'http://wrong.example:9999' } };
      const guessed = await runCliInProcess(elsewhere, ['clients', 'create-operator', 'before start', '--json']);
      expect(guessed.code, guessed.stderr).to.equal(0);
      // Nothing recorded by a server yet on this schema: the CLI says it is guessing.
      expect(guessed.stderr).to.match(/no server has started on this database yet/);

      await recordServerIssuer(server.db, server.config.issuer);
      const run = await runCliInProcess(elsewhere, ['clients', 'create-operator', 'ops', '--json']);
      expect(run.code, run.stderr).to.equal(0);
      const printed = JSON.parse(run.stdout) as { issuer: string; resource: string; tokenEndpoint: string; clientId: string; clientSecret: string };
      expect(printed).to.deep.include({
        issuer: server.config.issuer,
        resource: `${server.config.issuer}/admin`,
        tokenEndpoint: `${server.config.issuer}/token`,
      });
      expect(run.stderr).to.include('http://wrong.example:9999');
      // What it printed works as printed.
      const token = await fetch(printed.tokenEndpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${printed.clientId}:${printed.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin', resource: printed.resource }),
      });
      expect(token.status, await token.clone().text()).to.equal(200);
    });
  });

  describe('as a child process on an on-disk embedded database', function () {
    // Each child opens the embedded database anew: seconds per run on a busy machine.
    this.timeout(240_000);
    let dataDir: string;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'portcullis-operator-cli-'));
    });
    after(() => rm(dataDir, { recursive: true, force: true }));
    const child = (argv: string[], input?: string) => runCliChild(argv, { DATA_DIR: dataDir }, input);

    async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
      const db = openDatabase({ url: undefined, poolMax: 1, dataDir });
      try {
        return await work(db);
      } finally {
        await db.destroy();
      }
    }

    it('users set-password --password-stdin sets a new argon2id password; without it and without a terminal it refuses', async () => {
      expect((await child(['users', 'add', 'pat@example.test', '--password', TEST_PASSWORD])).code).to.equal(0);
      const changed = await child(['users', 'set-password', 'pat@example.test', '--password-stdin'], 'a brand new password\n');
      expect(changed.code, changed.stderr).to.equal(0);
      expect(changed.stdout).to.match(/password changed for pat@example.test/);
      await withDatabase(async (db) => {
        expect(await authenticate(db, 'pat@example.test', 'a brand new password')).to.not.equal(undefined);
        expect(await authenticate(db, 'pat@example.test', TEST_PASSWORD)).to.equal(undefined);
        const row = await db('accounts').where({ email: 'pat@example.test' }).first();
        expect(row.password_hash).to.match(/^\$argon2id\$/);
      });
      expectOneLineError(await child(['users', 'set-password', 'pat@example.test']), /--password-stdin/);
      expectOneLineError(await child(['users', 'set-password', 'pat@example.test', '--password-stdin'], 'short\n'), /at least 8/);
      expectOneLineError(await child(['users', 'set-password', 'nobody@example.test', '--password-stdin'], 'whatever123\n'), /no account/);
    });

    it('db rollback reverts one migration; --all reverts every one; both need --yes', async () => {
      const applied = () => withDatabase(async (db) => (await db('knex_migrations').orderBy('id')).map((row: { name: string }) => row.name));
      expect((await child(['db', 'migrate'])).code).to.equal(0);
      const all = await applied();
      expect(all.length).to.be.greaterThan(2);

      const refused = await child(['db', 'rollback']);
      expect(refused.code).to.not.equal(0);
      expect(refused.stderr).to.match(/--yes/);
      expect(await applied()).to.deep.equal(all);

      const one = await child(['db', 'rollback', '--yes']);
      expect(one.code, one.stderr).to.equal(0);
      expect(one.stdout.trim()).to.equal(`reverted ${all.at(-1)}`);
      expect(await applied()).to.deep.equal(all.slice(0, -1));

      const everything = await child(['db', 'rollback', '--all', '--yes']);
      expect(everything.code, everything.stderr).to.equal(0);
      expect(await applied()).to.deep.equal([]);
      await withDatabase(async (db) => {
        expect(await db.schema.hasTable('accounts')).to.equal(false);
        await migrateToLatest(db);
      });
    });
  });
});
