// The CLI and the admin API address clients and accounts by one rule (src/revocation/operator_operations.ts):
// each row of one table runs on both surfaces and is refused on both (unknown target: CLI error line,
// HTTP 404) or accepted on both. Accepted rows are dry runs, so the table can run in any order.
import { expect } from 'chai';
import request from 'supertest';
import type { CliContext } from '../../src/cli/context.ts';
import { runCli } from '../../src/cli/program.ts';
import { createLogger } from '../../src/logger.ts';
import { registerClient } from '../support/oauth_flow.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createTestAccount, startTestServer, type TestServer } from '../support/server.ts';

interface Case {
  name: string;
  cli: string[];
  admin: { method: 'post' | 'delete'; path: string; body: Record<string, unknown> };
  accepted: boolean;
}

describe('operator surfaces: one rule for the CLI and the admin API', function () {
  this.timeout(30_000);
  let server: TestServer;
  let context: CliContext;
  let token: string;
  let clientId: string;
  let email: string;
  const cimd = 'https://app.example/client.json';
  const unknownClient = 'no-such-client';
  const unknownEmail = 'nobody@example.test';

  before(async () => {
    server = await startTestServer();
    context = { config: server.config, db: server.db, logger: createLogger('silent'), revocation: server.revocation };
    token = await operatorToken(server.baseUrl, await createOperator(server));
    clientId = (await registerClient(server.baseUrl)).client_id;
    email = (await createTestAccount(server.db)).email;
  });
  after(() => server?.close());

  async function cli(argv: string[]): Promise<{ code: number; stderr: string }> {
    const stderr: string[] = [];
    const { write: writeOut } = process.stdout;
    const { write: writeErr } = process.stderr;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      return { code: await runCli(argv, context), stderr: stderr.join('') };
    } finally {
      process.stdout.write = writeOut;
      process.stderr.write = writeErr;
    }
  }

  const enc = encodeURIComponent;
  const cases = (): Case[] => [
    {
      name: 'revoke an unknown client',
      cli: ['revoke', 'client', unknownClient, '--dry-run'],
      admin: { method: 'post', path: `/admin/clients/${unknownClient}/revoke`, body: { dry_run: true } },
      accepted: false,
    },
    {
      name: 'revoke a registered client',
      cli: ['revoke', 'client', clientId, '--dry-run'],
      admin: { method: 'post', path: `/admin/clients/${clientId}/revoke`, body: { dry_run: true } },
      accepted: true,
    },
    {
      name: 'revoke a metadata-document client (https URL, never stored)',
      cli: ['revoke', 'client', cimd, '--dry-run'],
      admin: { method: 'post', path: `/admin/clients/${enc(cimd)}/revoke`, body: { dry_run: true } },
      accepted: true,
    },
    {
      name: 'revoke a URL client id that is not https',
      cli: ['revoke', 'client', 'http://app.example/client.json', '--dry-run'],
      admin: { method: 'post', path: `/admin/clients/${enc('http://app.example/client.json')}/revoke`, body: { dry_run: true } },
      accepted: false,
    },
    {
      name: "revoke a registered client's grants of an unknown account",
      cli: ['revoke', 'client', clientId, '--account', unknownEmail, '--dry-run'],
      admin: { method: 'post', path: `/admin/clients/${clientId}/revoke`, body: { accounts: [unknownEmail], dry_run: true } },
      accepted: false,
    },
    {
      name: "revoke an account's grants of an unknown client",
      cli: ['revoke', 'account', email, '--client', unknownClient, '--dry-run'],
      admin: { method: 'post', path: `/admin/accounts/${enc(email)}/revoke`, body: { client_id: unknownClient, dry_run: true } },
      accepted: false,
    },
    {
      name: "revoke an account's grants of a registered client",
      cli: ['revoke', 'account', email, '--client', clientId, '--dry-run'],
      admin: { method: 'post', path: `/admin/accounts/${enc(email)}/revoke`, body: { client_id: clientId, dry_run: true } },
      accepted: true,
    },
    {
      name: 'revoke an unknown account',
      cli: ['revoke', 'account', unknownEmail, '--dry-run'],
      admin: { method: 'post', path: `/admin/accounts/${enc(unknownEmail)}/revoke`, body: { dry_run: true } },
      accepted: false,
    },
    {
      name: 'disable an unknown client',
      cli: ['clients', 'disable', unknownClient, '--dry-run'],
      admin: { method: 'post', path: `/admin/clients/${unknownClient}/disable`, body: { dry_run: true } },
      accepted: false,
    },
    {
      name: 'delete an unknown client',
      cli: ['clients', 'delete', unknownClient, '--dry-run'],
      admin: { method: 'delete', path: `/admin/clients/${unknownClient}`, body: { dry_run: true } },
      accepted: false,
    },
  ];

  it('each row gets the same verdict from both surfaces', async () => {
    for (const row of cases()) {
      const run = await cli(row.cli);
      const answer = await request(server.baseUrl)[row.admin.method](row.admin.path).set('authorization', `Bearer ${token}`).send(row.admin.body);
      if (row.accepted) {
        expect(run.code, `${row.name} (CLI): ${run.stderr}`).to.equal(0);
        expect(answer.status, `${row.name} (admin API): ${JSON.stringify(answer.body)}`).to.equal(200);
        expect(answer.body.dryRun, row.name).to.equal(true);
      } else {
        expect(run.code, `${row.name} (CLI)`).to.equal(1);
        expect(run.stderr, `${row.name} (CLI)`).to.match(/^error: no (client|account) "/);
        expect(answer.status, `${row.name} (admin API): ${JSON.stringify(answer.body)}`).to.equal(404);
        expect(answer.body.error, row.name).to.equal('not_found');
        expect(answer.body.error_description, row.name).to.equal(run.stderr.trim().replace(/^error: /, ''));
      }
    }
  });
});
