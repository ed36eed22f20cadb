// The revocation CLI: in-process through runCli over the test server's database (output captured),
// and as a real child process against an on-disk embedded database in a temporary DATA_DIR.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type CliContext } from '../../src/cli/context.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { hashTokenValue } from '../../src/storage/token_hash.ts';
import { expectOneLineError, runCliChild, runCliInProcess, runCliJson, startCliTestServer } from '../support/cli.ts';
import { registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { createTestAccount, TEST_PASSWORD, type TestServer } from '../support/server.ts';
import { countRows, lost, mintGrant, nonZero } from './helpers.ts';

describe('revocation CLI', () => {
  describe('in-process (runCli over the test database)', () => {
    let server: TestServer, context: CliContext, resource: string;
    before(async () => ({ server, context, resource } = await startCliTestServer()));
    after(() => server.close());
    const cli = (...argv: string[]) => runCliInProcess(context, argv);
    const json = <T = Record<string, unknown>>(...argv: string[]) => runCliJson<T>(context, argv);

    const newAccount = () => createTestAccount(server.db);

    it('users add <email> --json prints the new account with its id', async () => {
      const email = `cli-${randomBytes(4).toString('hex')}@example.test`;
      const account = await json<{ id: string; email: string }>('users', 'add', email, '--password', TEST_PASSWORD);
      expect(account.email).to.equal(email);
      const row = await server.db('accounts').where({ id: account.id }).first();
      expect(row?.email).to.equal(email);
    });

    it('revoke account <email>: --dry-run reports what the real run then removes, counts match the database', async () => {
      const account = await newAccount();
      const [first, second] = [await registerClient(server.baseUrl), await registerClient(server.baseUrl)];
      await mintGrant(server.provider, { client: first, accountId: account.id, resource });
      await mintGrant(server.provider, { client: second, accountId: account.id, resource });
      const bystander = await mintGrant(server.provider, { client: first, accountId: (await newAccount()).id, resource });

      const before = await countRows(server.db);
      const dry = await json<{ counts: Record<string, number>; dryRun: boolean }>('revoke', 'account', account.email, '--dry-run');
      expect(dry.dryRun).to.equal(true);
      expect(await countRows(server.db), '--dry-run changes nothing').to.deep.equal(before);

      const real = await json<{ action: string; counts: Record<string, number>; target: Record<string, unknown> }>(
        'revoke', 'account', account.email, '--reason', 'abuse report',
      );
      expect(real.action).to.equal('revoke_account');
      expect(real.target).to.deep.equal({ accountId: account.id });
      for (const count of Object.values(real.counts)) expect(count).to.be.a('number');
      expect(nonZero(real.counts)).to.deep.equal({ Grant: 2, AccessToken: 2, RefreshToken: 2 });
      expect(nonZero(real.counts)).to.deep.equal(lost(before, await countRows(server.db)));
      expect(dry.counts).to.deep.equal(real.counts);
      expect(await server.db('oidc_grants').where({ id: bystander.grantId }).first()).to.not.equal(undefined);

      const again = await json<{ counts: Record<string, number> }>('revoke', 'account', account.id);
      expect(nonZero(again.counts)).to.deep.equal({});

      const audit = await json<{ action: string; actor: { type: string; id: string }; reason: string; counts: Record<string, number> }[]>(
        'audit', 'list', '--limit', '2',
      );
      // Newest first: the repeat (an operator's revocation is audited even when it finds nothing), then the real run.
      expect(audit[0]).to.deep.include({ action: 'revoke_account', counts: again.counts });
      expect(audit[1]).to.deep.include({ action: 'revoke_account', reason: 'abuse report', counts: real.counts });
      expect(audit[1]!.actor.type).to.equal('operator');
      expect(audit[1]!.actor.id).to.match(/^cli:/);
    });

    it('revoke client <id> --account a --account b: two of three users, by email or id; the third keeps its grant', async () => {
      const client = await registerClient(server.baseUrl);
      const users = [await newAccount(), await newAccount(), await newAccount()];
      const grants = [];
      for (const user of users) grants.push(await mintGrant(server.provider, { client, accountId: user.id, resource }));

      const before = await countRows(server.db);
      const outcome = await json<{ counts: Record<string, number>; target: Record<string, unknown> }>(
        'revoke', 'client', client.client_id, '--account', users[0]!.email, '--account', users[1]!.id,
      );
      expect(outcome.target).to.deep.equal({ clientId: client.client_id, accountIds: [users[0]!.id, users[1]!.id] });
      expect(nonZero(outcome.counts)).to.deep.equal({ Grant: 2, AccessToken: 2, RefreshToken: 2 });
      expect(nonZero(outcome.counts)).to.deep.equal(lost(before, await countRows(server.db)));

      const left = await json<{ grantId: string; accountId: string }[]>('grants', 'list', '--client', client.client_id);
      expect(left.map((grant) => grant.grantId)).to.deep.equal([grants[2]!.grantId]);
    });

    it('prints a summary line of counts without --json', async () => {
      const client = await registerClient(server.baseUrl);
      const { grantId } = await mintGrant(server.provider, { client, accountId: (await newAccount()).id, resource });
      const run = await cli('revoke', 'grant', grantId);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.equal(`revoke_grant grantId=${grantId}: removed 1 AccessToken, 1 Grant, 1 RefreshToken\n`);
    });

    it('clients disable / show / enable / delete', async () => {
      const client: RegisteredClient = await registerClient(server.baseUrl);
      await mintGrant(server.provider, { client, accountId: (await newAccount()).id, resource });
      const disabled = await json<{ counts: Record<string, number> }>('clients', 'disable', client.client_id, '--reason', 'leaked secret');
      expect(nonZero(disabled.counts)).to.deep.equal({ Grant: 1, AccessToken: 1, RefreshToken: 1 });
      expect((await json<{ disabled: boolean }>('clients', 'show', client.client_id)).disabled).to.equal(true);
      await json('clients', 'enable', client.client_id);
      expect((await json<{ disabled: boolean }>('clients', 'show', client.client_id)).disabled).to.equal(false);

      const before = await countRows(server.db);
      const deleted = await json<{ counts: Record<string, number> }>('clients', 'delete', client.client_id);
      expect(nonZero(deleted.counts)).to.deep.equal({ Client: 1, RegistrationAccessToken: 1 });
      expect(nonZero(deleted.counts)).to.deep.equal(lost(before, await countRows(server.db)));
    });

    it('errors are one readable line on stderr with a non-zero exit', async () => {
      expectOneLineError(await cli('revoke', 'account', 'nobody@example.test'), /no account "nobody@example.test"/);
      expectOneLineError(await cli('revoke', 'client', 'no-such-client', '--json'), /no client "no-such-client"/);
      expectOneLineError(await cli('revoke', 'account', (await newAccount()).email, '--client', 'no-such-client'), /no client/);
      expectOneLineError(await cli('clients', 'disable', 'no-such-client'), /no client "no-such-client"/);
      expectOneLineError(await cli('users', 'add', 'not-an-email', '--password', TEST_PASSWORD), /not a valid email address/);
      const client = await registerClient(server.baseUrl);
      expectOneLineError(await cli('revoke', 'client', client.client_id, '--account', 'ghost@example.test'), /no account/);
    });
  });

  describe('as a child process on an on-disk embedded database', function () {
    // Each child opens the embedded database anew: seconds per run on a busy machine.
    this.timeout(240_000);
    let dataDir: string;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'portcullis-cli-'));
    });
    after(() => rm(dataDir, { recursive: true, force: true }));

    const child = (...argv: string[]) => runCliChild(argv, { DATA_DIR: dataDir });

    /** Opens the same on-disk database (only while no child holds it). */
    async function withDatabase<T>(work: (db: ReturnType<typeof openDatabase>) => Promise<T>): Promise<T> {
      const db = openDatabase({ url: undefined, poolMax: 1, dataDir });
      try {
        return await work(db);
      } finally {
        await db.destroy();
      }
    }

    it('users add prints the id; revoke account --dry-run and for real report the counts the database lost; an error exits 1', async () => {
      const added = await child('users', 'add', 'Alice@Example.test', '--password', TEST_PASSWORD, '--json');
      expect(added.code, added.stderr).to.equal(0);
      const account = JSON.parse(added.stdout) as { id: string; email: string };
      expect(account.id).to.match(/^[0-9a-f-]{36}$/);
      expect(account.email).to.equal('alice@example.test');

      // What two connected apps and a browser session leave behind, as rows.
      const before = await withDatabase(async (db) => {
        for (const clientId of ['app-one', 'app-two']) {
          const grantId = `grant-${clientId}`;
          await db('oidc_grants').insert({ id: grantId, client_id: clientId, account_id: account.id, payload: {} });
          for (const model of ['AccessToken', 'RefreshToken']) {
            await db('oidc_tokens').insert({
              id_hash: hashTokenValue(randomBytes(16).toString('hex')),
              model,
              grant_id: grantId,
              client_id: clientId,
              account_id: account.id,
              payload: {},
            });
          }
        }
        await db('oidc_models').insert({ model: 'Session', id: hashTokenValue('session'), account_id: account.id, payload: {} });
        return countRows(db);
      });

      const dry = await child('revoke', 'account', account.email, '--dry-run', '--json');
      expect(dry.code, dry.stderr).to.equal(0);
      const dryOutcome = JSON.parse(dry.stdout) as { counts: Record<string, number>; dryRun: boolean };
      expect(dryOutcome.dryRun).to.equal(true);

      const real = await child('revoke', 'account', account.email, '--json');
      expect(real.code, real.stderr).to.equal(0);
      const outcome = JSON.parse(real.stdout) as { counts: Record<string, number>; dryRun: boolean };
      expect(outcome.dryRun).to.equal(false);
      expect(nonZero(outcome.counts)).to.deep.equal({ Grant: 2, AccessToken: 2, RefreshToken: 2, Session: 1 });
      expect(dryOutcome.counts).to.deep.equal(outcome.counts);
      // Had the dry run removed anything, the real run would report less than the database lost.
      const after = await withDatabase(countRows);
      expect(nonZero(outcome.counts)).to.deep.equal(lost(before, after));

      expectOneLineError(await child('revoke', 'account', 'nobody@example.test'), /no account "nobody@example.test"/);
    });
  });
});
