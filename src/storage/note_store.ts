// Notes kept per account through the MCP server. All notes SQL lives here.
import type { Database } from '../db/connect.ts';

export const MAX_NOTE_LENGTH = 1000;
export const MAX_NOTES_LISTED = 100;

export interface Note {
  id: string;
  text: string;
  clientId: string;
  createdAt: Date;
}

interface NoteRow {
  id: string | number;
  account_id: string;
  client_id: string;
  text: string;
  created_at: Date | string;
}

function toNote(row: NoteRow): Note {
  return { id: String(row.id), text: row.text, clientId: row.client_id, createdAt: new Date(row.created_at) };
}

/**
 * Stores a note unless the account already keeps `maxNotes` (then undefined). Counting and inserting
 * run under a lock per account, so parallel calls cannot all pass the count: each counts after the
 * one before it committed.
 */
export async function addNote(db: Database, accountId: string, clientId: string, text: string, maxNotes: number): Promise<Note | undefined> {
  return db.transaction(async (trx) => {
    await trx.raw(`select pg_advisory_xact_lock(hashtextextended('mcp_notes:' || ?, 0))`, [accountId]);
    const result = await trx.raw<{ rows: NoteRow[] }>(
      `insert into mcp_notes (account_id, client_id, text)
       select ?, ?, ? where (select count(*) from mcp_notes where account_id = ?) < ?
       returning *`,
      [accountId, clientId, text, accountId, maxNotes],
    );
    const row = result.rows[0];
    return row ? toNote(row) : undefined;
  });
}

/** The account's most recent notes, newest first. */
export async function listNotes(db: Database, accountId: string, limit = MAX_NOTES_LISTED): Promise<Note[]> {
  const rows = await db<NoteRow>('mcp_notes')
    .where({ account_id: accountId })
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(limit, 1), MAX_NOTES_LISTED));
  return rows.map(toNote);
}

/** Deletes every note of the account; returns how many there were. */
export async function deleteNotesOf(db: Database, accountId: string): Promise<number> {
  // `returning`: on the embedded database a bare delete does not resolve to a row count.
  return (await db('mcp_notes').where({ account_id: accountId }).delete().returning('id')).length;
}
