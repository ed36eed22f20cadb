import type { Knex } from 'knex';

// When a grant was last used (a token issued at /token, an access token accepted by a resource
// server), for the account pages. Written at most once a minute per grant (grant_store.recordGrantUse).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_grants', (table) => {
    table.timestamp('last_used_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_grants', (table) => {
    table.dropColumn('last_used_at');
  });
}
