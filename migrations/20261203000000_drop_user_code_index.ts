import type { Knex } from 'knex';

// oidc_tokens.user_code_hash was for the device flow, which is off (src/storage/table_map.ts): the
// column is always null, yet its index took an entry for every token inserted (two per refresh). The
// index goes; the column stays, so `down` only rebuilds the index.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_tokens', (table) => {
    table.dropIndex(['user_code_hash']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_tokens', (table) => {
    table.index(['user_code_hash']);
  });
}
