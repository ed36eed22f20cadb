// The federation migration's down: it drops the identity tables and gives passwordless accounts a
// password nobody knows, so password_hash can be required again; up again restores the tables.
import { expect } from 'chai';
import { authenticate, createPasswordlessAccount } from '../../src/storage/account_store.ts';
import { migrateToLatest, rollbackOne } from '../../src/db/migrate.ts';
import { linkIdentity } from '../../src/storage/upstream_identity_store.ts';
import { availableKinds, createTestDatabase } from '../support/database.ts';

const MIGRATION = '20261202300000_upstream_sign_in.ts';

for (const kind of availableKinds()) {
  describe(`upstream sign-in migration (${kind})`, function () {
    this.timeout(60_000);

    it('rolls back with a passwordless account and a link in place, and migrates up again', async () => {
      const database = await createTestDatabase(kind);
      try {
        const { db } = database;
        const account = (await createPasswordlessAccount(db, 'sso@example.test'))!;
        await linkIdentity(db, { issuer: 'https://sso.example.com', subject: 's1', accountId: account.id, upstreamId: 'corp' });
        const applied = async () => ((await db('knex_migrations').select('name')) as { name: string }[]).map((row) => row.name);
        while ((await applied()).includes(MIGRATION)) await rollbackOne(db);
        expect(await db.schema.hasTable('upstream_identities')).to.equal(false);
        const row = await db('accounts').where({ id: account.id }).first();
        expect(row.password_hash).to.match(/^\$argon2id\$/);
        expect(await authenticate(db, 'sso@example.test', '')).to.equal(undefined);
        await migrateToLatest(db);
        expect(await db.schema.hasTable('upstream_identities')).to.equal(true);
        expect(await db.schema.hasTable('upstream_sign_ins')).to.equal(true);
      } finally {
        await database.close();
      }
    });
  });
}
