import type { Knex } from 'knex';

// Provider storage is split by how rows are revoked:
// - oidc_grants: one row per Grant; every grant-bound token references it, so deleting a grant
//   deletes its tokens in the same statement (ON DELETE CASCADE) and a token can never be inserted
//   for a grant that no longer exists (the foreign key check sees committed deletes).
// - oidc_tokens: bearer tokens and codes, keyed by a SHA-256 of their value.
// - oidc_models: everything else the provider persists (sessions, interactions, clients, ...).
// - oidc_revoked_grants: tombstones, so a late upsert cannot bring a revoked grant back.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_grants', (table) => {
    table.text('id').primary();
    table.text('client_id').notNullable();
    table.text('account_id').notNullable();
    table.jsonb('payload').notNullable();
    table.timestamp('expires_at', { useTz: true });
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['client_id', 'account_id']);
    table.index(['account_id']);
    table.index(['expires_at']);
  });

  await knex.schema.createTable('oidc_tokens', (table) => {
    table.text('id_hash').primary();
    table.text('model').notNullable();
    table.text('grant_id').references('id').inTable('oidc_grants').onDelete('CASCADE');
    table.text('client_id');
    table.text('account_id');
    table.text('session_uid');
    table.text('user_code_hash');
    table.jsonb('payload').notNullable();
    table.timestamp('expires_at', { useTz: true });
    table.timestamp('consumed_at', { useTz: true });
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['grant_id']);
    table.index(['client_id', 'model']);
    table.index(['account_id']);
    table.index(['expires_at']);
    table.index(['user_code_hash']);
  });

  await knex.schema.createTable('oidc_models', (table) => {
    table.text('model').notNullable();
    table.text('id').notNullable();
    table.text('uid');
    table.text('client_id');
    table.text('account_id');
    table.jsonb('payload').notNullable();
    table.timestamp('expires_at', { useTz: true });
    table.timestamp('consumed_at', { useTz: true });
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.primary(['model', 'id']);
    table.index(['model', 'uid']);
    table.index(['model', 'client_id']);
    table.index(['expires_at']);
  });

  await knex.schema.createTable('oidc_revoked_grants', (table) => {
    table.text('grant_id').primary();
    table.timestamp('revoked_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.index(['expires_at']);
  });

  await knex.schema.createTable('accounts', (table) => {
    table.text('id').primary();
    table.text('email').notNullable().unique();
    table.text('password_hash').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // Signing keys (private JWKs) and cookie keys, shared by every process that uses this database.
  await knex.schema.createTable('server_keys', (table) => {
    table.text('id').primary();
    table.text('kind').notNullable();
    table.jsonb('material').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('retired_at', { useTz: true });
    table.index(['kind', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('server_keys');
  await knex.schema.dropTable('accounts');
  await knex.schema.dropTable('oidc_revoked_grants');
  await knex.schema.dropTable('oidc_models');
  await knex.schema.dropTable('oidc_tokens');
  await knex.schema.dropTable('oidc_grants');
}
