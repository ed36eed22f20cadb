import type { Knex } from 'knex';

// Resource-server clients may introspect (RFC 7662), and only tokens issued for their resource. Only
// the CLI adds rows here (`clients create-resource-server`), so no dynamically registered client can
// make itself a resource server and read other clients' tokens.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('resource_server_clients', (table) => {
    table.text('client_id').primary();
    table.text('resource').notNullable();
    table.text('name').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('resource_server_clients');
}
