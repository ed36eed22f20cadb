import type { Knex } from 'knex';

// rate_limits is written on every limited request (each /token call, for one). As a logged table each
// of those upserts waited for a WAL flush: 2-10 times slower than unlogged here (docs/abuse-limits.md).
// Counters are worth nothing after a crash: PostgreSQL empties an unlogged table in crash recovery
// (and does not replicate it), which only restarts the current windows — a minute at most by default.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table rate_limits set unlogged');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table rate_limits set logged');
}
