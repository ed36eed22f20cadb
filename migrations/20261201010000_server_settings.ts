import type { Knex } from 'knex';

// Facts a running server records for the tools that share its database: the issuer it serves
// (`npm start` writes it at start), so `portcullis clients create-operator` prints the server's
// token endpoint and admin resource rather than ones derived from the CLI's own environment.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('server_settings', (table) => {
    table.text('key').primary();
    table.text('value').notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('server_settings');
}
