// One owner for the embedded database (DATA_DIR): while a server runs on it, the CLI and a second
// server are refused with one readable line and change nothing (before the lock, the CLI reported
// success and its write was lost); after the server is killed with SIGKILL, its left-over lock does
// not stand in the way.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openDatabase } from '../../src/db/connect.ts';
import { LOCK_FILE_NAME } from '../../src/db/embedded_lock.ts';
import { freePort, runCliProcess, type ServerProcess, startProcess } from '../support/processes.ts';
import { TEST_PASSWORD } from '../support/server.ts';

describe('embedded database: one owning process', function () {
  this.timeout(120_000);
  let dataDir: string;
  let server: ServerProcess | undefined;
  const env = () => ({ DATA_DIR: dataDir, SERVE: 'authorization' });

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'portcullis-owner-'));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  async function startServer(): Promise<ServerProcess> {
    const port = await freePort();
    return startProcess('server', 'src/main.ts', port, { ...env(), PORT: String(port) });
  }

  async function accountsNamed(email: string): Promise<number> {
    const db = openDatabase({ url: undefined, poolMax: 1, dataDir });
    try {
      const [{ count }] = (await db('accounts').where({ email }).count({ count: '*' })) as [{ count: string | number }];
      return Number(count);
    } finally {
      await db.destroy();
    }
  }

  it('refuses the CLI and a second server while the server runs, and nothing is changed', async () => {
    server = await startServer();
    const cli = await runCliProcess(['users', 'add', 'while-serving@example.test', '--password', TEST_PASSWORD], env());
    expect(cli.code, cli.stdout).to.not.equal(0);
    expect(cli.stdout).to.equal('');
    const lines = cli.stderr.trim().split('\n');
    expect(lines, cli.stderr).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^error: the embedded database in .+ is in use by process ${server.child.pid} .*admin API.*stop the server`));

    const port = await freePort();
    let secondFailure = '';
    await startProcess('second server', 'src/main.ts', port, { ...env(), PORT: String(port) }).then(
      (second) => second.stop(),
      (error: Error) => (secondFailure = error.message),
    );
    expect(secondFailure).to.match(/exited with 1/);
    expect(secondFailure).to.include('another server already runs on this DATA_DIR');
    expect(secondFailure).to.not.match(/\n\s+at /);

    await server.stop();
    expect(existsSync(join(dataDir, LOCK_FILE_NAME)), 'a clean stop gives the lock back').to.equal(false);
    expect(await accountsNamed('while-serving@example.test')).to.equal(0);
  });

  it('after kill -9 of the server, the CLI and then a new server open it', async () => {
    server = await startServer();
    server.child.kill('SIGKILL');
    await new Promise((resolve) => server!.child.once('exit', resolve));
    expect(existsSync(join(dataDir, LOCK_FILE_NAME)), 'kill -9 leaves the lock behind').to.equal(true);

    const cli = await runCliProcess(['users', 'add', 'after-crash@example.test', '--password', TEST_PASSWORD], env());
    expect(cli.code, cli.stderr).to.equal(0);
    expect(await accountsNamed('after-crash@example.test')).to.equal(1);
    server = await startServer();
  });
});
