// Real PostgreSQL faults, not a proxy: the authorization server and the MCP server run as child
// processes (`node src/main.ts`, `node src/mcp/main.ts`) on a PostgreSQL cluster of the suite's own
// (test/support/private_cluster.ts), and while refreshes, /revoke, MCP tool calls and an account page
// run, the cluster is shut down fast, smart (bounded, then fast) and immediately (a crash), its
// backends are terminated, its tables are locked into a statement-timeout storm, and the key
// listener's connection alone is terminated. Each time: both processes survive, every answer given
// while the database could not answer is a 503 (401 also at the MCP server, never 200), /readyz goes
// down and up, service comes back by itself, and every acknowledged revocation holds. The table of
// measurements is printed at the end (docs/reliability.md keeps a copy).
//
// Needs PostgreSQL's binaries (/usr/lib/postgresql/15/bin) and runs when DATABASE_URL is set (CI); the
// machine's shared cluster is never touched.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { postgresUrl } from '../support/database.ts';
import {
  brokenAnswers,
  countsByStatus,
  isHealthy,
  isUnavailableAnswer,
  lostRevocations,
  recoveryMs,
  startWorkload,
  untilRecovered,
  within,
} from '../support/fault_workload.ts';
import { createClusterWithDatabase, type PrivateCluster, SUITE_DATABASE } from '../support/private_cluster.ts';
import {
  type AccountBrowser,
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
import pg from 'pg';
import { createAccount } from '../../src/storage/account_store.ts';
import { TEST_PASSWORD } from '../support/server.ts';

const PORT = 55460;

interface FaultWindow {
  /** The database could not answer from `from` to `to`; it accepted connections again at `upAt`. */
  from: number;
  to: number;
  upAt: number;
  /** An earlier stage of the fault whose answers the table also counts (e.g. the smart shutdown's wait). */
  before?: { label: string; from: number; to: number };
}

interface Judgement {
  /** While the fault lasts: only 503s (true), or healthy answers and 503s (false: a fault some requests ride out). */
  onlyUnavailable: boolean;
  /** /readyz of both processes must be seen down during the fault. */
  readyzDown: boolean;
}

(postgresUrl() ? describe : describe.skip)('real PostgreSQL faults on a private cluster: the servers survive and recover', function () {
  this.timeout(180_000);
  let cluster: PrivateCluster;
  let stack: ProcessStack;
  let minter: Minter;
  let browser: AccountBrowser;
  let steady: MintedGrant;
  const table: string[] = [];
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);

  before(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    cluster = await createClusterWithDatabase(PORT);
    ({ stack, minter } = await startStackAndMinter(cluster.url(SUITE_DATABASE)));
    // Browsing an account of its own: the minted grants pile up on minter.account, and its page looks
    // up each app's client (one query per app, in parallel), which would make this a load test of that page.
    const browsing = await createAccount(minter.db, `browse-${Date.now()}@example.test`, TEST_PASSWORD);
    browser = await signInAccountPages(stack.authorization.origin, { email: browsing.email, password: TEST_PASSWORD });
    [steady] = (await minter.mint(1)) as [MintedGrant];
  });

  after(async () => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    if (table.length > 0) {
      console.log('\n      | fault | processes survived | answers during the fault | /readyz | full service after the database is back | revocations acknowledged / lost |');
      for (const row of table) console.log(`      ${row}`);
    }
    await stopStackAndMinter(stack, minter);
    await cluster?.destroy();
  });

  reportOnFailure(() => `${stack?.output() ?? ''}\n--- postgres log (tail) ---\n${cluster?.log().slice(-3000) ?? ''}`);

  /** Runs the workload, injects the fault, waits for recovery, judges and records one row of the table. */
  async function underLoad(label: string, judgement: Judgement, inject: () => Promise<FaultWindow>): Promise<void> {
    const revocable = await minter.mint(60);
    const load = startWorkload({ stack, minter, browser, steady, revocable });
    await sleep(800);
    const window = await inject();
    await untilRecovered(load.observations, window.upAt);
    await load.stop();
    const { observations } = load;

    expect(survived(stack), `${label}: both processes still running, nothing unhandled`).to.equal(true);
    expect(crashes, `${label}: unhandled errors in the test process`).to.deep.equal([]);
    expect(brokenAnswers(observations), `${label}: transport failures or 5xx other than 503`).to.deep.equal([]);

    const during = within(observations, window.from, window.to);
    const wrong = during.filter((o) => !isUnavailableAnswer(o) && (judgement.onlyUnavailable || !isHealthy(o)));
    expect(wrong.map((o) => `${o.op} ${o.status} ${o.body.slice(0, 160)}`), `${label}: answers during the fault`).to.deep.equal([]);
    expect(during.filter((o) => o.op === 'mcp' && o.status === 200 && judgement.onlyUnavailable)).to.deep.equal([]);
    const readyz = during.filter((o) => o.op.startsWith('readyz'));
    if (judgement.readyzDown) {
      for (const op of ['readyz-as', 'readyz-mcp']) {
        expect(readyz.some((o) => o.op === op && o.status === 503), `${label}: ${op} down during the fault`).to.equal(true);
      }
    }
    const recovery = recoveryMs(observations, window.upAt);
    // The issue's target is 2 s; the assertion only proves recovery without a restart (timings vary
    // on a shared machine), the measured value goes into the table.
    expect(recovery, `${label}: every operation healthy again after the database is back`).to.be.lessThan(15_000);
    const lost = await lostRevocations(stack, load.acknowledgedRevocations);
    expect(load.acknowledgedRevocations.length, `${label}: revocations acknowledged`).to.be.greaterThan(0);
    expect(lost, `${label}: acknowledged revocations whose token still works`).to.equal(0);

    const readyzSeen = readyz.some((o) => o.status === 503) ? 'down, then up' : 'stayed up';
    const answers = (from: number, to: number) => countsByStatus(within(observations, from, to).filter((o) => !o.op.startsWith('readyz')));
    const earlier = window.before ? `${window.before.label}: ${answers(window.before.from, window.before.to)}; then ` : '';
    const affected = observations.some((o) => o.answeredAt >= window.from && !isHealthy(o));
    table.push(
      `| ${label} | yes | ${earlier}${answers(window.from, window.to)} | ${readyzSeen} | ${affected ? `${Math.round(recovery)} ms` : 'never lost'} | ${load.acknowledgedRevocations.length} / ${lost} |`,
    );
  }

  /** Stops the cluster in `mode`, keeps it down `downMs`, starts it again. */
  async function stopAndStart(mode: 'fast' | 'immediate', downMs = 2000): Promise<FaultWindow> {
    await cluster.stop(mode);
    const from = performance.now();
    await sleep(downMs);
    const to = performance.now();
    await cluster.start();
    return { from, to, upAt: performance.now() };
  }

  it('fast shutdown (pg_ctl stop -m fast), then start: both processes survive, 503 while down, recovery without a restart', async () => {
    await underLoad('fast shutdown, down 2 s, start', { onlyUnavailable: true, readyzDown: true }, () => stopAndStart('fast'));
  });

  it('smart shutdown waits for the pool: bounded at 3 s (the sessions stay), then fast; served or 503 throughout, then recovery', async () => {
    let smartCompleted = true;
    let waited = 0;
    await underLoad('smart shutdown (3 s bound, never completes), then fast, down 2 s, start', { onlyUnavailable: true, readyzDown: true }, async () => {
      const from = performance.now();
      smartCompleted = await cluster.stop('smart', 3);
      const to = performance.now();
      waited = to - from;
      return { ...(await stopAndStart('fast')), before: { label: 'during the smart wait', from, to } };
    });
    // A smart shutdown ends only when every session has: the pool keeps its connections and the key
    // listener holds one for good, so it never completes while a server runs — operators use fast.
    expect(smartCompleted, 'smart shutdown completed while the servers ran').to.equal(false);
    expect(waited).to.be.greaterThan(2500);
  });

  it('immediate shutdown (a crash), then start with crash recovery: the same', async () => {
    await underLoad('immediate shutdown (crash), down 2 s, start', { onlyUnavailable: true, readyzDown: true }, () => stopAndStart('immediate'));
  });

  it('pg_terminate_backend of every backend of the database: requests on a killed connection get 503, the rest are served', async () => {
    let terminated = 0;
    await underLoad('pg_terminate_backend of every backend', { onlyUnavailable: false, readyzDown: false }, async () => {
      const from = performance.now();
      terminated = await cluster.terminateBackends(SUITE_DATABASE);
      const to = performance.now();
      return { from, to, upAt: to };
    });
    expect(terminated, 'backends terminated (pools of both servers, the key listeners, the minter)').to.be.greaterThan(3);
  });

  it('statement-timeout storm (the tables locked for 5 s): 503 within the statement timeout, /readyz stays up, then served', async () => {
    const locker = new pg.Client({ connectionString: cluster.url(SUITE_DATABASE) });
    locker.on('error', () => undefined);
    await locker.connect();
    try {
      await underLoad('statement-timeout storm (tables locked 5 s)', { onlyUnavailable: false, readyzDown: false }, async () => {
        await locker.query('begin');
        await locker.query('lock table oidc_tokens, oidc_grants, oidc_models, accounts in access exclusive mode');
        const from = performance.now();
        await sleep(5000);
        const to = performance.now();
        await locker.query('rollback');
        return { from, to, upAt: performance.now() };
      });
    } finally {
      await locker.end();
    }
  });

  it('the key listener connection alone terminated: a key rotation right after still reaches both processes, traffic unaffected', async () => {
    const reloadsAtMcp = () => keyReloads(stack.mcp);
    const before = await reloadsAtMcp();
    let reachedMs = 0;
    await underLoad('key listener connections terminated, keys rotated at once', { onlyUnavailable: false, readyzDown: false }, async () => {
      const from = performance.now();
      const terminated = await cluster.terminateBackends(SUITE_DATABASE, "query = 'listen portcullis_server_keys'");
      expect(terminated, 'key listener connections (one per process)').to.equal(2);
      // Rotated before the listeners are back: the notification is missed and must not matter
      // (KEYS_REFRESH_INTERVAL is an hour here, so polling cannot be what delivers it).
      const rotated = await stack.cli(['keys', 'rotate']);
      expect(rotated.code, rotated.stderr).to.equal(0);
      const kid = /new signing key (\S+),/.exec(rotated.stdout)?.[1];
      expect(kid, rotated.stdout).to.be.a('string');
      const rotatedAt = performance.now();
      const deadline = rotatedAt + 20_000;
      for (;;) {
        const jwks = (await (await fetch(`${stack.authorization.origin}/jwks`)).json()) as { keys: { kid: string }[] };
        if (jwks.keys[0]?.kid === kid && (await reloadsAtMcp()) > before) break;
        if (performance.now() > deadline) throw new Error('the rotation did not reach both processes in 20 s');
        await sleep(100);
      }
      reachedMs = performance.now() - rotatedAt;
      const to = performance.now();
      return { from, to, upAt: from };
    });
    console.log(`      rotation reached both processes ${Math.round(reachedMs)} ms after \`keys rotate\` exited`);
  });
});
