import type { Knex } from 'knex';

// Self-service accounts (sign-up, email verification, forgotten password, invitations).
// accounts.email_verified_at: null until the owner clicks the link mailed to them; accounts made
// before this migration were made by an operator, who vouched for them, so they count as verified.
// account_tokens: the single-use links, stored only as the SHA-256 of the value mailed or printed
// (a dump of the table yields no usable link); each expires and the janitor purges it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (table) => {
    table.timestamp('email_verified_at', { useTz: true });
  });
  await knex('accounts').update({ email_verified_at: knex.ref('created_at') });
  await knex.schema.createTable('account_tokens', (table) => {
    table.text('id_hash').primary();
    table.text('purpose').notNullable();
    // Verification and reset links belong to an account; an invitation names only an email.
    table.text('account_id').references('id').inTable('accounts').onDelete('CASCADE');
    table.text('email');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.index(['expires_at']);
    table.index(['account_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('account_tokens');
  await knex.schema.alterTable('accounts', (table) => {
    table.dropColumn('email_verified_at');
  });
}
