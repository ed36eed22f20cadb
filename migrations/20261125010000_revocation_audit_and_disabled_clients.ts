import type { Knex } from 'knex';

// - revocation_audit: every revocation, from any path, with its actor, target, reason and counts.
// - disabled_clients: clients that may not authorize or use their tokens until re-enabled.
// - A grant tombstone check that runs after the row is written: an upsert racing a revocation may pass
//   a check made before it waited on the revoker's row lock, but this trigger runs with a fresh
//   snapshot once the write is done, so a grant revoked in the meantime can never come back.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('revocation_audit', (table) => {
    table.bigIncrements('id').primary();
    table.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.text('actor_type').notNullable();
    table.text('actor_id');
    table.text('action').notNullable();
    table.jsonb('target').notNullable();
    table.text('reason');
    table.jsonb('counts').notNullable();
    table.index(['at']);
  });

  await knex.schema.createTable('disabled_clients', (table) => {
    table.text('client_id').primary();
    table.timestamp('disabled_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.text('reason');
  });

  await knex.raw(`
    create function portcullis_reject_revoked_grant() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from oidc_revoked_grants where grant_id = new.id) then
        raise exception 'grant % has been revoked', new.id using errcode = 'P0R01';
      end if;
      return null;
    end
    $$`);
  await knex.raw(`
    create trigger oidc_grants_reject_revoked after insert or update on oidc_grants
    for each row execute function portcullis_reject_revoked_grant()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger oidc_grants_reject_revoked on oidc_grants');
  await knex.raw('drop function portcullis_reject_revoked_grant()');
  await knex.schema.dropTable('disabled_clients');
  await knex.schema.dropTable('revocation_audit');
}
