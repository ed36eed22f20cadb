import type { Knex } from 'knex';

// dpop_proofs: the DPoP proofs (RFC 9449) resource servers have accepted, kept while a proof could
// still pass its iat check so a replayed one is refused by every process on the database. One row
// per (key thumbprint, jti), stored as a hash; inserted atomically, purged by the janitor.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('dpop_proofs', (table) => {
    table.text('key').primary();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dpop_proofs');
}
