// Acknowledged means durable (PostgreSQL): a revocation that returned success — /revoke's 200, the
// account page's "is disconnected" page, the CLI's exit 0 — survives a crash that comes right after
// it: PostgreSQL stopped with -m immediate (no checkpoint, crash recovery on start) or the
// authorization server killed with SIGKILL. After the restart, the revoked token is refused at the
// MCP server and its grant is gone. The suite's cluster keeps synchronous_commit on, the default
// (test/support/private_cluster.ts); with it off, this suite fails (tried: see docs/reliability.md).
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { callTool } from '../support/mcp_server.ts';
import { postgresUrl } from '../support/database.ts';
import { createClusterWithDatabase, type PrivateCluster, SUITE_DATABASE } from '../support/private_cluster.ts';
import {
  type AccountBrowser,
  alive,
  type MintedGrant,
  type Minter,
  type ProcessStack,
  reportOnFailure,
  signInAccountPages,
  startStackAndMinter,
  stopStackAndMinter,
} from '../support/process_stack.ts';

const PORT = 55463;

type Surface = '/revoke' | 'account page Disconnect' | 'CLI revoke grant';
const SURFACES: Surface[] = ['/revoke', 'account page Disconnect', 'CLI revoke grant'];

(postgresUrl() ? describe : describe.skip)('acknowledged revocations survive a crash right after the acknowledgment', function () {
  this.timeout(180_000);
  let cluster: PrivateCluster;
  let stack: ProcessStack;
  let minter: Minter;
  let browser: AccountBrowser;

  before(async () => {
    cluster = await createClusterWithDatabase(PORT);
    ({ stack, minter } = await startStackAndMinter(cluster.url(SUITE_DATABASE)));
    browser = await signInAccountPages(stack.authorization.origin, minter.account);
  });

  after(async () => {
    await stopStackAndMinter(stack, minter);
    await cluster?.destroy();
  });

  reportOnFailure(() => `${stack?.output() ?? ''}\n--- postgres log (tail) ---\n${cluster?.log().slice(-3000) ?? ''}`);

  /** Revokes `grant` through `surface`; resolves once the surface acknowledged success. */
  async function revokeThrough(surface: Surface, grant: MintedGrant): Promise<void> {
    if (surface === '/revoke') {
      const response = await fetch(`${stack.authorization.origin}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: grant.accessToken, client_id: minter.client.client_id }).toString(),
      });
      expect(response.status, `${surface}: ${await response.text()}`).to.equal(200);
    } else if (surface === 'account page Disconnect') {
      const response = await browser.post(`/account/apps/${encodeURIComponent(grant.grantId)}/disconnect`, { csrf: browser.csrf });
      const page = await response.text();
      expect(response.status, `${surface}: ${page.slice(0, 300)}`).to.equal(200);
      expect(page).to.include('is disconnected');
    } else {
      const result = await stack.cli(['revoke', 'grant', '--', grant.grantId]);
      expect(result.code, `${surface}: ${result.stderr}${result.stdout}`).to.equal(0);
    }
  }

  async function untilReady(): Promise<void> {
    const deadline = performance.now() + 30_000;
    for (const origin of [stack.authorization.origin, new URL(stack.mcpUrl).origin]) {
      while ((await fetch(`${origin}/readyz`).then((r) => r.status, () => 0)) !== 200) {
        if (performance.now() > deadline) throw new Error(`${origin} not ready 30 s after the restart`);
        await sleep(100);
      }
    }
  }

  async function expectRevoked(surface: Surface, grant: MintedGrant, crash: string): Promise<void> {
    const call = await callTool(stack.mcpUrl, grant.accessToken, 'whoami');
    expect(call.status, `${surface}, then ${crash}: the revoked token at the MCP server`).to.equal(401);
    const rows = await cluster.query('select count(*)::int as count from oidc_grants where id = $1', [grant.grantId], SUITE_DATABASE);
    expect(rows[0]?.count, `${surface}, then ${crash}: the grant row`).to.equal(0);
  }

  for (const surface of SURFACES) {
    it(`${surface} returned success, then PostgreSQL crashed (-m immediate): still revoked after crash recovery`, async () => {
      const [grant, bystander] = (await minter.mint(2)) as [MintedGrant, MintedGrant];
      expect((await callTool(stack.mcpUrl, grant.accessToken, 'whoami')).status).to.equal(200);
      await revokeThrough(surface, grant);
      await cluster.stop('immediate');
      await cluster.start();
      await untilReady();
      await expectRevoked(surface, grant, 'a PostgreSQL crash');
      // The crash lost nothing else either: an untouched grant still works.
      expect((await callTool(stack.mcpUrl, bystander.accessToken, 'whoami')).status).to.equal(200);
      expect(alive(stack.authorization) && alive(stack.mcp)).to.equal(true);
    });

    it(`${surface} returned success, then the authorization server was killed (SIGKILL): still revoked after its restart`, async () => {
      const [grant] = (await minter.mint(1)) as [MintedGrant];
      expect((await callTool(stack.mcpUrl, grant.accessToken, 'whoami')).status).to.equal(200);
      await revokeThrough(surface, grant);
      await stack.killAndRestartAuthorization();
      await untilReady();
      await expectRevoked(surface, grant, 'kill -9 of the authorization server');
    });
  }
});
