// Statements per request, counted on the knex pool ('query' events: every statement the process
// sends, transaction control included) for one request of each kind on PostgreSQL, with the server
// configured as in production (request limits on). Fire-and-forget writes (last use of a grant) are
// waited for and counted with their request. Run: `node bench/statement_counts.ts` (prints JSON and
// the statements); DATABASE_URL as for `npm run bench`.
import type { Database } from '../src/db/connect.ts';
import { providerTokenVerifier } from '../src/tokens/access_token_verifier.ts';
import { callTool, startMcpTestStack } from '../test/support/mcp_server.ts';
import { connectClient, pkcePair, postForm, REDIRECT_URI, type RegisteredClient } from '../test/support/oauth_flow.ts';
import { createTestAccount, TEST_PASSWORD } from '../test/support/server.ts';
import { mintAuthorizationCode, mintGrant } from '../test/support/tokens.ts';

export interface StatementCount {
  request: string;
  statements: number;
  /** Commits: explicit COMMITs plus writes sent outside a transaction (each its own commit). */
  commits: number;
  sql: string[];
}

const WRITE = /^\s*(insert|update|delete|with\b[\s\S]*\b(insert|update|delete)\b|select pg_notify)/i;

function recorder(db: Database) {
  let sql: string[] = [];
  let inTransaction = 0;
  let commits = 0;
  db.on('query', (query: { sql: string; __knexTxId?: string }) => {
    const text = query.sql.replace(/\s+/g, ' ').trim();
    sql.push(text);
    if (/^begin/i.test(text)) inTransaction += 1;
    else if (/^commit/i.test(text)) {
      inTransaction = Math.max(0, inTransaction - 1);
      commits += 1;
    } else if (/^rollback/i.test(text)) inTransaction = Math.max(0, inTransaction - 1);
    else if (!query.__knexTxId && inTransaction === 0 && WRITE.test(text)) commits += 1;
  });
  /** Runs `prepare` (not counted) then `run` twice, counting the second: warm caches are the steady state. */
  return async <T>(request: string, run: (input: T) => Promise<void>, prepare: () => Promise<T> = async () => undefined as T): Promise<StatementCount> => {
    await run(await prepare());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const input = await prepare();
    sql = [];
    commits = 0;
    await run(input);
    await new Promise((resolve) => setTimeout(resolve, 200)); // fire-and-forget writes land
    return { request, statements: sql.length, commits, sql: sql.slice() };
  };
}

export async function statementCounts(): Promise<StatementCount[]> {
  process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
  // Production defaults for the request limits (the test stack turns them off).
  const stack = await startMcpTestStack({ kind: 'postgres', env: { RATE_LIMIT_TOKEN: '1200', RATE_LIMIT_REVOKE: '600' } });
  try {
    const measure = recorder(stack.db);
    const resource = stack.mcpUrl;
    const account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
    const { client, tokens } = await connectClient(stack.baseUrl, account, { resource });
    let refreshToken = tokens.refresh_token!;
    const results: StatementCount[] = [];
    results.push(
      await measure('POST /token refresh_token', async () => {
        const result = await postForm(stack.baseUrl, '/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken });
        if (result.status !== 200) throw new Error(`refresh answered ${result.status}`);
        refreshToken = (result.body as { refresh_token: string }).refresh_token;
      }),
    );
    results.push(
      await measure(
        'POST /token authorization_code',
        async (code: { code: string; verifier: string }) => {
        const result = await postForm(stack.baseUrl, '/token', client, {
          grant_type: 'authorization_code',
          code: code.code,
          redirect_uri: REDIRECT_URI,
          code_verifier: code.verifier,
          resource,
        });
        if (result.status !== 200) throw new Error(`code exchange answered ${result.status}`);
        },
        () => freshCode(stack.provider, client, account.id, resource),
      ),
    );
    // (A grant's first accepted access token in a minute adds one last-use update, fire-and-forget:
    // src/tokens/grant_use.ts. The warm-up call takes it, so the count below is the steady state.)
    const accessToken = (tokens as { access_token: string }).access_token;
    results.push(
      await measure('MCP tools/call whoami', async () => {
        const { status } = await callTool(stack.mcpUrl, accessToken, 'whoami');
        if (status !== 200) throw new Error(`whoami answered ${status}`);
      }),
    );
    const verifier = providerTokenVerifier({ provider: stack.provider, resource });
    results.push(
      await measure('verifyAccessToken (in-process, no last-use tracking)', async () => {
        await verifier.verifyAccessToken(accessToken);
      }),
    );
    return results;
  } finally {
    await stack.close();
  }
}

async function freshCode(provider: Parameters<typeof mintGrant>[0], client: RegisteredClient, accountId: string, resource: string) {
  const { verifier, challenge } = pkcePair();
  const fields = { clientId: client.client_id, accountId, resource, scope: 'mcp:read mcp:write' };
  const grantId = await mintGrant(provider, fields);
  const code = await mintAuthorizationCode(provider, { ...fields, grantId, redirectUri: REDIRECT_URI, codeChallenge: challenge });
  return { code, verifier };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await statementCounts();
  for (const result of results) {
    process.stdout.write(`\n${result.request}: ${result.statements} statements, ${result.commits} commits\n`);
    for (const text of result.sql) process.stdout.write(`  ${text.slice(0, 220)}\n`);
  }
}
