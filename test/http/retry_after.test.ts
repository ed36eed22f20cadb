// One Retry-After policy: every 503 says the same, on every surface (OAuth JSON, an HTML page, the
// MCP server, the admin API, /readyz), while 429s keep their own window (test/e2e/rate_limits.test.ts).
import { expect } from 'chai';
import request from 'supertest';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../src/retry_after.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { connectClient, postForm } from '../support/oauth_flow.ts';
import { createOperator, operatorToken } from '../support/operator.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';

describe('Retry-After of a 503', () => {
  let stack: McpTestStack;

  after(() => {
    // The database is gone already: close the listeners only.
    stack.mcpServer.closeAllConnections();
    stack.mcpServer.close();
    stack.server.closeAllConnections();
    stack.server.close();
  });

  it('is the same on every surface when the database is unreachable', async () => {
    stack = await startMcpTestStack();
    const user = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
    const app = await connectClient(stack.baseUrl, user, { resource: stack.mcpUrl });
    const adminToken = await operatorToken(stack.baseUrl, await createOperator(stack));
    const browser = request.agent(stack.baseUrl);
    const form = await browser.get('/account').expect(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)![1]!;
    await browser.post('/account/sign-in').type('form').send({ csrf, email: user.email, password: user.password }).expect(303);

    await stack.database.close();

    const expected = String(UNAVAILABLE_RETRY_AFTER_SECONDS);
    const token = await postForm(stack.baseUrl, '/token', app.client, { grant_type: 'refresh_token', refresh_token: app.tokens.refresh_token! });
    expect(token.status, 'OAuth JSON').to.equal(503);
    expect(token.body).to.include({ error: 'temporarily_unavailable' });
    expect(token.headers.get('retry-after'), 'OAuth JSON').to.equal(expected);

    const page = await browser.get('/account').set('Accept', 'text/html').expect(503);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    expect(page.headers['retry-after'], 'HTML page').to.equal(expected);

    const mcp = await callTool(stack.mcpUrl, app.tokens.access_token, 'whoami');
    expect(mcp.status, 'MCP server').to.equal(503);
    expect(mcp.headers.get('retry-after'), 'MCP server').to.equal(expected);

    const admin = await request(stack.baseUrl).get('/admin/clients').set('Authorization', `Bearer ${adminToken}`).expect(503);
    expect(admin.body).to.include({ error: 'temporarily_unavailable' });
    expect(admin.headers['retry-after'], 'admin API').to.equal(expected);

    for (const base of [stack.baseUrl, new URL(stack.mcpUrl).origin]) {
      const ready = await request(base).get('/readyz').expect(503);
      expect(ready.headers['retry-after'], `${base}/readyz`).to.equal(expected);
    }
  });
});
