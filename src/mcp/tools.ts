// The MCP server's tools, each with the one scope it needs. The HTTP layer reads TOOL_SCOPES to
// answer 403 insufficient_scope before a call runs; the handlers check again, so a tool can never
// run on a token that lacks its scope whatever the transport does.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { findAccountById } from '../storage/account_store.ts';
import type { Database } from '../db/connect.ts';
import { addNote, listNotes, MAX_NOTE_LENGTH, MAX_NOTES_LISTED } from '../storage/note_store.ts';
import type { McpScope } from '../scopes.ts';
import type { AuthInfo } from '../tokens/access_token_verifier.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import type { Logger } from '../logger.ts';

export const TOOL_SCOPES = {
  whoami: 'mcp:read',
  notes_add: 'mcp:write',
  notes_list: 'mcp:read',
} as const satisfies Record<string, McpScope>;

export type ToolName = keyof typeof TOOL_SCOPES;

export interface ToolDependencies {
  db: Database;
  /** Notes one account may keep (NOTES_PER_ACCOUNT_MAX). */
  notesPerAccount: number;
  logger?: Logger;
}

export const SERVER_INFO = { name: 'portcullis-mcp', version: '0.1.0' };

function result(data: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data, null, 2) }], structuredContent: data as Record<string, unknown> };
}

function refusal(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

/**
 * A tool handler whose failures are a generic refusal: the SDK would put the error's message (a
 * driver message, SQL text) in the result, so the cause stays in the log only.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function guarded<H extends (...args: any[]) => Promise<CallToolResult>>(tool: ToolName, logger: Logger | undefined, handler: H): H {
  return (async (...args: Parameters<H>) => {
    try {
      return await handler(...args);
    } catch (error) {
      logger?.error({ err: error, tool }, 'mcp tool failed');
      return refusal(isDatabaseUnavailable(error) ? 'temporarily unavailable, try again' : 'the tool failed');
    }
  }) as H;
}

/** The caller's identity, or a refusal when the token lacks the tool's scope. */
function caller(tool: ToolName, auth: AuthInfo | undefined): { accountId: string; auth: AuthInfo } | CallToolResult {
  const accountId = auth?.extra?.accountId;
  if (!auth || typeof accountId !== 'string') return refusal('not authenticated');
  if (!auth.scopes.includes(TOOL_SCOPES[tool])) return refusal(`this tool needs the ${TOOL_SCOPES[tool]} scope`);
  return { accountId, auth };
}

// Built once: a new Ajv instance (with its formats) and new zod schemas per request were most of
// what building a server cost (bench/profile.ts). Neither holds per-request state.
const JSON_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();
const NOTES_ADD_INPUT = { text: z.string().trim().min(1).max(MAX_NOTE_LENGTH) };
const NOTES_LIST_INPUT = { limit: z.number().int().min(1).max(MAX_NOTES_LISTED).optional() };

/** A server for one request (stateless Streamable HTTP): cheap to build, no caller's state shared between calls. */
export function createMcpServer({ db, logger, notesPerAccount }: ToolDependencies): McpServer {
  const server = new McpServer(SERVER_INFO, { jsonSchemaValidator: JSON_SCHEMA_VALIDATOR });

  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'The signed-in account, the client acting for it, the granted scopes and when the access token expires.',
      annotations: { readOnlyHint: true },
    },
    guarded('whoami', logger, async (extra) => {
      const who = caller('whoami', extra.authInfo);
      if ('content' in who) return who;
      const account = await findAccountById(db, who.accountId);
      return result({
        accountId: who.accountId,
        email: account?.email ?? null,
        clientId: who.auth.clientId,
        scopes: who.auth.scopes,
        expiresAt: new Date((who.auth.expiresAt ?? 0) * 1000).toISOString(),
        resource: who.auth.resource?.href ?? null,
      });
    }),
  );

  server.registerTool(
    'notes_add',
    {
      title: 'Add a note',
      description: `Stores a short note (at most ${MAX_NOTE_LENGTH} characters) for the signed-in account, which keeps at most ${notesPerAccount} notes: once it has that many, adding is refused.`,
      inputSchema: NOTES_ADD_INPUT,
    },
    guarded('notes_add', logger, async ({ text }, extra) => {
      const who = caller('notes_add', extra.authInfo);
      if ('content' in who) return who;
      const note = await addNote(db, who.accountId, who.auth.clientId, text, notesPerAccount);
      if (!note) return refusal(`this account already keeps the most notes allowed (${notesPerAccount}); no note was added`);
      return result({ id: note.id, text: note.text, createdAt: note.createdAt.toISOString() });
    }),
  );

  server.registerTool(
    'notes_list',
    {
      title: 'List notes',
      description: `The signed-in account's notes, newest first (at most ${MAX_NOTES_LISTED}).`,
      inputSchema: NOTES_LIST_INPUT,
      annotations: { readOnlyHint: true },
    },
    guarded('notes_list', logger, async ({ limit }, extra) => {
      const who = caller('notes_list', extra.authInfo);
      if ('content' in who) return who;
      const notes = await listNotes(db, who.accountId, limit);
      return result({
        notes: notes.map((note) => ({ id: note.id, text: note.text, createdAt: note.createdAt.toISOString() })),
      });
    }),
  );

  // McpServer declares tools.listChanged when tools are registered, but a stateless server has no
  // stream to send notifications/tools/list_changed on (and the tool list never changes).
  server.server.registerCapabilities({ tools: { listChanged: false } });

  return server;
}
