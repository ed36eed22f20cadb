import type { Knex } from 'knex';

// An operator may disable an account (`portcullis users disable`): it can no longer sign in, and the
// provider no longer finds it, until it is enabled again. Null: enabled.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (table) => {
    table.timestamp('disabled_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (table) => {
    table.dropColumn('disabled_at');
  });
}
