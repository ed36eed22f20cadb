// The embedded database's files are this user's alone: a new DATA_DIR and every directory under it
// 0700, every file 0600 (the secrets key file included), after a fresh start and after a start over
// files someone loosened; an entry that belongs to another user is refused.
import { chmodSync, chownSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../src/config.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { loadKeyring } from '../../src/secrets/keyring_source.ts';

/** Every path under root (root included) with its permission bits. */
function modes(root: string): Map<string, number> {
  const found = new Map<string, number>();
  const visit = (path: string) => {
    const stats = lstatSync(path);
    found.set(path, stats.mode & 0o777);
    if (stats.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(root);
  return found;
}

function loosePaths(root: string): string[] {
  return [...modes(root)].filter(([, mode]) => (mode & 0o077) !== 0).map(([path, mode]) => `${path} ${mode.toString(8)}`);
}

async function startOver(dataDir: string): Promise<number> {
  loadKeyring({ secrets: { keys: [], keyFile: undefined }, database: { dataDir } as never });
  const db = openDatabase({ url: undefined, poolMax: 1, dataDir });
  try {
    await migrateToLatest(db);
    const [{ count }] = (await db('knex_migrations').count({ count: '*' })) as [{ count: string | number }];
    return Number(count);
  } finally {
    await db.destroy();
  }
}

describe('embedded database file permissions', () => {
  let workdir: string;
  let dataDir: string;

  before(() => {
    workdir = mkdtempSync(join(tmpdir(), 'portcullis-perms-'));
    chmodSync(workdir, 0o755);
    dataDir = join(workdir, 'data');
  });
  after(() => rmSync(workdir, { recursive: true, force: true }));

  it('creates DATA_DIR 0700, its directories 0700 and its files 0600 on a fresh start', async () => {
    expect(await startOver(dataDir)).to.be.greaterThan(0);
    const found = modes(dataDir);
    expect(found.get(dataDir)).to.equal(0o700);
    expect(found.get(join(dataDir, 'secrets.key'))).to.equal(0o600);
    expect(found.get(join(dataDir, 'pglite'))).to.equal(0o700);
    expect(found.size, 'entries under DATA_DIR').to.be.greaterThan(100);
    expect(loosePaths(dataDir)).to.deep.equal([]);
  });

  it('repairs a directory whose modes were loosened, and the data is still there', async () => {
    for (const [path] of modes(dataDir)) if (path !== dataDir) chmodSync(path, lstatSync(path).isDirectory() ? 0o777 : 0o666);
    expect(loosePaths(dataDir)).to.not.deep.equal([]);
    expect(await startOver(dataDir)).to.be.greaterThan(0);
    expect(loosePaths(dataDir)).to.deep.equal([]);
  });

  it('refuses an entry that belongs to another user, naming it', async () => {
    // Needs a foreign owner, which only root can give a file (the test machine runs as root).
    expect(process.getuid?.(), 'this test runs as root').to.equal(0);
    const planted = join(dataDir, 'pglite', 'planted');
    writeFileSync(planted, 'x');
    chownSync(planted, 65534, 65534);
    chmodSync(planted, 0o600);
    const refused = await startOver(dataDir).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(ConfigError);
    expect((refused as Error).message).to.include(planted).and.to.include('uid 65534');
    rmSync(planted);
  });
});
