import type { Knex } from 'knex';

// rate_limits: fixed-window counters shared by every process on the database (login attempts per
// account and per address, requests per address to /token, /revoke, /reg and the admin API). One row
// per key, incremented atomically by an upsert; expired rows are reset in place or purged by the janitor.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (table) => {
    table.text('key').primary();
    table.integer('count').notNullable();
    table.timestamp('window_started_at', { useTz: true }).notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
}
