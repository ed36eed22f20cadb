import { randomBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { Knex } from 'knex';

// Sign-in with upstream OpenID providers (docs/federation.md):
// - accounts made by an upstream sign-in have no password (password_hash null: password sign-in
//   never matches them);
// - upstream_identities links an account to an upstream identity by the upstream's `iss` and `sub`,
//   the only pair an OpenID provider promises is stable and unique (never by email);
// - upstream_sign_ins holds each sign-in in flight, bound to its interaction: the PKCE verifier and
//   nonce under the hash of its `state`, and the hash of a value the starting browser holds in a cookie
//   (interaction_uid null: a sign-in on the /account page).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (table) => {
    table.text('password_hash').nullable().alter();
  });
  await knex.schema.createTable('upstream_identities', (table) => {
    table.text('issuer').notNullable();
    table.text('subject').notNullable();
    table.primary(['issuer', 'subject']);
    table.text('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    table.text('upstream_id').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('last_sign_in_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['account_id']);
  });
  await knex.schema.createTable('upstream_sign_ins', (table) => {
    table.text('state_hash').primary();
    table.text('interaction_uid');
    table.text('upstream_id').notNullable();
    table.text('binding_hash').notNullable();
    table.text('code_verifier').notNullable();
    table.text('nonce').notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('upstream_sign_ins');
  await knex.schema.dropTable('upstream_identities');
  // Accounts without a password get one nobody knows, so the column can be required again.
  const passwordless = (await knex('accounts').whereNull('password_hash').select('id')) as { id: string }[];
  for (const { id } of passwordless) {
    await knex('accounts').where({ id }).update({ password_hash: await hash(randomBytes(32).toString('base64url')) });
  }
  await knex.schema.alterTable('accounts', (table) => {
    table.text('password_hash').notNullable().alter();
  });
}
