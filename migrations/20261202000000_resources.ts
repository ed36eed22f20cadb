import type { Knex } from 'knex';

// The protected resources (MCP servers) this authorization server issues tokens for: the URL is the
// token audience and the RFC 8707 indicator clients send (stored normalized: no trailing slash), its
// scopes carry the descriptions the consent page shows, and a resource may shorten (or lengthen) the
// access-token lifetime. Removing a row is done by the revocation service with the grants for it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('resources', (table) => {
    table.text('url').primary();
    table.text('name').notNullable();
    // [{ "name": "notes:read", "description": "read your notes" }, ...], in the order shown on consent.
    table.jsonb('scopes').notNullable();
    // Seconds; null: ACCESS_TOKEN_TTL.
    table.integer('access_token_ttl');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('resources');
}
