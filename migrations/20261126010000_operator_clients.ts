import type { Knex } from 'knex';

// Operator clients may obtain `admin` tokens for the admin API. Only the CLI adds rows here, so no
// dynamically registered client can make itself an operator by asking for the scope.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('operator_clients', (table) => {
    table.text('client_id').primary();
    table.text('name').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('operator_clients');
}
