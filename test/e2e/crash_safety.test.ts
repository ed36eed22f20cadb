// Crash safety of a large revocation (PostgreSQL only): the CLI runs `revoke client` over tens of
// thousands of grants as a child process, and is killed with SIGKILL while its transaction is
// mid-flight (its first batch of deletes has begun, detected by the row locks it holds in this
// suite's schema). Afterwards the revocation is either fully applied or not at all: every grant has
// all of its tokens or none is left, no tombstone or audit row exists without the grants gone, and
// other clients are untouched. Re-running the command completes it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import knex, { type Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { postgresUrl } from '../support/database.ts';

const GRANTS = Number(process.env.CRASH_GRANTS ?? 40_000);
const TOKENS_PER_GRANT = 3;
const OTHER_GRANTS = 50;
const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

(postgresUrl() ? describe : describe.skip)('crash safety: kill -9 during a large revocation', function () {
  this.timeout(240_000);
  let db: Knex;
  let schema: string;
  let url: string;
  const victim = `crash-victim-${randomBytes(4).toString('hex')}`;
  const bystander = `crash-bystander-${randomBytes(4).toString('hex')}`;

  before(async () => {
    schema = `test_${randomBytes(6).toString('hex')}`;
    const base = postgresUrl()!;
    db = knex({ client: 'pg', connection: { connectionString: base, options: `-c search_path=${schema}` }, pool: { min: 0, max: 3 } });
    await db.raw('create schema ??', [schema]);
    await migrateToLatest(db);
    const child = new URL(base);
    child.searchParams.set('options', `-c search_path=${schema}`);
    url = child.href;
    // Set-based seed: two clients, GRANTS grants of the victim and a few of the bystander, each with
    // an access token, a refresh token and a consumed code.
    for (const clientId of [victim, bystander]) {
      await db('oidc_models').insert({
        model: 'Client',
        id: clientId,
        client_id: clientId,
        payload: JSON.stringify({ client_id: clientId, client_name: clientId, redirect_uris: ['http://127.0.0.1:9/cb'] }),
      });
    }
    await db.raw(
      `insert into oidc_grants (id, client_id, account_id, payload, expires_at)
       select c.id || '-g' || n, c.id, 'acct-' || (n % 1000), jsonb_build_object('kind', 'Grant', 'clientId', c.id), now() + interval '1 day'
       from (values (?, ?::int), (?, ?::int)) as c(id, total), generate_series(1, c.total) as n`,
      [victim, GRANTS, bystander, OTHER_GRANTS],
    );
    await db.raw(
      `insert into oidc_tokens (id_hash, model, grant_id, client_id, account_id, payload, expires_at)
       select md5(g.id || m.model), m.model, g.id, g.client_id, g.account_id, jsonb_build_object('kind', m.model), now() + interval '1 hour'
       from oidc_grants g cross join (values ('AccessToken'), ('RefreshToken'), ('AuthorizationCode')) as m(model)`,
    );
    await db.raw('analyze');
  });
  after(async () => {
    await db?.raw('drop schema if exists ?? cascade', [schema]);
    await db?.destroy();
  });

  async function state(clientId: string) {
    const one = async (sql: string, bindings: Knex.RawBinding[]) => Number((await db.raw(sql, bindings)).rows[0].count);
    return {
      grants: await one('select count(*) as count from oidc_grants where client_id = ?', [clientId]),
      tokens: await one('select count(*) as count from oidc_tokens where client_id = ?', [clientId]),
      tombstones: await one(`select count(*) as count from oidc_revoked_grants where grant_id like ? || '-g%'`, [clientId]),
      audits: await one(`select count(*) as count from revocation_audit where action = 'revoke_client' and target->>'clientId' = ?`, [clientId]),
      // A grant that lost some but not all of its tokens: the "half-revoked" state that must never exist.
      halfRevoked: await one(
        `select count(*) as count from oidc_grants g
         where g.client_id = ? and (select count(*) from oidc_tokens t where t.grant_id = g.id) <> ?`,
        [clientId, TOKENS_PER_GRANT],
      ),
    };
  }

  function runCliChild(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn', NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const done = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }));
    return { child, done };
  }

  /** The backend of a transaction that has started writing tombstones in this suite's schema. */
  async function revokingBackend(): Promise<number | undefined> {
    const result = await db.raw(
      `select l.pid from pg_locks l
       join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = ? and c.relname = 'oidc_revoked_grants' and l.mode = 'RowExclusiveLock' and l.pid <> pg_backend_pid()
       limit 1`,
      [schema],
    );
    return result.rows[0]?.pid;
  }

  it('killed mid-flight: all or nothing, no half-revoked grant; the re-run completes it', async () => {
    const before = await state(victim);
    expect(before).to.deep.equal({ grants: GRANTS, tokens: GRANTS * TOKENS_PER_GRANT, tombstones: 0, audits: 0, halfRevoked: 0 });

    const started = performance.now();
    const { child, done } = runCliChild(['revoke', 'client', victim, '--json', '--reason', 'crash test']);
    let backend: number | undefined;
    while (backend === undefined && child.exitCode === null && performance.now() - started < 60_000) {
      backend = await revokingBackend();
      if (backend === undefined) await sleep(20);
    }
    expect(backend, 'the revocation transaction was seen writing').to.be.a('number');
    // Let it get well into its batches, then kill it without warning.
    await sleep(400);
    const killedMidFlight = child.exitCode === null;
    child.kill('SIGKILL');
    const exit = await done;
    const elapsed = Math.round(performance.now() - started);
    expect(killedMidFlight, `the CLI finished before the kill (${elapsed} ms): raise CRASH_GRANTS`).to.equal(true);
    expect(exit.signal).to.equal('SIGKILL');

    // The server notices the dead client and rolls its transaction back.
    for (let waited = 0; waited < 30_000; waited += 100) {
      const alive = await db.raw('select 1 from pg_stat_activity where pid = ?', [backend!]);
      if (alive.rows.length === 0) break;
      await sleep(100);
    }
    const after = await state(victim);
    const applied = after.grants === 0;
    if (applied) {
      expect(after).to.deep.equal({ grants: 0, tokens: 0, tombstones: GRANTS, audits: 1, halfRevoked: 0 });
    } else {
      expect(after, 'not applied at all').to.deep.equal(before);
    }
    expect(await state(bystander)).to.deep.include({ grants: OTHER_GRANTS, tokens: OTHER_GRANTS * TOKENS_PER_GRANT, halfRevoked: 0, audits: 0 });
    console.log(`      killed after ${elapsed} ms: ${applied ? 'fully applied' : 'rolled back, nothing applied'}`);

    // Re-running completes it.
    const rerun = await runCliChild(['revoke', 'client', victim, '--json', '--reason', 'crash test, re-run']).done;
    expect(rerun.code, rerun.stderr).to.equal(0);
    const outcome = JSON.parse(rerun.stdout) as { counts: Record<string, number> };
    expect(outcome.counts.Grant).to.equal(applied ? undefined : GRANTS);
    expect(await state(victim)).to.deep.equal({ grants: 0, tokens: 0, tombstones: GRANTS, audits: applied ? 2 : 1, halfRevoked: 0 });
    expect(await state(bystander)).to.deep.include({ grants: OTHER_GRANTS, tokens: OTHER_GRANTS * TOKENS_PER_GRANT, halfRevoked: 0 });
  });
});
