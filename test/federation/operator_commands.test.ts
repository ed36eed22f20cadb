// The CLI around upstream identities: a passwordless account, `users link` / `unlink`, and
// `users list` showing which upstream identities sign in to which account.
import { expect } from 'chai';
import { authenticate } from '../../src/storage/account_store.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { createLogger } from '../../src/logger.ts';
import { createRevocationService } from '../../src/revocation/revocation_service.ts';
import { runCliInProcess, runCliJson } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { writeProvidersFile } from './providers_file.ts';

describe('CLI: accounts and their upstream identities', () => {
  let server: TestServer;
  let context: CliContext;
  const issuer = 'http://127.0.0.1:9/corp';

  before(async () => {
    const file = writeProvidersFile(() => ({ providers: [{ id: 'corp', displayName: 'Corp SSO', issuer, clientId: 'portcullis', clientSecret: 'secret' }] }));
    server = await startTestServer({ env: { UPSTREAM_PROVIDERS_FILE: file } });
    const logger = createLogger('silent');
    context = { config: server.config, db: server.db, logger, revocation: createRevocationService(server.db, logger) };
  });
  after(() => server.close());

  it('adds a passwordless account, links, lists and unlinks an upstream identity', async () => {
    const account = await runCliJson<{ id: string; email: string }>(context, ['users', 'add', 'sso.user@example.test', '--passwordless']);
    // No password: password sign-in never matches it.
    expect(await authenticate(server.db, account.email, '')).to.equal(undefined);
    expect(await authenticate(server.db, account.email, 'any password at all')).to.equal(undefined);

    const linked = await runCliInProcess(context, ['users', 'link', account.email, 'corp', 'subject-123']);
    expect(linked.code, linked.stderr).to.equal(0);
    expect(linked.stdout).to.equal(`linked corp identity subject-123 to ${account.email}\n`);

    const listed = await runCliJson<{ id: string; upstreamIdentities: Record<string, unknown>[] }[]>(context, ['users', 'list']);
    const entry = listed.find((row) => row.id === account.id)!;
    expect(entry.upstreamIdentities).to.have.length(1);
    expect(entry.upstreamIdentities[0]).to.include({ upstreamId: 'corp', issuer, subject: 'subject-123' });
    const table = await runCliInProcess(context, ['users', 'list']);
    expect(table.stdout).to.match(/upstream/).and.match(/corp:subject-123/);

    const other = await runCliJson<{ email: string }>(context, ['users', 'add', 'other@example.test', '--passwordless']);
    const taken = await runCliInProcess(context, ['users', 'link', other.email, 'corp', 'subject-123']);
    expect(taken.code).to.not.equal(0);
    expect(taken.stderr).to.match(/corp identity subject-123 is linked to an account already/);
    const unknown = await runCliInProcess(context, ['users', 'link', other.email, 'nope', 'x']);
    expect(unknown.stderr).to.match(/no upstream provider nope is configured; configured: corp/);

    const unlinked = await runCliInProcess(context, ['users', 'unlink', account.email, 'corp']);
    expect(unlinked.stdout).to.match(/^unlinked 1 corp identity from sso\.user@example\.test/);
    const again = await runCliInProcess(context, ['users', 'unlink', account.email, issuer]);
    expect(again.code).to.not.equal(0);
    expect((await runCliJson<{ id: string; upstreamIdentities: unknown[] }[]>(context, ['users', 'list'])).find((row) => row.id === account.id)!.upstreamIdentities).to.deep.equal([]);
  });

  it('refuses --passwordless with --password, and a taken email', async () => {
    const both = await runCliInProcess(context, ['users', 'add', 'x@example.test', '--passwordless', '--password', 'long enough password']);
    expect(both.stderr).to.match(/--passwordless and --password contradict each other/);
    await runCliJson(context, ['users', 'add', 'twice@example.test', '--passwordless']);
    const twice = await runCliInProcess(context, ['users', 'add', 'twice@example.test', '--passwordless']);
    expect(twice.stderr).to.match(/an account with email twice@example\.test already exists/);
  });
});
