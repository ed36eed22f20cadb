// Failover: the servers (child processes) reach PostgreSQL through an address the test owns (a TCP
// forwarder, as a cloud endpoint's DNS name would be). The primary has a streaming standby
// (pg_basebackup -R) in synchronous replication (synchronous_standby_names, synchronous_commit = on).
// Under load, revocations are made through /revoke, the account page and the CLI; right after the
// last one is acknowledged the primary crashes, the standby is promoted and the address moves to it.
// Service resumes by itself, and every acknowledged revocation is still in effect on the new primary.
// What an operator must configure for that guarantee: docs/reliability.md.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { callTool } from '../support/mcp_server.ts';
import { postgresUrl } from '../support/database.ts';
import {
  brokenAnswers,
  countsByStatus,
  isUnavailableAnswer,
  lostRevocations,
  recoveryMs,
  startWorkload,
  untilRecovered,
  within,
} from '../support/fault_workload.ts';
import { createClusterWithDatabase, createStandby, type PrivateCluster, SUITE_DATABASE } from '../support/private_cluster.ts';
import {
  type MintedGrant,
  type Minter,
  type ProcessStack,
  reportOnFailure,
  signInAccountPages,
  startStackAndMinter,
  stopStackAndMinter,
  survived,
} from '../support/process_stack.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp_proxy.ts';

const PRIMARY_PORT = 55466;
const STANDBY_PORT = 55467;
const STANDBY_NAME = 'standby1';

(postgresUrl() ? describe : describe.skip)('failover to a synchronous standby behind a moving address', function () {
  this.timeout(180_000);
  let primary: PrivateCluster;
  let standby: PrivateCluster;
  let proxy: TcpProxy;
  let stack: ProcessStack;
  let minter: Minter;

  before(async () => {
    primary = await createClusterWithDatabase(PRIMARY_PORT);
    standby = await createStandby(primary, { port: STANDBY_PORT, applicationName: STANDBY_NAME });
    // Synchronous only once the standby streams: before that, every commit would wait for it.
    await primary.query(`alter system set synchronous_standby_names = '${STANDBY_NAME}'`);
    await primary.query('select pg_reload_conf()');
    const deadline = performance.now() + 30_000;
    for (;;) {
      const rows = await primary.query<{ sync_state: string }>('select sync_state from pg_stat_replication where application_name = $1', [STANDBY_NAME]);
      if (rows[0]?.sync_state === 'sync') break;
      if (performance.now() > deadline) throw new Error(`the standby never became synchronous: ${JSON.stringify(rows)}`);
      await sleep(100);
    }
    proxy = await startTcpProxy({ host: '127.0.0.1', port: PRIMARY_PORT });
    ({ stack, minter } = await startStackAndMinter(`postgres://postgres@127.0.0.1:${proxy.port}/${SUITE_DATABASE}`));
  });

  after(async () => {
    await stopStackAndMinter(stack, minter);
    await proxy?.close();
    await standby?.destroy();
    await primary?.destroy();
  });

  reportOnFailure(() => `${stack?.output() ?? ''}\n--- primary log ---\n${primary?.log().slice(-2000)}\n--- standby log ---\n${standby?.log().slice(-2000)}`);

  it('primary crashes right after revocations are acknowledged, the standby is promoted, the address moves: service resumes and every revocation holds', async () => {
    const browser = await signInAccountPages(stack.authorization.origin, minter.account);
    const [steady, ...rest] = await minter.mint(70);
    const justBefore = rest.splice(0, 5);
    const load = startWorkload({ stack, minter, browser, steady: steady!, revocable: rest });
    await sleep(1000);

    // Revocations acknowledged just before the switch, through each surface.
    const acknowledged: MintedGrant[] = [];
    for (const grant of justBefore.slice(0, 2)) {
      const response = await fetch(`${stack.authorization.origin}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: grant.accessToken, client_id: minter.client.client_id }).toString(),
      });
      expect(response.status).to.equal(200);
      acknowledged.push(grant);
    }
    for (const grant of justBefore.slice(2, 4)) {
      const response = await browser.post(`/account/apps/${encodeURIComponent(grant.grantId)}/disconnect`, { csrf: browser.csrf });
      expect(response.status).to.equal(200);
      acknowledged.push(grant);
    }
    const cli = await stack.cli(['revoke', 'grant', '--', justBefore[4]!.grantId]);
    expect(cli.code, cli.stderr).to.equal(0);
    acknowledged.push(justBefore[4]!);

    // The switch: the old primary dies (no shutdown checkpoint, no goodbye), the standby takes over.
    await primary.stop('immediate');
    const from = performance.now();
    await standby.promote();
    proxy.retarget(STANDBY_PORT);
    const upAt = performance.now();
    await untilRecovered(load.observations, upAt);
    await load.stop();
    const { observations } = load;

    expect(survived(stack), 'both processes survived').to.equal(true);
    expect(brokenAnswers(observations)).to.deep.equal([]);
    const during = within(observations, from, upAt);
    expect(during.filter((o) => !isUnavailableAnswer(o)).map((o) => `${o.op} ${o.status}`), 'answers while no primary was reachable').to.deep.equal([]);
    const recovery = recoveryMs(observations, upAt);
    expect(recovery, 'service resumed by itself').to.be.lessThan(15_000);

    for (const grant of acknowledged) {
      expect((await callTool(stack.mcpUrl, grant.accessToken, 'whoami')).status, 'a revocation acknowledged just before the switch').to.equal(401);
    }
    const lost = await lostRevocations(stack, load.acknowledgedRevocations);
    expect(lost, 'revocations acknowledged under load, lost in the failover').to.equal(0);
    // The new primary has the data (not an empty database answering 401 to everything).
    expect((await callTool(stack.mcpUrl, steady!.accessToken, 'whoami')).status).to.equal(200);
    const total = acknowledged.length + load.acknowledgedRevocations.length;
    console.log(
      `      | failover: primary crashed, synchronous standby promoted, address moved | yes | ${countsByStatus(during.filter((o) => !o.op.startsWith('readyz')))} | down, then up | ${Math.round(recovery)} ms after the move | ${total} / ${lost} |`,
    );
  });
});
