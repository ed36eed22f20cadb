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

export async function addNote(db: Database, accountId: string, clientId: string, text: string): Promise<Note> {
  const [row] = await db<NoteRow>('mcp_notes')
    .insert({ account_id: accountId, client_id: clientId, text })
    .returning('*');
  return toNote(row as NoteRow);
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
