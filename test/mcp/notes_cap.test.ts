// The notes tool keeps at most NOTES_PER_ACCOUNT_MAX notes per account, counted and inserted under
// one lock per account, so parallel calls from one token cannot overshoot; it says so in its description.
import { expect } from 'chai';
import { connectClient } from '../support/oauth_flow.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';

const CAP = 5;

describe('MCP notes: a cap per account (NOTES_PER_ACCOUNT_MAX)', () => {
  let stack: McpTestStack;

  before(async () => {
    stack = await startMcpTestStack({ env: { NOTES_PER_ACCOUNT_MAX: String(CAP) } });
  });
  after(() => stack.close());

  async function connectedAccount(prefix: string) {
    const account = { ...(await createTestAccount(stack.db, prefix)), password: TEST_PASSWORD };
    return { account, token: (await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl })).tokens.access_token };
  }

  it(`of ${CAP * 3} parallel notes_add calls from one token exactly ${CAP} are stored; the rest get a clear tool error`, async () => {
    const { account, token } = await connectedAccount('notes');
    const calls = await Promise.all(Array.from({ length: CAP * 3 }, (_, i) => callTool(stack.mcpUrl, token, 'notes_add', { text: `note ${i}` })));
    expect(calls.map((call) => call.status)).to.deep.equal(Array(CAP * 3).fill(200));
    const refused = calls.filter((call) => call.body.result.isError === true);
    expect(calls.length - refused.length).to.equal(CAP);
    for (const call of refused) expect(call.body.result.content[0].text).to.include(`most notes allowed (${CAP})`);
    const stored = await stack.db('mcp_notes').where({ account_id: account.id }).count({ n: '*' });
    expect(Number((stored[0] as { n: string | number }).n)).to.equal(CAP);
    // Still full afterwards; another account is not affected.
    expect((await callTool(stack.mcpUrl, token, 'notes_add', { text: 'one more' })).body.result.isError).to.equal(true);
    const other = await connectedAccount('other');
    expect((await callTool(stack.mcpUrl, other.token, 'notes_add', { text: 'mine' })).body.result.isError).to.not.equal(true);
  });

  it('refuses a note over the length cap, and names both caps in the tool description', async () => {
    const { token } = await connectedAccount('long');
    expect((await callTool(stack.mcpUrl, token, 'notes_add', { text: 'x'.repeat(1001) })).body.result.isError).to.equal(true);
    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    const { result } = (await response.json()) as { result: { tools: { name: string; description: string }[] } };
    const description = result.tools.find((tool) => tool.name === 'notes_add')!.description;
    expect(description).to.include(`at most ${CAP} notes`).and.include('at most 1000 characters');
  });
});
