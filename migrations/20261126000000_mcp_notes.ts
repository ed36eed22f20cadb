import type { Knex } from 'knex';

// Short notes an account keeps through the MCP server's notes_add / notes_list tools.
// account_id is not a foreign key: accounts may be removed by operators, and their notes with them
// (src/notes/note_store.ts deleteNotesOf), without the schema forcing an order on the two.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mcp_notes', (table) => {
    table.bigIncrements('id').primary();
    table.text('account_id').notNullable();
    table.text('client_id').notNullable();
    table.text('text').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['account_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('mcp_notes');
}
