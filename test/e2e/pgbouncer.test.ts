// Through a real PgBouncer in transaction pooling mode (Debian's pgbouncer, started by the suite in
// front of a private cluster): the authorization and MCP servers (child processes) serve full flows,
// a revocation is refused at the MCP server on the very next call, key rotation reaches both
// processes by polling (LISTEN cannot work through transaction pooling: the key watcher notices once,
// logs it, and relies on KEYS_REFRESH_INTERVAL — no crash, no reconnect loop), and restarting
// PgBouncer mid-load is survived like a database restart.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
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
import { connectClient, refresh, revoke } from '../support/oauth_flow.ts';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';
import { createClusterWithDatabase, type PrivateCluster, SUITE_DATABASE } from '../support/private_cluster.ts';
import {
  alive,
  keyReloads,
  type MintedGrant,
  type Minter,
  type ProcessStack,
  reportOnFailure,
  signInAccountPages,
  startStackAndMinter,
  stopStackAndMinter,
  survived,
} from '../support/process_stack.ts';

const CLUSTER_PORT = 55470;
const PGBOUNCER_PORT = 55471;
const UNDELIVERED = 'database notifications do not arrive';

/** Log lines of the key listener (each process also listens for resource changes) that say `needle`. */
function occurrences(text: string, needle: string): number {
  return text.split('\n').filter((line) => line.includes(needle) && line.includes('"channel":"portcullis_server_keys"')).length;
}

(postgresUrl() ? describe : describe.skip)('through PgBouncer in transaction pooling mode', function () {
  this.timeout(180_000);
  let cluster: PrivateCluster;
  let bouncer: PgBouncer;
  let stack: ProcessStack;
  let minter: Minter;

  before(async () => {
    cluster = await createClusterWithDatabase(CLUSTER_PORT);
    // The statement timeout the servers would send at startup is ignored by PgBouncer: the database carries it.
    await cluster.query(`alter database ${SUITE_DATABASE} set statement_timeout = '1500ms'`);
    bouncer = await startPgBouncer({ port: PGBOUNCER_PORT, upstreamPort: CLUSTER_PORT, database: SUITE_DATABASE });
    ({ stack, minter } = await startStackAndMinter(bouncer.url(SUITE_DATABASE), { KEYS_REFRESH_INTERVAL: '1' }));
  });

  after(async () => {
    await stopStackAndMinter(stack, minter);
    await bouncer?.stop();
    await cluster?.destroy();
  });

  reportOnFailure(() => `${stack?.output() ?? ''}\n--- pgbouncer log (tail) ---\n${bouncer?.log().slice(-3000)}`);

  it('serves the full flow through it, and a revocation is refused at the MCP server on the next call', async () => {
    const { client, tokens } = await connectClient(stack.authorization.origin, minter.account, { resource: stack.mcpUrl });
    expect((await callTool(stack.mcpUrl, tokens.access_token, 'whoami')).status).to.equal(200);
    const refreshed = await refresh(stack.authorization.origin, client, tokens.refresh_token!);
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
    const current = refreshed.body.access_token as string;
    expect((await callTool(stack.mcpUrl, current, 'whoami')).status).to.equal(200);
    const browser = await signInAccountPages(stack.authorization.origin, minter.account);
    expect(await (await browser.get('/account')).text()).to.include('Connected apps');
    expect((await revoke(stack.authorization.origin, client, current)).status).to.equal(200);
    expect((await callTool(stack.mcpUrl, current, 'whoami')).status, 'the revoked token, next call').to.equal(401);

    // It really went through PgBouncer: both servers are its clients.
    const admin = new pg.Client({ connectionString: bouncer.url('pgbouncer') });
    await admin.connect();
    try {
      const clients = (await admin.query('show clients')).rows as { database: string }[];
      expect(clients.filter((row) => row.database === SUITE_DATABASE).length).to.be.greaterThan(1);
    } finally {
      await admin.end();
    }
  });

  it('key rotation reaches both processes by polling; the listener says once that notifications do not arrive, and does not spin', async () => {
    // Long enough for each process's probe to have timed out (3 s) and any retry loop to show.
    await sleep(4000);
    const outputs = () => [stack.authorization.output(), stack.mcp.output()];
    for (const output of outputs()) expect(occurrences(output, UNDELIVERED), output.slice(-1000)).to.equal(1);
    const reloadsAtMcp = () => keyReloads(stack.mcp);
    const before = await reloadsAtMcp();
    const rotated = await stack.cli(['keys', 'rotate']);
    expect(rotated.code, rotated.stderr).to.equal(0);
    const kid = /new signing key (\S+),/.exec(rotated.stdout)?.[1];
    const rotatedAt = performance.now();
    for (;;) {
      const jwks = (await (await fetch(`${stack.authorization.origin}/jwks`)).json()) as { keys: { kid: string }[] };
      if (jwks.keys[0]?.kid === kid && (await reloadsAtMcp()) > before) break;
      if (performance.now() - rotatedAt > 15_000) throw new Error('the rotation did not reach both processes in 15 s');
      await sleep(100);
    }
    console.log(`      rotation reached both processes by polling ${Math.round(performance.now() - rotatedAt)} ms after \`keys rotate\` exited (KEYS_REFRESH_INTERVAL=1)`);
    for (const output of outputs()) expect(occurrences(output, UNDELIVERED)).to.equal(1);
    expect(alive(stack.authorization) && alive(stack.mcp)).to.equal(true);
  });

  it('PgBouncer restarted mid-load (down 1.5 s): both processes survive, 503 while it is gone, then full service', async () => {
    const browser = await signInAccountPages(stack.authorization.origin, minter.account);
    const [steady, ...revocable] = (await minter.mint(61)) as [MintedGrant, ...MintedGrant[]];
    const load = startWorkload({ stack, minter, browser, steady, revocable });
    await sleep(800);
    let from = 0;
    let to = 0;
    const restarting = bouncer.restart(1500);
    // PgBouncer's SIGTERM shutdown closes every client at once; the window starts once it has.
    await sleep(300);
    from = performance.now();
    await sleep(1000);
    to = performance.now();
    await restarting;
    const upAt = performance.now();
    await untilRecovered(load.observations, upAt);
    await load.stop();
    const { observations } = load;

    expect(survived(stack), 'both processes survived').to.equal(true);
    expect(brokenAnswers(observations)).to.deep.equal([]);
    const during = within(observations, from, to);
    expect(during.length).to.be.greaterThan(0);
    expect(during.filter((o) => !isUnavailableAnswer(o)).map((o) => `${o.op} ${o.status}`), 'answers while PgBouncer was gone').to.deep.equal([]);
    const recovery = recoveryMs(observations, upAt);
    expect(recovery, 'service resumed by itself').to.be.lessThan(15_000);
    const lost = await lostRevocations(stack, load.acknowledgedRevocations);
    expect(lost).to.equal(0);
    console.log(
      `      | PgBouncer (transaction mode) restarted, down 1.5 s | yes | ${countsByStatus(during.filter((o) => !o.op.startsWith('readyz')))} | down, then up | ${Math.round(recovery)} ms | ${load.acknowledgedRevocations.length} / ${lost} |`,
    );
  });
});
